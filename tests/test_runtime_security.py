"""task=deploy listens only where its peers are: loopback locally, the testbed's own links."""

import ipaddress
import os
import re
import shutil
import subprocess

import pytest

from hw import testbed as tb
from hw.runtime.launch import TESTBED_PORT, LocalLauncher
from tests.test_hw_testbed import needs_host
from tests.test_runtime_faults import long_job, wait_connected  # noqa: F401 (a fixture)

pytestmark = pytest.mark.skipif(shutil.which("ss") is None, reason="needs iproute2's ss")


def listening(pids: set[int], namespace: str | None = None) -> list[tuple[str, int]]:
    """(address, port) of every TCP socket the processes `pids` listen on, from `ss -ltnp`."""
    command = ["ss", "-Hltnp"] if namespace is None else ["ip", "netns", "exec", namespace, "ss", "-Hltnp"]
    found = []
    for line in subprocess.run(command, capture_output=True, text=True, check=True).stdout.splitlines():
        owners = {int(pid) for pid in re.findall(r"pid=(\d+)", line)}
        if owners & pids:
            address, _, port = line.split()[3].rpartition(":")
            found.append((address.strip("[]").split("%")[0], int(port)))
    return found


def test_a_local_deploy_listens_on_loopback_only(long_job, tmp_path):  # noqa: F811
    """The rendezvous store (rank 0, MASTER_PORT) and gloo's sockets: none on 0.0.0.0/::."""
    launcher = LocalLauncher(long_job, 2, workdir=tmp_path).start()
    try:
        wait_connected(launcher)
        sockets = listening({proc.pid for proc in launcher.processes.values()})
    finally:
        launcher.stop()
    assert launcher.port in {port for _, port in sockets}, f"the store is not among {sockets}"
    exposed = [(a, p) for a, p in sockets if a == "*" or not ipaddress.ip_address(a).is_loopback]
    assert not exposed, f"listening beyond loopback: {exposed}"


@needs_host
def test_an_emulated_deploy_listens_on_the_testbed_links_only(long_job, tmp_path):  # noqa: F811
    """Inside unit 0's namespace the store listens on unit 0's veth address, not on every
    interface of the namespace."""
    prefix = f"ts{os.getpid() % 100000}"
    with tb.Testbed(2, name_prefix=prefix) as bed:
        launcher = LocalLauncher(long_job, 2, workdir=tmp_path, testbed=bed).start()
        try:
            wait_connected(launcher)
            sockets = {
                rank: listening({launcher.processes[rank].pid}, bed.namespace(rank)) for rank in launcher.processes
            }
        finally:
            launcher.stop()
        store, addresses = (bed.address(0), TESTBED_PORT), {bed.address(rank) for rank in range(2)}
    assert store in sockets[0], f"the store is not among {sockets[0]}"
    exposed = [s for found in sockets.values() for s in found if s[0] not in addresses]
    assert not exposed, f"listening beyond the testbed's links: {exposed}"
