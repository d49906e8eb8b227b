"""Bad input, as a user gives it: exit code 2, one `error:` line, no traceback, no hang.

One table of cases per class of bad input of issue 19: config, sizes, architecture files,
data, storage (`CLI`: `python run.py` in a subprocess with a timeout, the fast ones together,
in parallel, once per module), and architecture files through `nas.arch.load` (`FILES`).
The tally (cases, tracebacks, hangs, OOM kills, silently wrong results, wrong exits) is
printed at the end of the module; run every case with `-m ""`.
"""

from __future__ import annotations

import io
import json
import logging
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import optuna
import pytest

from nas.arch import ArchitectureError, load, to_json
from nas.factory import create_architecture
from search.storage import create_storage
from search.study import TRIAL_FAILURE_LINE
from tests.reliability_support import tiny_overrides
from tests.test_training_data import write_fashion, write_idx, write_imagefolder

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_S = 120  # generous for a loaded 2-core machine; a case takes ~5 s of CPU
# Not marked slow: one case per class (config, size, file, storage), run in parallel.
TINY = ["nodes=8", "input_size=16", "staging.channels=8", "staging.max_channels=32"]
# Training on a data set written into the case's folder: the image size follows the data.
DATA = ["task=train", "nodes=4", "data.input_size=16", "staging.channels=8", "staging.max_channels=16"]
DATA += ["train.epochs=1", "data.num_workers=0", "data.download=false"]
FASHION = ["data=fashion_mnist", "data.root={tmp}", "data.debian_dir={tmp}/none"]
FOLDER = ["data=imagefolder", "data.path={tmp}/images", "data.num_classes=3"]


@dataclass
class Case:
    """`python run.py <args>` must fail with exit 2 and one error line containing `expect`
    (`warns`: run, exit 0, with one warning line containing `expect`)."""

    args: list[str]
    expect: str
    setup: object = None  # setup(tmp) -> None, writes the files the case needs
    search: bool = False  # a search: its storage, MLflow and artifacts go into the case's folder
    marks: list = field(default_factory=list)
    warns: bool = False


def _corrupt_journal(tmp: Path) -> None:
    path = tmp / "broken.journal"
    journal = optuna.create_study(study_name="s", storage=create_storage(str(path), heartbeat_interval=None))
    journal.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(lines[0] + lines[1][:12] + b"\n" + b"".join(lines[2:]))


def _star(tmp: Path) -> None:
    nodes, edges = [{"id": i} for i in range(20001)], [{"source": 0, "target": i} for i in range(1, 20001)]
    (tmp / "star.json").write_text(json.dumps({"nodes": nodes, "edges": edges}))


def _infinite_kernel(tmp: Path) -> None:
    data = to_json(create_architecture("cifarnet", 8, input_size=32))
    data["nodes"][1]["kernel"] = float("inf")
    (tmp / "inf.json").write_text(json.dumps(data))


def _deep(tmp: Path) -> None:
    (tmp / "deep.json").write_text('{"nodes": [{"id": 0, "hidden": ' + "[" * 100_000 + "]" * 100_000 + "}]}")


def _fashion(tmp: Path) -> None:
    write_fashion(tmp / "FashionMNIST" / "raw", "", count=100)


def _fashion_short_labels(tmp: Path) -> None:
    _fashion(tmp)
    write_idx(tmp / "FashionMNIST" / "raw" / "train-labels-idx1-ubyte", np.arange(50) % 10)


def _not_an_image(tmp: Path) -> None:
    write_imagefolder(tmp / "images", classes=3, per_class=30)
    (tmp / "images" / "class1" / "5.png").write_bytes(b"<html>404</html>")


def _truncated_image(tmp: Path) -> None:
    write_imagefolder(tmp / "images", classes=3, per_class=30)
    image = tmp / "images" / "class2" / "7.png"
    image.write_bytes(image.read_bytes()[:200])


