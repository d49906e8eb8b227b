"""Architecture space: generators, DAG conversion, staging, the op registry and (torch) the model builder.

Torch-free on import: analysis processes never load torch; `nas.builder` does.
"""

from nas.arch import ArchitectureError, annotate, load, save, summary
from nas.factory import BASELINES, create_architecture, random_architecture
from nas.generators import GENERATORS, create_generator, register_generator
from nas.staging import STAGING

__all__ = [
    "ArchitectureError",
    "annotate",
    "load",
    "save",
    "summary",
    "BASELINES",
    "create_architecture",
    "random_architecture",
    "GENERATORS",
    "create_generator",
    "register_generator",
    "STAGING",
]
