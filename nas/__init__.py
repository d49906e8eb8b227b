"""Architecture space: generators, DAG conversion, staging, blocks and the model builder."""
from nas.arch import ArchitectureError, annotate, load, save, summary
from nas.builder import build_model, count_parameters
from nas.factory import BASELINES, create_architecture, random_architecture
from nas.generators import GENERATORS, create_generator, register_generator
from nas.staging import STAGING

__all__ = [
    "ArchitectureError", "annotate", "load", "save", "summary", "build_model", "count_parameters",
    "BASELINES", "create_architecture", "random_architecture", "GENERATORS", "create_generator",
    "register_generator", "STAGING",
]
