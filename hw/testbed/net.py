"""The emulated network: one namespace per unit, veth links to a bridge in a switch
namespace, each direction shaped with `tbf` to the target bandwidth.

The switch namespace keeps the bridge and every veth end off the host: the host's own
namespace gains no device, address or route, and the units' only route is their subnet,
so no packet can leave the run's namespaces. Each link is shaped at both of its egress
points (the unit's `eth0` and its switch port), so a unit's upload and download are each
capped at the target bandwidth, like Mininet's TCLink.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import signal
import time

from hw.testbed.system import TestbedError, run

INTERFACE = "eth0"  # every unit's link, inside its namespace (GLOO_SOCKET_IFNAME)
BRIDGE = "br0"
CANDIDATE_SUBNETS = [f"10.{b}.{c}.0/24" for b in (213, 197, 181) for c in (7, 93, 151)]


def host_networks() -> list[ipaddress.IPv4Network]:
    """The IPv4 networks of the host's own addresses and routes."""
    nets = []
    for addr in json.loads(run(["ip", "-j", "-4", "addr", "show"]).stdout or "[]"):
        for info in addr.get("addr_info", []):
            nets.append(ipaddress.IPv4Network(f"{info['local']}/{info['prefixlen']}", strict=False))
    for route in json.loads(run(["ip", "-j", "-4", "route", "show", "table", "all"]).stdout or "[]"):
        dst = route.get("dst", "")
        if dst and dst != "default":
            nets.append(ipaddress.IPv4Network(dst if "/" in dst else f"{dst}/32", strict=False))
    return nets


def pick_subnet(taken: list[ipaddress.IPv4Network] | None = None) -> ipaddress.IPv4Network:
    """The first candidate /24 that overlaps nothing the host uses (so no address of the
    run could ever shadow a real one, even though the namespaces are not connected)."""
    taken = host_networks() if taken is None else taken
    for text in CANDIDATE_SUBNETS:
        net = ipaddress.IPv4Network(text)
        if not any(net.overlaps(other) for other in taken):
            return net
    raise TestbedError(f"every candidate subnet ({', '.join(CANDIDATE_SUBNETS)}) is used on this host")


def unit_address(subnet: ipaddress.IPv4Network, rank: int) -> str:
    return str(subnet.network_address + rank + 1)


def shaping(bandwidth_mbps: float) -> list[str]:
    """tbf arguments: the rate, a 1 ms (≥ 2 packets) bucket, a 100 ms queue."""
    rate = bandwidth_mbps * 1e6 / 8  # bytes/s
    burst = max(3028, round(rate * 1e-3))
    limit = max(4 * burst, round(rate * 0.1))
    return ["tbf", "rate", f"{round(bandwidth_mbps * 1e6)}bit", "burst", str(burst), "limit", str(limit)]


def netem_available(namespace: str) -> bool:
    """Whether this kernel has the `netem` qdisc (probed on the namespace's `lo`)."""
    probe = run(["tc", "-n", namespace, "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"], check=False)
    if probe.returncode == 0:
        run(["tc", "-n", namespace, "qdisc", "del", "dev", "lo", "root"])
    return probe.returncode == 0


def shape(namespace: str, device: str, bandwidth_mbps: float | None, delay_ms: float) -> None:
    """Rate-limit `device`'s egress; `delay_ms` > 0 puts netem in front (root netem, tbf below)."""
    tc = ["tc", "-n", namespace, "qdisc", "add", "dev", device]
    if delay_ms > 0:
        run([*tc, "root", "handle", "1:", "netem", "delay", f"{delay_ms}ms", "limit", "100000"])
        if bandwidth_mbps:
            run([*tc, "parent", "1:1", "handle", "10:", *shaping(bandwidth_mbps)])
    elif bandwidth_mbps:
        run([*tc, "root", "handle", "1:", *shaping(bandwidth_mbps)])


def build(
    units: list[str], switch: str, subnet: ipaddress.IPv4Network, bandwidth_mbps: float | None, delay_ms: float
) -> None:
    """Link the unit namespaces `units` (already made) through the bridge in `switch`.

    `delay_ms`: the one-way latency netem adds at the sender's egress (0 where the
    runtime's transport emulates it)."""
    run(["ip", "-n", switch, "link", "add", "name", BRIDGE, "type", "bridge"])
    run(["ip", "-n", switch, "link", "set", BRIDGE, "up"])
    for rank, ns in enumerate(units):
        port = f"p{rank}"
        run(["ip", "-n", ns, "link", "add", "name", INTERFACE, "type", "veth", "peer", "name", port, "netns", switch])
        run(["ip", "-n", ns, "addr", "add", f"{unit_address(subnet, rank)}/{subnet.prefixlen}", "dev", INTERFACE])
        run(["ip", "-n", ns, "link", "set", INTERFACE, "up"])
        run(["ip", "-n", switch, "link", "set", port, "master", BRIDGE, "up"])
        shape(ns, INTERFACE, bandwidth_mbps, delay_ms)
        shape(switch, port, bandwidth_mbps, 0.0)


def add_namespace(name: str) -> None:
    run(["ip", "netns", "add", name])
    run(["ip", "-n", name, "link", "set", "lo", "up"])


def namespaces() -> list[str]:
    """The host's named network namespaces."""
    return [line.split()[0] for line in run(["ip", "netns", "list"]).stdout.splitlines() if line.strip()]


def remove_namespace(name: str, grace_s: float = 2.0) -> None:
    """Kill every process still in namespace `name`, then delete it (its veth ends, the
    bridge and their qdiscs go with it)."""
    if name not in namespaces():
        return
    end = time.monotonic() + grace_s
    while pids := [int(p) for p in run(["ip", "netns", "pids", name], check=False).stdout.split()]:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if time.monotonic() > end:
            break
        time.sleep(0.02)
    run(["ip", "netns", "del", name])
