#!/usr/bin/env bash
# Coverage-guided fuzzing of pybpf's readers (object open, BTF, BTF.ext,
# disassembler, C dumper, layouts) with atheris, for SECONDS (default 60).
#
#   bash scripts/fuzz.sh [SECONDS] [extra libFuzzer flags...]
#
# Seeds: the test objects (build/bpf/*.o, built here if missing) and slices of
# the kernel's BTF. Rules: only pybpf.errors types escape, no input takes over
# 1 s, peak RSS stays under 512 MiB. Inputs breaking a rule go to
# $FUZZ_WORK/findings (replay: PYTHONPATH=src python3 -m pytest tests/fuzz after
# copying one to tests/fuzz/regressions/); figures go to $FUZZ_WORK/stats.json.
# Exit status: 0 when no rule was broken, 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
shift || true
work="${FUZZ_WORK:-${TMPDIR:-/tmp}/pybpf-fuzz-$(id -u)}"
mkdir -p "$work"

if ! python3 -c 'import atheris' 2>/dev/null; then
	python3 -m pip install -q --disable-pip-version-check --only-binary=:all: 'atheris>=2.3' ||
		{ echo "fuzz.sh: atheris is not installed and has no wheel here (pip install atheris)" >&2; exit 2; }
fi
[ -n "$(ls build/bpf/*.o 2>/dev/null)" ] || make -s -C tests/bpf >/dev/null

rm -rf "$work/findings"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
rm -f "$work/stats.json"
python3 scripts/fuzz.py --seconds "$secs" --work "$work" "$@" >"$work/log" 2>&1 || true
if [ ! -s "$work/stats.json" ]; then
	tail -20 "$work/log" >&2
	echo "fuzz: the fuzzer did not run (log: $work/log)" >&2
	exit 2
fi
status=0
python3 - "$work/stats.json" <<'PY' || status=$?
import json, sys
s = json.load(open(sys.argv[1]))
print(
    f"fuzz: {s['inputs']} inputs in {s['elapsed_s']} s, "
    f"{s['untyped_exceptions']} untyped exceptions, "
    f"{s['inputs_over_limit_s']} inputs over {s['limits']['slow_s']} s "
    f"(slowest {s['slowest_input_s']} s, {s['slowest_target']}), "
    f"peak RSS {s['peak_rss_mib']} MiB (limit {s['limits']['rss_mib']})"
)
bad = s["untyped_exceptions"] or s["inputs_over_limit_s"] or s["rss_over_limit"] or not s["inputs"]
sys.exit(1 if bad else 0)
PY
[ "$status" = 0 ] || echo "fuzz: findings in $work/findings (log: $work/log)" >&2
exit "$status"
