#!/usr/bin/env bash
# Idempotent set-up of a fresh Debian machine for pybpf (run as root):
# the BPF build toolchain for the tests and tools, the project itself, tracefs and bpffs.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
for p in clang-19 llvm-19 libbpf-dev bpftool make iproute2 systemtap-sdt-dev gcc; do
	dpkg -s "$p" >/dev/null 2>&1 || need_pkgs+=("$p")
done
# older clangs and GCC's BPF back end, for the compiler-range test (tests/parity)
# ... and BCC's Python module, the reference of the histogram printers (tests/docs)
for p in clang-13 clang-14 clang-15 clang-16 gcc-bpf python3-bpfcc; do
	dpkg -s "$p" >/dev/null 2>&1 || need_pkgs+=("$p")
done
if [ "${#need_pkgs[@]}" -gt 0 ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi
# Debian's prometheus: the tests of `pybpf export` scrape it with a real server.
if ! dpkg -s prometheus >/dev/null 2>&1; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq prometheus >/dev/null 2>&1 || {
		apt-get update -qq && apt-get install -y -qq prometheus >/dev/null
	}
fi

python3 -m pip install -q --disable-pip-version-check -e '.[test]' 2>&1 | grep -v -E '^(WARNING|\s*$)' || true

# tracefs and bpffs are not mounted on a fresh machine.
if [ ! -e /sys/kernel/tracing/trace_pipe ] && [ ! -e /sys/kernel/debug/tracing/trace_pipe ]; then
	mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null || true
fi
if ! mount | grep -q ' /sys/fs/bpf type bpf'; then
	mkdir -p /sys/fs/bpf && mount -t bpf bpf /sys/fs/bpf || true
fi
