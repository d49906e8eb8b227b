"""Screenshot the MLflow UI of a tracking store in headless Chromium (Debian's `chromium`).

    python scripts/mlflow_ui_screenshot.py --store sqlite:///mlflow.db --out mlflow_ui.png

Starts `mlflow ui` on 127.0.0.1, waits until it answers, screenshots the experiment's
runs table and the Pareto front of a study's parent run, then stops the server. Prints
one JSON line with the files and whether the `--expect` texts are on the runs page.
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

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--window-size=1600,1000", "--virtual-time-budget=20000"]


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
    raise TimeoutError(f"MLflow UI did not answer at {url} within {timeout:.0f} s")


def render(url: str, png: Path, chromium: str) -> str:
    """Screenshot `url` into `png`; returns the rendered DOM."""
    with tempfile.TemporaryDirectory() as profile:
        flags = [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"]
        subprocess.run([chromium, *flags, f"--screenshot={png}", url], check=True, capture_output=True, timeout=120)
        dom = subprocess.run([chromium, *flags, "--dump-dom", url], check=True, capture_output=True, text=True, timeout=120)
    return dom.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="sqlite:///mlflow.db")
    parser.add_argument("--experiment", default="concurrent-nas")
    parser.add_argument("--out", default="mlflow_ui.png")
    parser.add_argument("--expect", nargs="*", default=[], help="texts that must appear on the experiment page")
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("error: Chromium not found; install it with `apt-get install chromium`")
    from mlflow.tracking import MlflowClient

    experiment = MlflowClient(args.store).get_experiment_by_name(args.experiment)
    if experiment is None:
        sys.exit(f"error: no experiment {args.experiment!r} in {args.store}; run a search first")
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", args.store,
                               "--host", "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(base + "/health")
        out = Path(args.out)
        pages = {out: f"{base}/#/experiments/{experiment.experiment_id}/runs"}
        parents = MlflowClient(args.store).search_runs(
            [experiment.experiment_id], filter_string="tags.`cnas.study` != ''", max_results=1)
        if parents:  # the study's parent run: its artifacts include the Pareto front
            run = parents[0].info.run_id
            pages[out.with_name(f"{out.stem}_study{out.suffix}")] = (
                f"{base}/#/experiments/{experiment.experiment_id}/runs/{run}/artifacts/pareto_front.png")
        doms = {png: render(url, png, chromium) for png, url in pages.items()}
        found = {text: text in doms[out] for text in args.expect}
        print(json.dumps({"screenshots": [str(p) for p in pages], "found": found}))
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