SLOW = [pytest.mark.slow]
CLI = {
    # config (issue 19 point 9)
    "+typo": Case(
        ["task=analyze", *TINY, "+search.n_trails=3"], "search.n_trails is not a setting (did you mean search.n_trials?"
    ),
    "seed": Case(["task=analyze", *TINY, "seed=-1"], "seed must be >= 0", marks=SLOW),
    "lr type": Case(["task=train", *TINY, "train.optimizer.lr=abc"], "train.optimizer.lr must be a number", marks=SLOW),
    "typo no +": Case(
        ["task=analyze", *TINY, "search.n_trails=3"], "search.n_trails is not a setting (did you mean search.n_trials?"
    ),
    "+ root key": Case(["task=analyze", *TINY, "+foo=1"], "foo is not a setting (valid under the root:"),
    "unknown option": Case(["task=analyze", "generator=nope"], "Could not find 'generator/nope'; available: ba, "),
    "type at compose": Case(
        ["task=analyze", "hw.units=abc"], "hw.units=abc; Value 'abc' of type 'str' could not be converted to Integer"
    ),
    "override syntax": Case(["task=analyze", "nodes=[1"], "no viable alternative at input '[1'"),
    # sizes (point 6)
    "nodes": Case(["task=analyze", "nodes=100000"], "nodes=100000 is above the limit of 5000 compute vertices"),
    "star file": Case(
        ["task=analyze", "arch={tmp}/star.json"], "compute vertices=20001 is above the limit", _star, marks=SLOW
    ),
    "input size": Case(["task=train", *TINY, "input_size=4096"], "for a batch of 64 at input_size=4096", marks=SLOW),
    "space nodes": Case(
        ["space.nodes={{low:5000,high:6000}}"], "space.nodes=6000 is above the limit", search=True, marks=SLOW
    ),
    # architecture files (point 7)
    "inf attribute": Case(
        ["task=analyze", "arch={tmp}/inf.json"],
        "vertex 0: attribute 'kernel' must be a finite number",
        _infinite_kernel,
    ),
    "deep file": Case(
        ["task=analyze", "arch={tmp}/deep.json"], "not a JSON file (maximum recursion depth", _deep, marks=SLOW
    ),
    # data (point 8)
    "label range": Case(
        [*DATA, *FASHION, "data.num_classes=5"], "labels outside 0..4 (data.num_classes=5), e.g. 5", _fashion
    ),
    "short labels": Case(
        [*DATA, *FASHION], "train-labels-idx1-ubyte: 100 images but 50 labels", _fashion_short_labels, marks=SLOW
    ),
    "not an image": Case([*DATA, *FOLDER], "class1/5.png is not a readable image", _not_an_image, marks=SLOW),
    "truncated image": Case(  # found mid-epoch, in a loader worker process
        [*DATA, *FOLDER, "data.num_workers=1"], "class2/7.png does not decode as an image", _truncated_image, marks=SLOW
    ),
    "tiny fraction": Case(
        [*DATA, "data.fraction=0.001"],
        "leaves fewer images than one batch (train.batch_size=64) in: train 2, val 1, test 1",
        warns=True,
        marks=SLOW,
    ),
    # storage (points 1, 10)
    "typo storage": Case(
        ["task=report", "search.storage={tmp}/optuna.jornal.journal"],
        "does not exist; point search.storage",
        marks=SLOW,
    ),
    "corrupt journal": Case(
        ["task=report", "search.storage={tmp}/broken.journal"], "is corrupt at line 2 of", _corrupt_journal
    ),
    # a search that completes nothing (point 4): every trial diverges
    "no trial completed": Case(  # Optuna's warning of each failed trial is one line too
        ["search.n_trials=1", "train.optimizer.lr=1e30"],
        "none of this run's 1 trials completed",
        search=True,
        marks=SLOW,
    ),
}


@dataclass
class Outcome:
    returncode: int | None
    stderr: str
    seconds: float
    stdout: str = ""


def run_case(name: str, tmp: Path) -> Outcome:
    case = CLI[name]
    folder = tmp / name.replace(" ", "_").replace("+", "plus")
    folder.mkdir(parents=True, exist_ok=True)
    if case.setup:
        case.setup(folder)
    args = [a.format(tmp=folder) for a in case.args]
    if case.search:
        args = tiny_overrides(folder, *args)
    start = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, "run.py", *args, f"hydra.run.dir={folder}/run"],
            check=False,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
        )
        return Outcome(done.returncode, done.stderr, time.monotonic() - start, done.stdout)
    except subprocess.TimeoutExpired as err:
        return Outcome(
            None, (err.stderr or b"").decode() if isinstance(err.stderr, bytes) else (err.stderr or ""), TIMEOUT_S
        )


TALLY = dict.fromkeys(("cases", "tracebacks", "hangs", "OOM kills", "silently wrong", "wrong exit"), 0)
TALLY["not one error line"] = 0
KILLED = (-signal.SIGKILL, 128 + signal.SIGKILL)  # the OOM killer's signal (directly, or through a shell)


@pytest.fixture(scope="module", autouse=True)
def tally(request):
    """Prints the tally of this module's cases after its last test."""
    yield TALLY
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter and capture and TALLY["cases"]:
        with capture.global_and_fixture_disabled():
            reporter.write_line("\nbad-input tally: " + ", ".join(f"{k} {v}" for k, v in TALLY.items()))


@pytest.fixture(scope="module")
def fast_outcomes(tmp_path_factory):
    """The cases not marked slow, run 3 at a time."""
    tmp = tmp_path_factory.mktemp("bad_inputs")
    names = [n for n, c in CLI.items() if not c.marks]
    with ThreadPoolExecutor(max_workers=3) as pool:
        return dict(zip(names, pool.map(lambda n: run_case(n, tmp), names), strict=True))


