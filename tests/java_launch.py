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

Under CDS (the Metro peer only, see :data:`SAMPLES`) the class path is the jars first and the
peer's own classes directory after them (a static archive cannot hold a non-empty directory): the
peer's classes and resources live in its own package (``wssc.metro``), so the order finds the
same files.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
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

    ``peer``: ``(name, build)`` for a Maven-built peer (``build/classes`` and ``build/lib``); one
    with an archive (:data:`SAMPLES`) has its jars then its classes, and its archive when it matches."""
    argv = [java(), *JVM_FLAGS]
    cp = [str(c) for c in classpath]
    if peer is not None:
        name, build = peer
        lib_jars = jars(build / "lib")
        listing = os.environ.get(CLASSLIST_ENV)
        if name not in SAMPLES:  # no archive for this peer: its class path as Maven built it
            cp = [str(build / "classes"), str(build / "lib" / "*"), *cp]
        else:
            cp = [*lib_jars, str(build / "classes"), *cp]
        if name not in SAMPLES:
            pass
        elif listing:
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


# --- the archives (scripts/setup.sh: python tests/java_launch.py archive) -------------------------
#: Per peer: its build folder's env var and default, and the interop tests whose JVMs load the
#: classes worth archiving (its client against wssc, wssc against its service: both sides' code).
#: Not CXF: under its archive CXF's client changed what it sends (its first Cancel over HTTPS went
#: out as the later ones do, C16 in interop/cxf/FINDINGS.md: 3 runs of 3, and 3 of 3 without the
#: archive as before), so its JVM runs with the start-up flags only.
SAMPLES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "metro": (
        "WSSC_METRO_BUILD",
        "interop/metro/target",
        (
            "tests/interop/test_metro_client.py::test_session_matrix[anonymous-for-certificate-wshttp-dk]",
            "tests/interop/test_metro_service.py::test_username_over_transport[ws2007]",
        ),
    ),
}


def merged_classlist(lists: Sequence[Path]) -> str:
    """One class list from several JVMs' ``-XX:DumpLoadedClassList`` files: the ``id:`` numbers
    are per JVM (dropped), the classes of custom class loaders (``source:``) are left out."""
    seen: dict[str, None] = {}
    for path in lists:
        for line in path.read_text(errors="replace").splitlines():
            if not line or line.startswith("#") or " source: " in line:
                continue
            seen.setdefault(line.split(" id: ")[0].rstrip(), None)
    return "\n".join(seen) + "\n"


def make_archive(name: str, build: Path) -> str:
    """Dump ``name``'s archive when it is missing or stale; returns what was done."""
    lib_jars = jars(build / "lib")
    stamp_file = build / "wssc-build-stamp"
    stamp = stamp_file.read_text() if stamp_file.is_file() else ""
    folder = cds_dir()
    jsa, key_file = folder / f"{name}.jsa", folder / f"{name}.key"
    key = archive_key(name, stamp, lib_jars)
    if jsa.is_file() and key_file.is_file() and key_file.read_text().strip() == key:
        return f"{jsa} is up to date"
    folder.mkdir(parents=True, exist_ok=True)
    listing = folder / f"{name}-lists"
    shutil.rmtree(listing, ignore_errors=True)
    listing.mkdir()
    env = dict(os.environ, **{CLASSLIST_ENV: str(listing)})
    # the tests' verdicts do not matter here, only the classes their JVMs loaded
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *SAMPLES[name][2]]
    subprocess.run(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, timeout=900, check=False)
    lists = sorted(listing.glob(f"{name}-*.classlist"))
    if not lists:
        raise RuntimeError(f"the sample tests ran no {name} JVM ({' '.join(cmd)})")
    classlist = folder / f"{name}.classlist"
    classlist.write_text(merged_classlist(lists))
    shutil.rmtree(listing, ignore_errors=True)
    key_file.unlink(missing_ok=True)
    tmp = folder / f"{name}.jsa.tmp"
    dump = [java(), "-Xshare:dump", f"-XX:SharedClassListFile={classlist}", f"-XX:SharedArchiveFile={tmp}"]
    dump += [*JVM_FLAGS[:3], "-cp", os.pathsep.join(lib_jars)]
    p = subprocess.run(dump, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    if p.returncode != 0 or not tmp.is_file():
        raise RuntimeError(f"java -Xshare:dump failed ({p.returncode}): {(p.stdout + p.stderr)[-2000:]}")
    tmp.replace(jsa)
    key_file.write_text(key + "\n")
    return f"{jsa} made from {len(lists)} JVMs' classes ({jsa.stat().st_size // 1_000_000} MB)"


def main(argv: Sequence[str]) -> int:
    if list(argv) != ["archive"]:
        print("usage: python tests/java_launch.py archive", file=sys.stderr)
        return 2
    status = 0
    for name, (env, default, _) in SAMPLES.items():
        build = Path(os.environ.get(env) or REPO / default)
        if not (build / "lib").is_dir() or not (build / "classes").is_dir():
            print(f"cds: no {name} build in {build}; no archive", file=sys.stderr)
            continue
        try:
            print(f"cds: {make_archive(name, build)}", file=sys.stderr)
        except (OSError, RuntimeError, subprocess.SubprocessError) as e:
            print(f"cds: no {name} archive (the peer only starts slower): {e}", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
