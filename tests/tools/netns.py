"""A throwaway network namespace joined to the root one by a veth pair, for tests that
need real packets; everything is removed on exit."""

from __future__ import annotations

import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["VethPair"]


def ip(*args: str) -> None:
    """Run an iproute2 command; fail loudly."""
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


@dataclass
class VethPair:
    """``host`` (root namespace, 10.199.N.1) <-> ``peer`` (namespace ``ns``, 10.199.N.2)."""

    ns: str
    host: str
    peer: str
    host_addr: str
    peer_addr: str

    @classmethod
    def create(cls) -> VethPair:
        """Make the namespace, the pair and the addresses, with static neighbours."""
        tag = secrets.token_hex(3)
        n = int(tag[:2], 16) % 250 + 1
        pair = cls(f"pybpf-{tag}", f"pbh{tag}", f"pbp{tag}", f"10.199.{n}.1", f"10.199.{n}.2")
        ip("netns", "add", pair.ns)
        try:
            ip(
                "link",
                "add",
                pair.host,
                "type",
                "veth",
                "peer",
                "name",
                pair.peer,
                "netns",
                pair.ns,
            )
            ip("addr", "add", f"{pair.host_addr}/30", "dev", pair.host)
            ip("link", "set", pair.host, "up")
            ip("-n", pair.ns, "addr", "add", f"{pair.peer_addr}/30", "dev", pair.peer)
            ip("-n", pair.ns, "link", "set", pair.peer, "up")
            ip("-n", pair.ns, "link", "set", "lo", "up")
            ip(
                "neigh",
                "replace",
                pair.peer_addr,
                "lladdr",
                pair.mac(pair.peer, pair.ns),
                "dev",
                pair.host,
            )
            ip(
                "-n",
                pair.ns,
                "neigh",
                "replace",
                pair.host_addr,
                "lladdr",
                pair.mac(pair.host),
                "dev",
                pair.peer,
            )
        except BaseException:
            pair.destroy()
            raise
        return pair

    @staticmethod
    def mac(dev: str, ns: str | None = None) -> str:
        """The MAC address of ``dev``."""
        cmd = ["ip", *(["-n", ns] if ns else []), "-o", "link", "show", dev]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        return out.split("link/ether", 1)[1].split()[0]

    def ifindex(self) -> int:
        """Ifindex of the host-side device."""
        return int(Path(f"/sys/class/net/{self.host}/ifindex").read_text())

    def send_from_peer(self, count: int, size: int = 100, port: int = 9) -> None:
        """Send ``count`` UDP datagrams of ``size`` bytes from the namespace to the host side."""
        code = (
            "import socket\n"
            "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            f"for _ in range({count}): s.sendto(b'x' * {size}, ({self.host_addr!r}, {port}))\n"
        )
        subprocess.run(
            ["nsenter", f"--net=/run/netns/{self.ns}", sys.executable, "-c", code],
            check=True,
            capture_output=True,
        )

    def send_to_peer(self, count: int, size: int = 100, port: int = 9) -> None:
        """Send ``count`` UDP datagrams of ``size`` bytes from the root namespace to the peer."""
        import socket

        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for _ in range(count):
                s.sendto(b"x" * size, (self.peer_addr, port))

    def destroy(self) -> None:
        """Remove the namespace (which removes both ends of the pair)."""
        subprocess.run(["ip", "link", "del", self.host], capture_output=True)
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True)

    def __enter__(self) -> VethPair:
        return self

    def __exit__(self, *exc: object) -> None:
        self.destroy()
