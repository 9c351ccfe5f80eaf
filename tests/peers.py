"""Drivers for outside programs the tests talk to: the WSS4J interop peer and the wssc CLI.

The WSS4J peer is a Java CLI kept beside the repository in ``../shared/peers/wss4j`` (override
with ``WSSC_WSS4J_PEER``); see its README.md. Its build output goes to ``WSS4J_PEER_BUILD``,
which defaults here to ``<repo>/.wssc/peer-build`` (what ``scripts/setup.sh`` builds).
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from java_launch import JVM_FLAGS

REPO = Path(__file__).resolve().parents[1]
JARS = ("wss4j", "xmlsec", "commons-logging", "commons-codec", "slf4j-api", "slf4j-jdk14")
TIMEOUT = 120


def in_ci() -> bool:
    """True under CI (``CI`` = true, 1 or yes, any case): the one test of it in the suite.
    ``scripts/setup.sh`` reads ``CI`` the same way."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def peer_dir() -> Path:
    env = os.environ.get("WSSC_WSS4J_PEER")
    return Path(env) if env else REPO.parent / "shared" / "peers" / "wss4j"


def mono_dir() -> Path:
    """The Mono (WCF) peer harness and its captures: WSSC_MONO_PEER or ../shared/peers/mono."""
    env = os.environ.get("WSSC_MONO_PEER")
    return Path(env) if env else REPO.parent / "shared" / "peers" / "mono"


def mono_missing(what: str) -> None:
    """A Mono capture or tool is missing: an error under CI (``in_ci()``), else a loud skip."""
    import pytest

    if in_ci():
        pytest.fail(f"{what} (CI: the Mono peer must be present)")
    pytest.skip(f"!!! {what}; Mono interop NOT tested !!!")


def peer_build_dir() -> Path:
    env = os.environ.get("WSS4J_PEER_BUILD")
    return Path(env) if env else REPO / ".wssc" / "peer-build"


class PeerMissing(Exception):
    """The peer cannot run here; the message says what is missing."""


def _options(opts: Mapping[str, Any]) -> list[str]:
    """``dk_offset=32`` -> ``--dk-offset 32``; ``True`` -> a bare flag; None/False -> nothing."""
    out: list[str] = []
    for key, value in opts.items():
        if value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        if value is True:
            out.append(flag)
        else:
            out += [flag, str(value)]
    return out


@dataclass
class Wss4jPeer:
    """The ``peer`` CLI (WSS4J 1.6.19). Keyword options are flags: ``sct_id=`` -> ``--sct-id``."""

    directory: Path
    build: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def vectors(self) -> Path:
        return self.directory / "vectors"

    def run(self, *args: str | os.PathLike[str], check: bool = False) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.directory / "peer"), *map(str, args)]
        proc = subprocess.run(
            ["bash", *cmd],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"peer {' '.join(map(str, args))} exited {proc.returncode}\n"
                f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
            )
        return proc

    def secure(
        self, in_path: str | os.PathLike[str], out_path: str | os.PathLike[str], **opts: Any
    ) -> subprocess.CompletedProcess[str]:
        """``peer secure``; must succeed. Needs ``secret=`` and ``sct_id=``."""
        return self.run("secure", *_options(opts), in_path, out_path, check=True)

    def verify(self, path: str | os.PathLike[str], **opts: Any) -> subprocess.CompletedProcess[str]:
        """``peer verify``; the caller checks the exit code (0 ok, 1 error, 3 policy), or
        better, uses :meth:`verdict`."""
        return self.run("verify", *_options(opts), path)

    def verdict(self, path: str | os.PathLike[str], **opts: Any) -> PeerVerdict:
        """``peer verify`` read as a verdict: see :func:`wss4j_verdict`."""
        return wss4j_verdict(self.verify(path, **opts))

    def mutate(
        self, in_path: str | os.PathLike[str], out_path: str | os.PathLike[str], **opts: Any
    ) -> subprocess.CompletedProcess[str]:
        """``peer mutate`` with e.g. ``tamper_body=True``; must succeed."""
        return self.run("mutate", *_options(opts), in_path, out_path, check=True)

    def psha1(
        self,
        secret: bytes,
        nonce: bytes,
        length: int,
        offset: int = 0,
        label: str | None = None,
        **opts: Any,
    ) -> bytes:
        """WSS4J's P_SHA1 (seed = UTF-8(label) || nonce; default label when ``label`` is None)."""
        proc = self.run(
            "psha1",
            "--secret",
            base64.b64encode(secret).decode(),
            "--nonce",
            base64.b64encode(nonce).decode(),
            "--length",
            str(length),
            "--offset",
            str(offset),
            *(["--label", label] if label is not None else []),
            *_options(opts),
            check=True,
        )
        return base64.b64decode(proc.stdout.strip())


