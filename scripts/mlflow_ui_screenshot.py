"""Screenshot the MLflow UI (and optuna-dashboard) of a search in headless Chromium (Debian's `chromium`).

    python scripts/mlflow_ui_screenshot.py --store sqlite:///mlflow.db --out mlflow_ui.png \
        [--optuna sqlite:///optuna.db --study <name>]

Starts `mlflow ui` on 127.0.0.1, waits until it answers, screenshots the experiment's
runs table, one trial's run page and the Pareto front of a study's parent run, then stops
the server. With `--optuna`, likewise optuna-dashboard's study page (its Pareto front,
axes named after the objectives). Prints one JSON line with the files and whether the
`--expect` texts are on the runs page (and `--expect-optuna` ones on the study page).
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1600,1000",
    "--virtual-time-budget=20000",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"the UI server did not answer at {url} within {timeout:.0f} s")


def render(url: str, png: Path, chromium: str) -> str:
    """Screenshot `url` into `png`; returns the rendered DOM."""
    with tempfile.TemporaryDirectory() as profile:
        flags = [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"]
        subprocess.run([chromium, *flags, f"--screenshot={png}", url], check=True, capture_output=True, timeout=120)
        dom = subprocess.run(
            [chromium, *flags, "--dump-dom", url], check=True, capture_output=True, text=True, timeout=120
        )
    return dom.stdout


def serve(command: list[str], health: str) -> subprocess.Popen:
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_up(health)
    except BaseException:
        server.terminate()
        raise
    return server


def dashboard_pages(storage: str, study: str, out: Path, chromium: str, expect: list[str]) -> tuple[list[Path], dict]:
    """optuna-dashboard's page of `study` (History and Pareto front) → png; texts found on it."""
    import optuna

    from search.storage import create_storage

    study_id = optuna.load_study(study_name=study, storage=create_storage(storage, heartbeat_interval=None))._study_id
    port = free_port()
    url = storage if "://" in storage else str(Path(storage).resolve())
    server = serve(
        [str(Path(sys.executable).parent / "optuna-dashboard"), url, "--host", "127.0.0.1", "--port", str(port)],
        f"http://127.0.0.1:{port}/api/studies",
    )
    try:
        png = out.with_name(f"{out.stem}_optuna_dashboard{out.suffix}")
        dom = render(f"http://127.0.0.1:{port}/dashboard/studies/{study_id}", png, chromium)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return [png], {text: text in dom for text in expect}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="sqlite:///mlflow.db")
    parser.add_argument("--experiment", default="concurrent-nas")
    parser.add_argument("--out", default="mlflow_ui.png")
    parser.add_argument("--expect", nargs="*", default=[], help="texts that must appear on the experiment page")
    parser.add_argument("--optuna", help="the study storage: also screenshot optuna-dashboard's study page")
    parser.add_argument("--study", help="the study (with --optuna)")
    parser.add_argument("--expect-optuna", nargs="*", default=[], help="texts that must appear on the study page")
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("error: Chromium not found; install it with `apt-get install chromium`")
    from mlflow.tracking import MlflowClient

    experiment = MlflowClient(args.store).get_experiment_by_name(args.experiment)
    if experiment is None:
        sys.exit(f"error: no experiment {args.experiment!r} in {args.store}; run a search first")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = serve(
        [
            sys.executable,
            "-m",
            "mlflow",
            "ui",
            "--backend-store-uri",
            args.store,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        base + "/health",
    )
    try:
        out = Path(args.out)
        runs = f"{base}/#/experiments/{experiment.experiment_id}/runs"
        pages = {out: runs}
        client = MlflowClient(args.store)
        parents = client.search_runs([experiment.experiment_id], filter_string="tags.`cnas.study` != ''", max_results=1)
        if parents:  # the study's parent run: its artifacts include the Pareto front
            pages[out.with_name(f"{out.stem}_study{out.suffix}")] = (
                f"{runs}/{parents[0].info.run_id}/artifacts/pareto_front.png"
            )
        trials = client.search_runs(
            [experiment.experiment_id],
            filter_string="tags.`cnas.trial` != ''",
            order_by=["attributes.start_time DESC"],
            max_results=1,
        )
        if trials:  # one trial's run page: params, metrics, tags
            pages[out.with_name(f"{out.stem}_trial{out.suffix}")] = f"{runs}/{trials[0].info.run_id}"
        doms = {png: render(url, png, chromium) for png, url in pages.items()}
        found = {text: text in doms[out] for text in args.expect}
    finally:
        server.terminate()
        server.wait(timeout=30)
    screenshots = list(pages)
    if args.optuna:
        shots, found_optuna = dashboard_pages(args.optuna, args.study, out, chromium, args.expect_optuna)
        screenshots += shots
        found.update({f"optuna:{text}": seen for text, seen in found_optuna.items()})
    print(json.dumps({"screenshots": [str(p) for p in screenshots], "found": found}))


if __name__ == "__main__":
    main()