def check(outcome: Outcome, case: Case) -> None:
    code, output = (0, outcome.stdout + outcome.stderr) if case.warns else (2, outcome.stderr)
    errors = [line for line in output.splitlines() if line.startswith("error: ")]
    if case.warns:  # one warning line says it (Hydra's logging prints it on stdout)
        said = [line for line in output.splitlines() if case.expect in line]
        named = len(said) == 1 and "[WARNING]" in said[0] and not errors
    else:
        named = len(errors) == 1 and case.expect in errors[0]
    TALLY["cases"] += 1
    TALLY["tracebacks"] += "Traceback" in outcome.stderr
    TALLY["hangs"] += outcome.returncode is None
    TALLY["OOM kills"] += outcome.returncode in KILLED
    TALLY["silently wrong"] += outcome.returncode == 0 and not (case.warns and named)
    TALLY["wrong exit"] += outcome.returncode not in (code, 0, None, *KILLED)  # 0: counted as silently wrong
    TALLY["not one error line"] += not named
    assert outcome.returncode is not None, f"no answer within {TIMEOUT_S} s"
    assert outcome.returncode == code, outcome.stderr[-2000:]
    assert named, outcome.stderr[-2000:]
    assert "Traceback" not in outcome.stderr, outcome.stderr[-2000:]


@pytest.mark.parametrize("name", [pytest.param(n, marks=c.marks) for n, c in CLI.items()])
def test_bad_cli_input_is_one_error_line_and_exit_2(name, request, tmp_path):
    outcome = run_case(name, tmp_path) if CLI[name].marks else request.getfixturevalue("fast_outcomes")[name]
    check(outcome, CLI[name])
    if name == "typo storage":
        assert not (tmp_path / "typo_storage" / "optuna.jornal.journal").exists()


def _cifarnet() -> dict:
    return to_json(create_architecture("cifarnet", 8, input_size=32))


def _vertex(data: dict, vertex, **attrs) -> dict:
    next(n for n in data["nodes"] if n["id"] == vertex).update(attrs)
    return data


FILES = {
    "NaN": (
        lambda: _vertex(_cifarnet(), 1, stride=float("nan")),
        "vertex 1: attribute 'stride' must be a finite number",
    ),
    "negative": (lambda: _vertex(_cifarnet(), 0, pool=-1), "vertex 0: attribute 'pool' must not be negative"),
    "pool": (
        lambda: _vertex(_cifarnet(), "output", pool="max"),
        "vertex 'output': attribute 'pool' must be one of avg",
    ),
    "mixed ids": (
        lambda: {"nodes": [{"id": 0}, {"id": "0"}], "edges": [{"source": 0, "target": "0"}]},
        "vertex ids 0 and '0' name the same vertex",
    ),
    "nested": (lambda: _vertex(_cifarnet(), "input", convs=[[[[[3]]]]]), "vertex 'input': attribute 'convs' is nested"),
    "cycle": (
        lambda: {"nodes": [{"id": 0}, {"id": 1}], "edges": [{"source": 0, "target": 1}, {"source": 1, "target": 0}]},
        "graph has a cycle",
    ),
}


@pytest.mark.parametrize("name", FILES)
def test_bad_architecture_file_is_one_architecture_error(name, tmp_path):
    make, expect = FILES[name]
    path = tmp_path / "arch.json"
    path.write_text(json.dumps(make()))
    start = time.monotonic()
    TALLY["cases"] += 1
    try:
        load(path, input_size=16, num_classes=10)
    except ArchitectureError as err:
        message = str(err)
    except Exception:  # noqa: BLE001  (what the user would see as a traceback)
        TALLY["tracebacks"] += 1
        raise
    else:
        TALLY["silently wrong"] += 1
        pytest.fail("the file loaded")
    TALLY["hangs"] += time.monotonic() - start >= 5
    TALLY["not one error line"] += expect not in message or "\n" in message
    assert time.monotonic() - start < 5
    assert expect in message and "\n" not in message


def test_a_failed_trial_is_one_warning_line_its_traceback_in_the_log_file(tmp_path):
    """Optuna warns of a failed trial with its parameters and traceback, then with its value."""
    console, log_file = logging.StreamHandler(io.StringIO()), logging.FileHandler(tmp_path / "run.log")
    optimize = logging.getLogger("optuna.study._optimize")
    logging.getLogger("optuna").addHandler(console)  # Optuna's loggers do not propagate to the root
    logging.getLogger().addHandler(log_file)
    optimize.addFilter(TRIAL_FAILURE_LINE)  # what search.study.Search.optimize installs
    try:
        study = optuna.create_study()
        study.optimize(lambda t: t.suggest_float("x", 0, 1) / 0, n_trials=2, catch=(ZeroDivisionError,))
    finally:
        optimize.removeFilter(TRIAL_FAILURE_LINE)
        logging.getLogger("optuna").removeHandler(console)
        logging.getLogger().removeHandler(log_file)
        log_file.close()
    assert [line for line in console.stream.getvalue().splitlines() if line.startswith("Trial")] == [
        f"Trial {n} failed: ZeroDivisionError: float division by zero" for n in (0, 1)
    ]
    assert (tmp_path / "run.log").read_text().count("Traceback (most recent call last)") == 2