@dataclass(frozen=True)
class PeerVerdict:
    """What the WSS4J peer decided about a message."""

    ok: bool
    #: a rejection's WS-Security fault code ("{ns}Local"), or "policy" for the peer's own
    #: policy checks (exit 3); None when accepted
    fault: str | None
    output: str


_WSS4J_REJECTION = re.compile(
    r"^ERROR: org\.apache\.ws\.security\.WSSecurityException: .*"
    r"\[errorCode=\d+, faultCode=(\{[^}]*\}\w+)\]",
    re.M,
)


def wss4j_verdict(proc: subprocess.CompletedProcess[str]) -> PeerVerdict:
    """Read ``peer verify``'s outcome. Only two things are verdicts: exit 0 with "VERIFY OK"
    (accepted), and a refusal by WSS4J itself: exit 1 whose top-level error is a
    ``WSSecurityException`` carrying a fault code, or exit 3 (the peer's policy check). Anything
    else (a Java crash such as a NullPointerException, a usage error, a timeout) raises
    AssertionError: a crash must never read as a rejection."""
    out = f"exit {proc.returncode}\nstdout:\n{proc.stdout[-2000:]}\nstderr:\n{proc.stderr[-2000:]}"
    if proc.returncode == 0:
        assert "VERIFY OK" in proc.stdout, f"exit 0 without VERIFY OK:\n{out}"
        return PeerVerdict(True, None, out)
    if proc.returncode == 3:
        assert "VERIFY FAILED (policy)" in proc.stderr, out
        return PeerVerdict(False, "policy", out)
    if proc.returncode == 1:
        m = _WSS4J_REJECTION.search(proc.stderr)
        assert m, f"the WSS4J peer crashed (not a WS-Security verdict):\n{out}"
        return PeerVerdict(False, m.group(1), out)
    raise AssertionError(f"the WSS4J peer crashed or was misused:\n{out}")


def find_wss4j_peer() -> Wss4jPeer:
    """Locate the peer and make sure it can run (compiling it if only the classes are missing).

    Raises :class:`PeerMissing` when the directory, Java or the WSS4J jars are not there. It never
    installs system packages: that is ``scripts/setup.sh``'s job.
    """
    directory = peer_dir()
    if not (directory / "peer").is_file() or not (directory / "WssPeer.java").is_file():
        raise PeerMissing(f"no WSS4J peer at {directory} (set WSSC_WSS4J_PEER)")
    directory = directory.resolve()
    if shutil.which("java") is None or shutil.which("javac") is None:
        raise PeerMissing("java/javac not on PATH")
    missing = [j for j in JARS if not Path(f"/usr/share/java/{j}.jar").is_file()]
    if missing:
        raise PeerMissing(f"jars missing in /usr/share/java: {', '.join(missing)} (libwss4j-java)")
    build = peer_build_dir()
    # the peer script passes WSS4J_PEER_JAVA_OPTS to java: the suite's start-up flags (java_launch)
    env = dict(os.environ, WSS4J_PEER_BUILD=str(build), WSS4J_PEER_JAVA_OPTS=" ".join(JVM_FLAGS))
    env.pop("WSS4J_PEER_DEBUG", None)
    classes = build / "classes" / "WssPeer.class"
    source = directory / "WssPeer.java"
    if not classes.is_file() or source.stat().st_mtime > classes.stat().st_mtime:
        proc = subprocess.run(
            ["bash", str(directory / "build.sh")],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
            stdin=subprocess.DEVNULL,
        )
        if proc.returncode != 0:
            raise PeerMissing(f"build.sh failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    peer = Wss4jPeer(directory, build, env)
    probe = peer.run("psha1", "--secret", "A" * 22 + "==", "--nonce", "AAAA", "--length", "4")
    if probe.returncode != 0:
        raise PeerMissing(f"the peer does not run: {probe.stderr.strip()[-2000:]}")
    return peer


def wssc_cli(
    *args: str | os.PathLike[str], input: str | bytes | None = None, timeout: float = TIMEOUT
) -> subprocess.CompletedProcess[Any]:
    """Run ``python -m wssc ARGS``. Text in text out, unless ``input`` is bytes."""
    env = {k: v for k, v in os.environ.items() if k not in ("WSSC_SECRET", "WSSC_DEBUG")}
    return subprocess.run(
        [sys.executable, "-m", "wssc", *map(str, args)],
        input=input,
        capture_output=True,
        text=not isinstance(input, bytes),
        env=env,
        timeout=timeout,
        stdin=None if input is not None else subprocess.DEVNULL,
    )
