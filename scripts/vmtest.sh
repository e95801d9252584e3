#!/usr/bin/env bash
# Run a command (default: the kernel-matrix tests) as root on a Debian LTS kernel in a VM.
#
#   scripts/vmtest.sh KERNEL [-- COMMAND ...]      KERNEL: 5.10, 6.1 or 6.12
#
# Installs what it needs (qemu, kmod, busybox-static, virtme-ng in a venv), downloads the
# kernel package once into a cache, boots it under virtme-ng with 2 CPUs and 2 GiB and the
# host filesystem at the same paths (and the kernel's own /boot: config, System.map), mounts tracefs/bpffs/cgroup2, runs COMMAND from the
# checkout and exits with COMMAND's status. Build the test objects on the host first
# (`make -C tests/bpf OUT=$PWD/build/bpf`): the guest reuses them.
# Environment: PYBPF_VMTEST_CACHE (default /var/lib/pybpf-vmtest: the guest mounts a tmpfs on
# /var/cache, hiding the modules), PYBPF_VMTEST_KVM=0|1
# (skip the KVM probe), PYBPF_VMTEST_MEMORY (default 2G), PYBPF_VMTEST_TIMEOUT (seconds
# the VM may run, default 1500), PYBPF_TIMEOUT_SCALE (test timeouts x this, default 10).
set -euo pipefail

usage() { echo "usage: $0 5.10|6.1|6.12 [-- COMMAND ...]" >&2; exit 2; }
[ $# -ge 1 ] || usage
KERNEL=$1
shift
if [ $# -gt 0 ]; then
	[ "$1" = "--" ] || usage
	shift
fi
case "$KERNEL" in
5.10) SUITE=bullseye ;;
6.1) SUITE=bookworm ;;
6.12) SUITE=bookworm-backports ;;
*) usage ;;
esac

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${PYBPF_VMTEST_CACHE:-/var/lib/pybpf-vmtest}
log() { echo "vmtest[$KERNEL]: $*" >&2; }
mkdir -p "$CACHE"

# --- host tools -------------------------------------------------------------------------
need_pkgs=()
for p in qemu-system-x86 kmod busybox-static; do
	dpkg -s "$p" >/dev/null 2>&1 || need_pkgs+=("$p")
done
if [ "${#need_pkgs[@]}" -gt 0 ]; then
	log "installing ${need_pkgs[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi
# The interpreter by its real path: pyenv's shims do not work inside the guest.
PY=$(python3 -c 'import sys; print(sys.executable)')
VENV=$CACHE/venv
if [ ! -x "$VENV/bin/vng" ]; then
	log "installing virtme-ng into $VENV"
	"$PY" -m venv "$VENV"
	"$VENV/bin/pip" install -q --disable-pip-version-check virtme-ng 2>&1 | grep -v '^WARNING' || true
fi
export PATH=$VENV/bin:$PATH # vng runs virtme-run from here

# --- the kernel package (a private apt configuration: the host's sources are untouched) --
APT=$CACHE/apt
mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial"
aptopts=(-o "Dir::Etc::SourceList=$APT/sources.list" -o "Dir::Etc::SourceParts=$APT/none"
	-o "Dir::State::Lists=$APT/lists" -o "Dir::Cache=$APT/cache" -o Debug::NoLocking=1)
