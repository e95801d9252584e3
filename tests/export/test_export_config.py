"""The exporter's configuration and label decoders, without the kernel: every error
names the file, the line and the field; decoders give the documented labels."""

from __future__ import annotations

import errno
import textwrap
from pathlib import Path

import pytest
from tests.conftest import need

from pybpf.errors import BPFError, ConfigError
from pybpf.export.collector import _Hist
from pybpf.export.config import HistogramSpec, load_config, parse_config
from pybpf.export.daemon import example_names, parse_listen, resolve_config
from pybpf.export.decoders import build_chain

GOOD = """\
objects:
  - name: execs
    object: export_exec.bpf.o
    rodata:
      targ_uid: 0
    metrics:
      counters:
        - name: exec_total
          map: exec_count
          labels:
            - name: comm
              decoders:
                - name: string
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "cfg.yaml"
    p.write_text(textwrap.dedent(text))
    return p


def test_good_config_parses(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, GOOD))
    (obj,) = cfg.objects
    assert obj.name == "execs" and obj.rodata == {"targ_uid": 0}
    assert obj.path.name == "export_exec.bpf.o" and obj.path.is_file()
    (m,) = obj.metrics
    assert (m.kind, m.name, m.map, m.help) == ("counter", "exec_total", "exec_count", "exec_total")
    assert [lab.name for lab in m.labels] == ["comm"] and m.labels[0].field == "comm"


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "words"),
    [
        ("          map: exec_count", "          mapp: exec_count", 9, "metrics.counters[0].mapp",
         "unknown field 'mapp'; did you mean 'map'?"),
        ("                - name: string", "                - name: strung", 13,
         "labels[0].decoders[0].name", "unknown decoder 'strung'"),
        ("        - name: exec_total", "        - name: exec-total", 8, "counters[0].name",
         "not a valid Prometheus metric name"),
        ("    object: export_exec.bpf.o", "    object: nowhere.bpf.o", 3, "objects[0].object",
         "no object 'nowhere.bpf.o'"),
        ("      targ_uid: 0", "      targ_uid: {a: 1}", 5, "objects[0].rodata.targ_uid",
         "rodata values"),
        ("          map: exec_count", "          map: [1, 2]", 9, "counters[0].map",
         "expected a string"),
    ],
)  # fmt: skip
def test_errors_name_file_line_field(
    tmp_path: Path, old: str, new: str, line: int, field: str, words: str
) -> None:
    assert old in GOOD
    p = write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(ConfigError) as ei:
        load_config(p)
    err = ei.value
    assert err.file == str(p) and err.line == line, str(err)
    assert err.field.endswith(field), err.field
    assert words in str(err) and f"{p}:{line}" in str(err)


def test_missing_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cfg.yaml:1: objects: is required"):
        load_config(write(tmp_path, "namespace: x\n"))
    with pytest.raises(ConfigError, match=r"cfg.yaml:3: invalid YAML"):
        load_config(write(tmp_path, "objects:\n  - name: a\n  b: [\n"))
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.yaml")
    text = GOOD.replace(
        "          map: exec_count\n", "          map: exec_count\n          map: x\n"
    )
    with pytest.raises(ConfigError, match=r":10: duplicate key 'map'"):
        load_config(write(tmp_path, text))


def test_duplicate_metric_names(tmp_path: Path) -> None:
    text = GOOD + GOOD.split("objects:\n", 1)[1].replace("name: execs", "name: again")
    with pytest.raises(
        ConfigError, match=r"cfg.yaml:20: .*'exec_total' is defined twice \(also at .*:8\)"
    ):
        load_config(write(tmp_path, text))


def test_histogram_fields(tmp_path: Path) -> None:
    text = GOOD.replace(
        "      counters:",
        "      histograms:\n"
        "        - {name: h, map: m, bucket_type: linear, bucket_max: 3, bucket_width: 5}\n"
        "        - {name: e, map: m, bucket_type: exact, bucket_keys: [10, 1, 5]}\n"
        "      counters:",
    )
    cfg = load_config(write(tmp_path, text))
    h, e = (m for m in cfg.objects[0].metrics if isinstance(m, HistogramSpec))
    assert (h.bucket_type, h.bucket_max, h.bucket_width) == ("linear", 3, 5.0)
    assert e.bucket_keys == [1.0, 5.0, 10.0]
    bad = text.replace("bucket_type: linear, bucket_max: 3,", "bucket_type: linear,")
    with pytest.raises(ConfigError, match=r":8: objects\[0\].metrics.histograms\[0\].bucket_max"):
        load_config(write(tmp_path, bad))


def test_env_substitution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = GOOD.replace("targ_uid: 0", "targ_uid: ${PXE_UID:-7}")
    assert load_config(write(tmp_path, text)).objects[0].rodata == {"targ_uid": 7}
    monkeypatch.setenv("PXE_UID", "1000")
    assert load_config(write(tmp_path, text)).objects[0].rodata == {"targ_uid": 1000}


def test_examples_parse() -> None:
    names = example_names()
    assert names == sorted(
        ["exec-count", "syscall-latency", "biolatency", "runqlat", "tcp-retrans", "xdp-proto"]
    )
    for name in names:
        cfg = load_config(resolve_config(name))
        assert cfg.objects and all(o.path.is_file() for o in cfg.objects)
    with pytest.raises(ConfigError, match="no shipped example"):
        resolve_config("exec-cnt")


def test_listen() -> None:
    assert parse_listen("127.0.0.1:9435") == ("127.0.0.1", 9435)
    assert parse_listen("[::1]:80") == ("::1", 80)
    with pytest.raises(ConfigError, match="ADDR:PORT"):
        parse_listen("localhost")


def _chain(text: str):  # type: ignore[no-untyped-def]
    cfg = parse_config(
        GOOD.replace("                - name: string\n", textwrap.indent(text, " " * 16)),
        str(Path.cwd() / "x.yaml"),
    )
    return build_chain(cfg.objects[0].metrics[0].labels[0].decoders)


def test_decoders() -> None:
    assert _chain("- name: string\n")(b"bash\0\0junk") == "bash"
    assert _chain("- name: uint\n")(42) == "42"
    assert _chain("- name: syscall\n")(59) == "execve"
    assert _chain("- name: errno\n")(-errno.ENOENT) == "ENOENT"
    assert _chain("- name: hex\n")(255) == "0xff"
    inet = _chain("- name: inet\n")
    assert inet(bytes([0] * 10 + [0xFF, 0xFF, 10, 1, 2, 3])) == "10.1.2.3"
    assert inet(list(bytes([0x20, 0x01, 0x0D, 0xB8] + [0] * 11 + [1]))) == "2001:db8::1"
    assert inet(bytes([192, 168, 0, 1])) == "192.168.0.1"
    assert inet(int.from_bytes(bytes([127, 0, 0, 1]), "little")) == "127.0.0.1"
    sm = "- name: static_map\n  static_map: {1: icmp, 6: tcp}\n"
    assert _chain(sm)(6) == "tcp" and _chain(sm)(17) is None
    assert _chain(sm + "  allow_unknown: true\n")(17) == "17"
    rx = _chain("- name: string\n- name: regexp\n  regexps: ['^ba', 'sh$']\n")
    assert rx(b"bash") == "bash" and rx(b"zsh") == "zsh" and rx(b"true") is None


def test_ksym_and_cgroup_decoders() -> None:
    ksym = _chain("- name: ksym\n")
    kallsyms = Path("/proc/kallsyms").read_text().splitlines()
    addr, name = (
        next(
            (int(a, 16), n)
            for a, t, n, *_ in (line.split() for line in kallsyms)
            if t in "tT" and n == "schedule"
        )
        if any(line.endswith(" schedule") for line in kallsyms)
        else (0, "")
    )
    if not addr:
        need(False, "kallsyms hides addresses (not root?)")
    assert ksym(addr) == name and ksym(addr + 1) == name
    cg = _chain("- name: cgroup\n")
    import os

    from pybpf.export.decoders import _Cgroups

    root = _Cgroups.root()
    if root is None:
        need(False, "no cgroup2 mount")
    assert cg(os.stat(root).st_ino) == "/"
    assert cg(1 << 60) == str(1 << 60)


def test_histogram_buckets() -> None:
    spec = HistogramSpec(
        name="h", help="h", map="m", labels=[], value_field="", bucket_type="log2",
        bucket_field="slot", bucket_min=1, bucket_max=4, bucket_multiplier=0.5,
        bucket_width=1.0, bucket_keys=[], sum_map="", where=None, map_where=None,  # type: ignore[arg-type]
    )  # fmt: skip
    h = _Hist(spec)
    assert h.le == ["1.0", "2.0", "4.0", "8.0", "+Inf"]
    # slot 0 folds into the first bucket, slot 9 only into +Inf
    buckets, s = h.family_data({0: 1, 1: 2, 3: 4, 9: 8}, total_sum=100.0)
    assert buckets == [("1.0", 3), ("2.0", 3), ("4.0", 7), ("8.0", 7), ("+Inf", 15)]
    assert s == 100.0
    spec.bucket_type, spec.bucket_width, spec.bucket_min, spec.bucket_max = "linear", 10.0, 0, 2
    h = _Hist(spec)
    assert h.le == ["5.0", "10.0", "15.0", "+Inf"]
    buckets, s = h.family_data({0: 1, 2: 1}, None)
    assert buckets[-1] == ("+Inf", 2) and s == pytest.approx((0.5 + 2.5) * 10 * 0.5)
    spec.bucket_type, spec.bucket_keys, spec.bucket_multiplier = "exact", [1.0, 5.0], 1.0
    h = _Hist(spec)
    buckets, s = h.family_data({1: 2, 3: 1, 7: 1}, None)
    assert buckets == [("1.0", 2), ("5.0", 3), ("+Inf", 4)] and s == 2 + 3 + 7


def test_config_error_is_a_bpf_error() -> None:
    assert issubclass(ConfigError, BPFError) and issubclass(ConfigError, ValueError)
