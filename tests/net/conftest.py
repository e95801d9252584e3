"""Fixtures of the network attach tests: network namespaces joined by a veth pair,
UDP traffic between them, and leak checks (links, namespaces, cgroups)."""

from __future__ import annotations

import gc
import itertools
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

T = TypeVar("T")
PREFIX = "nt_"  # name prefix of every program these tests load
IP_A, IP_B = "10.11.0.1", "10.11.0.2"
MAC_A, MAC_B = "02:00:0a:0b:00:01", "02:00:0a:0b:00:02"
_counter = itertools.count()


def sh(*args: str) -> str:
    """Run a command, fail the test with its stderr if it fails."""
    proc = subprocess.run(args, capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


def netns_list() -> list[str]:
    """Names of the `ip netns` namespaces this test process made (named with its pid)."""
    return (
        sorted(n for n in os.listdir("/var/run/netns") if n.startswith(f"pybpf_nt{os.getpid()}_"))
        if os.path.isdir("/var/run/netns")
        else []
    )


@pytest.fixture()
def no_leaks(kernel: None) -> Iterator[None]:
    """Assert the test leaves no link, program, netns or fd of ours behind: the links and
    programs this process created (by id), so other processes loading the same programs
    meanwhile do not count."""
    from leftovers import Leftovers

    gc.collect()
    netns_before = netns_list()
    with Leftovers() as lo:
        yield
    gc.collect()
    lo.check()  # fds, tracefs probes, and every link/program/map made meanwhile freed
    assert netns_list() == netns_before, f"netns leaked: {netns_list()}"


@dataclass
class NetNS:
    """An `ip netns` namespace; :meth:`run` calls a function inside it."""

    name: str

    @property
    def path(self) -> str:
        return f"/var/run/netns/{self.name}"

    def run(self, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        from pybpf.sys.netns import run_in_netns

        return run_in_netns(self.path, lambda: fn(*args, **kw))

    def socket(self, family: int = socket.AF_INET, type: int = socket.SOCK_DGRAM) -> socket.socket:
        """A socket created in this namespace."""
        return self.run(socket.socket, family, type)

    def ip(self, *args: str) -> str:
        return sh("ip", "-n", self.name, *args)


@dataclass
class Veth:
    """Namespaces ``a`` and ``b`` joined by veth devices ``dev_a`` (10.11.0.1) and
    ``dev_b`` (10.11.0.2), with static neighbours (no ARP traffic)."""

    a: NetNS
    b: NetNS
    dev_a: str = "nta"
    dev_b: str = "ntb"

    def receiver(self, port: int) -> socket.socket:
        """A UDP socket in ``b`` bound to ``port`` (0.2s receive timeout)."""
        s = self.b.socket()
        s.bind((IP_B, port))
        s.settimeout(0.2)
        return s

    def send_udp(self, port: int, count: int, payload: bytes = b"pybpf") -> None:
        """Send ``count`` UDP datagrams from ``a`` to ``b``:``port``."""
        with self.a.socket() as s:
            for _ in range(count):
                s.sendto(payload, (IP_B, port))


def receive_all(sock: socket.socket, limit: int = 10_000) -> list[bytes]:
    """Every datagram that arrives until the socket's timeout passes with none."""
    out: list[bytes] = []
    while len(out) < limit:
        try:
            out.append(sock.recv(65536))
        except TimeoutError:
            break
    return out


def wait_for(cond: Callable[[], bool], timeout: float = 2.0) -> bool:
    """Poll ``cond`` until true or ``timeout`` seconds pass; its last value."""
    deadline = time.monotonic() + timeout * float(os.environ.get("PYBPF_TIMEOUT_SCALE", "1"))
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def new_netns() -> NetNS:
    ns = NetNS(f"pybpf_nt{os.getpid()}_{next(_counter)}")
    sh("ip", "netns", "add", ns.name)
    ns.ip("link", "set", "lo", "up")
    return ns


def del_netns(ns: NetNS) -> None:
    subprocess.run(["ip", "netns", "del", ns.name], capture_output=True)


@pytest.fixture()
def netns(kernel: None) -> Iterator[NetNS]:
    """A fresh network namespace (with lo up), removed afterwards."""
    ns = new_netns()
    try:
        yield ns
    finally:
        del_netns(ns)
    assert ns.name not in netns_list()


@pytest.fixture()
def veth(kernel: None) -> Iterator[Veth]:
    """Two namespaces joined by a veth pair, removed (with the pair) afterwards."""
    a = new_netns()
    try:
        b = new_netns()
    except BaseException:
        del_netns(a)
        raise
    v = Veth(a, b)
    try:
        sh(
            "ip", "link", "add", v.dev_a, "netns", a.name, "address", MAC_A, "type", "veth",
            "peer", "name", v.dev_b, "netns", b.name, "address", MAC_B,
        )  # fmt: skip
        a.ip("addr", "add", f"{IP_A}/24", "dev", v.dev_a)
        b.ip("addr", "add", f"{IP_B}/24", "dev", v.dev_b)
        a.ip("link", "set", v.dev_a, "up")
        b.ip("link", "set", v.dev_b, "up")
        a.ip("neigh", "add", IP_B, "lladdr", MAC_B, "dev", v.dev_a, "nud", "permanent")
        b.ip("neigh", "add", IP_A, "lladdr", MAC_A, "dev", v.dev_b, "nud", "permanent")
        yield v
    finally:
        del_netns(a)
        del_netns(b)
    assert a.name not in netns_list() and b.name not in netns_list()


@pytest.fixture()
def cgroup(kernel: None) -> Iterator[Path]:
    """A fresh cgroup v2 directory, removed afterwards (its processes must have exited)."""
    from pybpf.link.cgroup import cgroup2_root

    path = cgroup2_root() / f"pybpf_nt{os.getpid()}_{next(_counter)}"
    path.mkdir()
    try:
        yield path
    finally:
        for _ in range(100):  # exited children leave the cgroup asynchronously
            try:
                path.rmdir()
                break
            except OSError:
                time.sleep(0.02)
    assert not path.exists(), f"cgroup {path} left behind"


def run_in_cgroup(cg: Path, code: str, timeout: float = 20.0) -> str:
    """Run ``python -c code`` as a child process inside cgroup ``cg``; its stdout."""
    procs = cg / "cgroup.procs"

    def enter() -> None:
        procs.write_text(str(os.getpid()))

    proc = subprocess.run(
        [sys.executable, "-c", code],
        preexec_fn=enter,
        capture_output=True,
        text=True,
        timeout=timeout * float(os.environ.get("PYBPF_TIMEOUT_SCALE", "1")),
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()