if [ ! -s "$APT/sources.list" ]; then
	mirror=${PYBPF_VMTEST_MIRROR:-$(awk '/^URIs:/ && $2 ~ /\/debian\/?$/ {print $2; exit}' \
		/etc/apt/sources.list.d/*.sources 2>/dev/null || true)}
	[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $2 ~ /\/debian\/?$/ {print $2; exit}' /etc/apt/sources.list)
	[ -n "$mirror" ] || { log "no Debian mirror found in the host's apt sources; set PYBPF_VMTEST_MIRROR"; exit 2; }
	for s in bullseye bookworm bookworm-backports; do
		echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $s main"
	done >"$APT/sources.list"
fi
KDIR=$CACHE/kernel-$KERNEL
if [ ! -e "$KDIR/.done" ]; then
	[ -n "$(ls "$APT/lists" 2>/dev/null | grep _${SUITE}_ || true)" ] || apt-get "${aptopts[@]}" update -qq
	pat="^linux-image-${KERNEL//./\\.}\.[0-9.]*(-[0-9]+|\+deb[0-9]+)-amd64-unsigned$"
	pkg=$(apt-cache "${aptopts[@]}" search --names-only "$pat" | awk '{print $1}' | sort -V | tail -1)
	[ -n "$pkg" ] || { log "no package matches $pat"; exit 2; }
	log "downloading $pkg"
	rm -rf "$KDIR" && mkdir -p "$KDIR/dl"
	(cd "$KDIR/dl" && apt-get "${aptopts[@]}" download -qq "$pkg" 2>&1 | grep -v unsandboxed >&2 || true)
	dpkg -x "$KDIR"/dl/*.deb "$KDIR/root"
	rm -rf "$KDIR/dl"
	kver=$(ls "$KDIR/root/lib/modules")
	depmod -b "$KDIR/root" "$kver"
	echo "$kver" >"$KDIR/.done"
fi
KVER=$(cat "$KDIR/.done")
VMLINUZ=$KDIR/root/boot/vmlinuz-$KVER
# vng (and modprobe in the guest) look for modules at /lib/modules/VERSION.
if [ ! -e "/lib/modules/$KVER" ]; then
	mkdir -p /lib/modules
	ln -sfn "$KDIR/root/lib/modules/$KVER" "/lib/modules/$KVER"
fi

# --- the run ------------------------------------------------------------------------------
RUN=$(mktemp -d "$CACHE/run.XXXXXX")
trap 'rm -rf "$RUN"' EXIT
if [ $# -eq 0 ]; then
	# The kernel-matrix selection: tests/matrix, tests/*/test_matrix_*.py and the tests
	# tests/conftest.py lists in MATRIX_TESTS (only their files: collecting is slow in TCG).
	cd "$ROOT"
	files=(tests/matrix tests/*/test_matrix_*.py)
	files+=($(sed -n '/^MATRIX_TESTS = (/,/^)/s/^ *"\(tests\/[^":]*\.py\)::.*/\1/p' tests/conftest.py | sort -u))
	set -- "$PY" -m pytest -q -rA -p no:cacheprovider -m matrix "${files[@]}"
	# Build the test objects and targets on the host: the guest sees the checkout read-only.
	log "preparing the test objects on the host"
	PYTHONPATH=$ROOT/src${PYTHONPATH:+:$PYTHONPATH} \
		"$PY" -m pytest -q -p no:cacheprovider --setup-only -m matrix "${files[@]}" >/dev/null ||
		{ log "preparing failed: run '$PY -m pytest --setup-only -m matrix ${files[*]}'"; exit 1; }
fi
{
	echo '#!/bin/bash'
	echo "export PATH=$(dirname "$PY"):\$PATH PYTHONPATH=$ROOT/src${PYTHONPATH:+:$PYTHONPATH}"
	echo "export PYBPF_TIMEOUT_SCALE=${PYBPF_TIMEOUT_SCALE:-10}"  # TCG runs Python ~10x slower
	echo "export PYBPF_VMTEST_KERNEL=$KERNEL${PYBPF_REQUIRE_KERNEL:+ PYBPF_REQUIRE_KERNEL=$PYBPF_REQUIRE_KERNEL}"
	echo 'mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing'
	echo 'mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null'
	echo 'mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf'
	echo 'if ! grep -q " cgroup2 " /proc/mounts; then mount -t cgroup2 cgroup2 /sys/fs/cgroup; fi'
	echo 'ulimit -l unlimited'
	# modules the tc tests need (the guest does not autoload them)
	echo 'modprobe -qa veth sch_ingress cls_bpf 2>/dev/null'
	echo "cd $(printf %q "$ROOT")"
	# vng shows the guest's console only in part: the output comes back through a file.
	printf '%q ' "$@"
	echo ">$RUN/out 2>&1 </dev/null"
	echo "echo \$? >$RUN/rc"
} >"$RUN/guest.sh"

vng_args=(--run "$VMLINUZ" --user root --cpus 2 --memory "${PYBPF_VMTEST_MEMORY:-2G}"
	--rwdir "$RUN" --rodir "/boot=$KDIR/root/boot" --cwd "$ROOT" --append "lsm=lockdown,capability,yama,apparmor,bpf")
kvm=${PYBPF_VMTEST_KVM:-}
if [ -z "$kvm" ]; then
	if [ -s "$CACHE/kvm-probe" ]; then
		kvm=$(cat "$CACHE/kvm-probe")
	else
		# KVM may open yet fail to boot (a CPU model qemu cannot set up): probe once.
		kvm=0
		if [ -w /dev/kvm ]; then
			log "probing KVM"
			echo "echo ok >$RUN/kvm" >"$RUN/probe.sh"
			timeout 60 vng "${vng_args[@]}" --exec "bash $RUN/probe.sh" >/dev/null 2>&1 </dev/null || true
			[ -s "$RUN/kvm" ] && kvm=1
		fi
		echo "$kvm" >"$CACHE/kvm-probe"
	fi
fi
[ "$kvm" = 1 ] || vng_args+=(--disable-kvm)
log "booting $KVER ($([ "$kvm" = 1 ] && echo KVM || echo TCG))"
start=$(date +%s)
# vng's own exit status is unreliable; COMMAND's status comes back through $RUN/rc.
: >"$RUN/out"
tail -n +1 -f "$RUN/out" &
tailpid=$!
timeout "${PYBPF_VMTEST_TIMEOUT:-1500}" vng "${vng_args[@]}" --exec "bash $RUN/guest.sh" \
	</dev/null >"$RUN/console" 2>&1 || true
sleep 1
kill "$tailpid" 2>/dev/null || true
log "done in $(($(date +%s) - start)) s"
if [ ! -s "$RUN/rc" ]; then
	log "the guest did not report an exit status (boot failure, crash or timeout); console:"
	tail -n 30 "$RUN/console" >&2
	exit 125
fi
exit "$(cat "$RUN/rc")"
