"""The suite's Java launches (``tests/java_launch.py``): the Metro peer's JVM maps its AppCDS
archive, and a stale archive is left out (one warning), never a failure."""

from __future__ import annotations

import json
import subprocess
import warnings
from pathlib import Path

import pytest
from metro_peer import metro_build_dir, metro_classpath, metro_missing

import java_launch
from java_launch import JVM_FLAGS, archive_key, jars, java_argv

DEAD_WSDL = "http://127.0.0.1:9/svc?wsdl"  # nothing listens on the discard port: the run ends early


@pytest.fixture(autouse=True)
def fresh_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(java_launch, "_checked", {})
    monkeypatch.setattr(java_launch, "_warned", set())


def test_metro_jvm_loads_its_classes_from_the_archive(tmp_path: Path) -> None:
    metro_classpath()
    if not (java_launch.cds_dir() / "metro.jsa").is_file():
        metro_missing(f"no {java_launch.cds_dir()}/metro.jsa (scripts/setup.sh makes it)")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "runs without its CDS archive" would fail here
        argv = java_argv("wssc.metro.MetroClient", "--wsdl", DEAD_WSDL, peer=("metro", metro_build_dir()))
    assert f"-XX:SharedArchiveFile={java_launch.cds_dir() / 'metro.jsa'}" in argv
    assert all(f in argv for f in JVM_FLAGS)
    log = tmp_path / "class-load.txt"
    argv.insert(1, f"-Xlog:class+load:file={log}")
    p = subprocess.run(argv, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    result = json.loads(p.stdout.split("RESULT ", 1)[1])
    assert p.returncode == 2 and result["phase"] == "wsdl", p.stdout + p.stderr[-2000:]
    lines = log.read_text().splitlines()
    shared = sum("source: shared objects file" in ln for ln in lines)
    # Metro's own stack (webservices-rt), which the JDK's default archive has none of
    metro_shared = sum("com.sun.xml.ws." in ln and "shared objects file" in ln for ln in lines)
    assert shared > 0.8 * len(lines) and metro_shared > 100, (shared, metro_shared, len(lines))


def test_a_stale_archive_is_left_out_with_one_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    metro_classpath()
    build = metro_build_dir()
    monkeypatch.setenv("WSSC_JAVA_CDS", str(tmp_path))
    (tmp_path / "metro.jsa").write_bytes(b"not an archive")
    (tmp_path / "metro.key").write_text(archive_key("metro", "another build", jars(build / "lib")))
    with pytest.warns(UserWarning, match="made for another build") as caught:
        first = java_argv("wssc.metro.MetroClient", peer=("metro", build))
        second = java_argv("wssc.metro.MetroClient", peer=("metro", build))
    assert len(caught) == 1
    assert not any(a.startswith("-XX:SharedArchiveFile") for a in first + second)
    assert "-Xshare:auto" in first


def test_an_archive_the_jvm_refuses_is_left_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The key matches but the file is no archive: the -Xshare:on probe refuses it."""
    metro_classpath()
    build = metro_build_dir()
    monkeypatch.setenv("WSSC_JAVA_CDS", str(tmp_path))
    stamp = (build / "wssc-build-stamp").read_text() if (build / "wssc-build-stamp").is_file() else ""
    (tmp_path / "metro.jsa").write_bytes(b"not an archive")
    (tmp_path / "metro.key").write_text(archive_key("metro", stamp, jars(build / "lib")))
    with pytest.warns(UserWarning, match="the JVM does not map"):
        argv = java_argv("wssc.metro.MetroClient", peer=("metro", build))
    assert not any(a.startswith("-XX:SharedArchiveFile") for a in argv)
