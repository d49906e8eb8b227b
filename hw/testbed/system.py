"""The host side: running `ip`/`tc`, and the one-line check of what the testbed needs.

iproute2 commands rather than pyroute2 (netlink): `ip`/`tc` are on every Linux host that
can run namespaces at all and add no dependency to the project, each step is a command a
user can repeat or inspect by hand (`ip netns list`, `tc -s qdisc`), and a run issues a
few dozen of them once (~3 ms each), so netlink's speed buys nothing. pyroute2 0.9.7
installs from PyPI and worked on the machine this was written on (a namespace + veth in
~50 ms); switching would change only this module and `net.py`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Sequence

from hw.testbed.cgroups import find_cpu_cgroup


class TestbedError(RuntimeError):
    """A testbed command failed (the message is the command and its first error line)."""


class TestbedUnavailable(TestbedError):
    """This host lacks what the testbed needs (root, iproute2, namespaces, a cpu cgroup)."""


def run(argv: Sequence[str], check: bool = True) -> subprocess.CompletedProcess:
    """Run one command, capture its output; a failure raises with one readable line."""
    proc = subprocess.run(list(argv), capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)
    if check and proc.returncode != 0:
        detail = (proc.stderr.strip() or proc.stdout.strip() or f"exit {proc.returncode}").splitlines()[0]
        raise TestbedError(f"`{' '.join(argv)}` failed: {detail}")
    return proc


def missing_requirements(
    euid: int | None = None,
    which: Callable[[str], str | None] = shutil.which,
    has_netns: bool | None = None,
    cpu_cgroup: Callable[[], object] | None = None,
) -> list[str]:
    """What this host lacks for the testbed, as short phrases (empty: all there).

    The arguments are the probes themselves, so a test can simulate a host without them."""
    euid = os.geteuid() if euid is None else euid
    has_netns = os.path.exists("/proc/self/ns/net") if has_netns is None else has_netns
    missing = []
    if euid != 0:
        missing.append(f"root (running as uid {euid})")
    missing += [f"the `{tool}` command (iproute2)" for tool in ("ip", "tc") if which(tool) is None]
    if not has_netns:
        missing.append("network namespaces (no /proc/self/ns/net)")
    if (cpu_cgroup or find_cpu_cgroup)() is None:
        missing.append("a cgroup cpu controller (cgroup v1 cpu.cfs_quota_us or v2 cpu.max)")
    return missing


def require_host(**probes) -> None:
    """Raise `TestbedUnavailable` with one line naming everything that is missing."""
    missing = missing_requirements(**probes)
    if missing:
        raise TestbedUnavailable("the emulated testbed needs " + ", ".join(missing))
