"""Every Java launch of the test suite goes through here: one argv, tuned for short-lived JVMs.

The peers' JVMs live for one client run or one test module, so start-up dominates their cost:
:data:`JVM_FLAGS` keeps the JIT at C1, uses the serial collector and writes no perf-data file.
None of these change what a peer does (its code, its defaults, its configuration).

A peer's library jars also get an AppCDS archive (``<repo>/.wssc/cds/<peer>.jsa``, override the
folder with ``WSSC_JAVA_CDS``): ``scripts/setup.sh`` runs ``python tests/java_launch.py archive``
after building the peers; it runs a few representative interop tests with
``-XX:DumpLoadedClassList`` and dumps the classes they loaded. The archive is keyed by the peer's
build stamp, the jars and the JVM, so a rebuild redoes it. A missing or stale archive only costs
speed: it is left out (with one warning per session) and the JVM runs with ``-Xshare:auto``.

Under CDS the class path is the jars first and the peer's own classes directory after them (a
static archive cannot hold a non-empty directory): the peers' classes and resources live in their
own packages (``wssc.cxf``, ``wssc.metro``), so the order finds the same files.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import uuid
import warnings
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

#: Start-up flags for short-lived JVMs (never a peer's behaviour): C1 only, the serial collector,
#: no hsperfdata file, CDS when an archive matches (else silently without), no CDS log lines on
#: stdout (the peers' stdout carries their RESULT line).
JVM_FLAGS: tuple[str, ...] = (
    "-XX:TieredStopAtLevel=1",
    "-XX:+UseSerialGC",
    "-XX:-UsePerfData",
    "-Xshare:auto",
    "-Xlog:cds=off",
    "-Xlog:cds+dynamic=off",
)

#: Set to a folder: every launch of a named peer writes the classes it loads there (setup.sh).
CLASSLIST_ENV = "WSSC_JAVA_CLASSLIST"

_warned: set[str] = set()
_checked: dict[str, bool] = {}


def cds_dir() -> Path:
    env = os.environ.get("WSSC_JAVA_CDS")
    return Path(env) if env else REPO / ".wssc" / "cds"


def java() -> str:
    return shutil.which("java") or "java"


def jars(lib: Path) -> list[str]:
    """The jars in ``lib`` in the order the launcher expands ``lib/*`` (directory order)."""
    return [str(lib / n) for n in os.listdir(lib) if n.endswith((".jar", ".JAR"))]


def archive_key(name: str, stamp: str, jar_path: Sequence[str]) -> str:
    """What an archive was made from: the peer's build stamp, its jars (path, size, mtime), the JVM."""
    h = hashlib.sha256()
    exe = os.path.realpath(java())
    h.update(f"{name}\n{stamp.strip()}\n{exe}\n{os.stat(exe).st_mtime_ns}\n".encode())
    for j in jar_path:
        st = os.stat(j)
        h.update(f"{j}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _warn_once(name: str, why: str) -> None:
    if name not in _warned:
        _warned.add(name)
        warnings.warn(f"the {name} peer runs without its CDS archive (slower start-up): {why}", stacklevel=3)


def _archive(name: str, stamp: str, jar_path: Sequence[str]) -> Path | None:
    """The peer's archive when it matches this build and this JVM, else None (warned once)."""
    if name in _checked:
        return cds_dir() / f"{name}.jsa" if _checked[name] else None
    jsa, key = cds_dir() / f"{name}.jsa", cds_dir() / f"{name}.key"
    ok = False
    if not jsa.is_file() or not key.is_file():
        _warn_once(name, f"no {jsa} (scripts/setup.sh makes it)")
    elif key.read_text().strip() != archive_key(name, stamp, jar_path):
        _warn_once(name, f"{jsa} was made for another build of the peer or another JVM")
    else:
        # the JVM's own check: -Xshare:on refuses to start when the archive does not map
        cp = os.pathsep.join(jar_path)
        probe = [java(), *JVM_FLAGS[:-3], "-Xshare:on", f"-XX:SharedArchiveFile={jsa}", "-cp", cp, "-version"]
        p = subprocess.run(probe, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        ok = p.returncode == 0
        if not ok:
            _warn_once(name, f"the JVM does not map {jsa}: {(p.stdout + p.stderr).strip()[-500:]}")
    _checked[name] = ok
    return jsa if ok else None


def java_argv(
    main: str,
    *args: str,
    classpath: Sequence[str | os.PathLike[str]] = (),
    peer: tuple[str, Path] | None = None,
) -> list[str]:
    """``java <flags> -cp <classpath> <main> <args>``. ``main`` may be a ``.java`` source file.

    ``peer``: ``(name, build)`` for a Maven-built peer (``build/classes`` and ``build/lib``): its
    class path is its jars then its classes, with its CDS archive when one matches."""
    argv = [java(), *JVM_FLAGS]
    cp = [str(c) for c in classpath]
    if peer is not None:
        name, build = peer
        lib_jars = jars(build / "lib")
        cp = [*lib_jars, str(build / "classes"), *cp]
        listing = os.environ.get(CLASSLIST_ENV)
        if listing:
            Path(listing).mkdir(parents=True, exist_ok=True)
            argv.append(f"-XX:DumpLoadedClassList={Path(listing) / f'{name}-{uuid.uuid4().hex}.classlist'}")
        else:
            stamp_file = build / "wssc-build-stamp"
            stamp = stamp_file.read_text() if stamp_file.is_file() else ""
            jsa = _archive(name, stamp, lib_jars)
            if jsa is not None:
                argv.append(f"-XX:SharedArchiveFile={jsa}")
    if cp:
        argv += ["-cp", os.pathsep.join(cp)]
    return [*argv, main, *args]
