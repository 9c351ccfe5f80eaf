"""Live interop with Mono's System.ServiceModel (WCF): the Mono peer harness's *client* talks to
a wssc *service* over HTTP on loopback.

What Mono can do (``../shared/peers/mono/FINDINGS.md``): WS-Security 1.1 symmetric message
security without a security context, with the AnonymousForCertificate, UserNameForCertificate
and MutualCertificate bootstraps (Mono's ``CreateMutualCertificateBindingElement`` gives the
WS-Security 1.1 shape: the service's X.509 protects, the client's endorses, signed RSA-SHA256
under Basic256: `MONO_COMPATIBLE`), in both directions. Its secure
session client cannot open an SC channel at all, and its hand-assembled SC initiator (``rst``)
stops after the Issue step in its own RSTR parsing; what we check there is that Mono's security
layer verified and decrypted wssc's RSTR (the harness saves the decrypted reply).

The peer's verdict decides every test here: its exit code and the ``ok`` flag of each RESULT
line. A crash (exit 2 with step "fatal", or no RESULT at all) is never read as a verdict.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

import servers
from peers import mono_dir, mono_missing

MONO = mono_dir()
HERE = Path(__file__).parent

pytestmark = pytest.mark.peer


@pytest.fixture(scope="module")
def mono_harness(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the Mono harness into a temporary copy (``shared/`` is read-only in CI)."""
    missing = [t for t in ("mono", "mcs") if shutil.which(t) is None]
    if missing or not (MONO / "src" / "MonoWcfPeer.cs").is_file():
        mono_missing(
            f"Mono peer unavailable ({', '.join(missing) or 'no harness at ' + str(MONO)});"
            " scripts/setup.sh installs mono-complete"
        )
    work = tmp_path_factory.mktemp("mono-peer")
    for part in ("src", "tools", "certs"):
        shutil.copytree(MONO / part, work / part)
    proc = subprocess.run(
        ["sh", str(work / "tools" / "build.sh")], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return work


def _free_port() -> int:
    """A free port of this test worker's own slice (`servers.free_port`)."""
    return servers.free_port()


@pytest.fixture
def wssc_service(mono_harness: Path, tmp_path: Path) -> Iterator[Callable[..., tuple[str, Path]]]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(variant: str, *trusted_client_cert: str) -> tuple[str, Path]:
        port = _free_port()
        log = tmp_path / f"service-{variant}.log"
        proc = subprocess.Popen(
            [
                sys.executable,
                str(HERE / "mono_service.py"),
                variant,
                str(port),
                str(mono_harness / "certs"),
                *trusted_client_cert,
            ],
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        procs.append(proc)
        url = f"http://127.0.0.1:{port}/svc"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return url, log
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(log.read_text())
            time.sleep(0.1)

    yield start
    for p in procs:
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()


@dataclass(frozen=True)
class MonoRun:
    """One run of the Mono harness: its exit code and its RESULT lines."""

    rc: int
    results: list[dict[str, Any]]
    output: str

    def step(self, name: str) -> dict[str, Any]:
        found = [r for r in self.results if r["step"] == name]
        assert len(found) == 1, f"step {name!r} reported {len(found)} times:\n{self.output}"
        return found[0]


def _mono(harness: Path, *args: str) -> MonoRun:
    proc = subprocess.run(
        ["mono", str(harness / "build" / "MonoWcfPeer.exe"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    out = proc.stdout[-3000:] + proc.stderr[-3000:]
    results = [
        json.loads(line[len("RESULT ") :]) for line in proc.stdout.splitlines() if line.startswith("RESULT ")
    ]
    assert results, out
    # A crash is never a verdict: an exception caught at the harness's top level (exit 2,
    # step "fatal") or an unhandled one (no RESULT, or another exit code) fails the test.
    assert not any(r["step"] == "fatal" for r in results), out
    return MonoRun(proc.returncode, results, f"exit {proc.returncode}\n{out}")


def _all_ok(run: MonoRun) -> None:
    """The peer's verdict decides: exit code 0 AND every RESULT ok."""
    assert run.rc == 0 and all(r["ok"] is True for r in run.results), run.output


#: Mono's one-shot variants (no security context) and what each sends (the harness's
#: ``Variants.Create``): AnonymousForCertificate, UserNameForCertificate (alice/secret) and
#: MutualCertificate (its ``client.pfx``), as a CustomBinding or as wsHttpBinding Message security.
ONE_SHOT = [
    "anoncert",
    "wshttp-msg-none-nosc",
    "userforcert",
    "wshttp-msg-user-nosc",
    "mutualcert",
    "wshttp-msg-cert-nosc",
]


@pytest.mark.parametrize("variant", ONE_SHOT)
def test_mono_client_calls_wssc_service(
    mono_harness: Path, wssc_service: Callable[..., tuple[str, Path]], variant: str
) -> None:
    url, log = wssc_service(variant)
    run = _mono(mono_harness, "call", variant, url, "--certs", str(mono_harness / "certs"))
    _all_ok(run)
    assert run.step("Echo#1")["detail"] == "echo:hello"
    assert run.step("Add#2")["detail"] == "5"
    assert run.step("Echo#3")["detail"] == "echo:again"
    assert "fault" not in log.read_text(), log.read_text()


@pytest.mark.parametrize("variant", ["mutualcert", "wshttp-msg-cert-nosc"])
def test_wssc_service_refuses_monos_untrusted_client_certificate(
    mono_harness: Path, wssc_service: Callable[..., tuple[str, Path]], variant: str, tmp_path: Path
) -> None:
    """The service trusts another certificate than Mono's ``client.pfx``: Mono's verdict is a
    fault for each call (exit code not 0), and the service logs which check refused it."""
    from wssc.certs import generate_self_signed, save

    other = tmp_path / "other.pem"
    save(generate_self_signed("not-mono"), other, tmp_path / "other-key.pem")
    url, log = wssc_service(variant, str(other))
    run = _mono(mono_harness, "call", variant, url, "--certs", str(mono_harness / "certs"))
    assert run.rc != 0, run.output
    for step in ("Echo#1", "Add#2", "Echo#3"):
        assert run.step(step)["ok"] is False and "FaultException" in run.step(step)["detail"], run.output
    text = log.read_text()
    assert "'CN=wcf-client' was refused" in text, text


def test_mono_sc_initiator_accepts_wssc_rstr(
    mono_harness: Path, wssc_service: Callable[..., tuple[str, Path]], tmp_path: Path
) -> None:
    """Mono's hand-made SC initiator sends an RST/SCT Issue; its verdict on wssc's RSTR (its
    security layer verifies and decrypts it, then it reads the SCT and computes the key) must
    be ok, with exit code 0. Only the Issue step: Mono cannot use the SCT afterwards."""
    url, log = wssc_service("sc-anoncert-cancel")
    saved = tmp_path / "mono-log"
    run = _mono(
        mono_harness,
        "rst",
        "sc-anoncert-cancel",
        url,
        "--certs",
        str(mono_harness / "certs"),
        "--log",
        str(saved),
        "--app",
        "no",
    )
    _all_ok(run)
    assert "ComputedKey" in run.step("issue")["detail"]
    assert "issued SCT" in log.read_text()
    reply = (saved / "002-rst-issue-reply.xml").read_text(encoding="utf-8-sig")
    # Mono's security channel verified the signature and decrypted the Body: the saved reply
    # holds the RSTR in clear.
    assert "RequestSecurityTokenResponse" in reply and "SecurityContextToken" in reply
    assert "EncryptedData" not in reply.split("<s:Body", 1)[1]


@pytest.fixture
def mono_service(mono_harness: Path, tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """Mono's service for ``variant``; its message inspector saves each request as its security
    layer passed it (verified, decrypted) into ``tmp_path/mono-msgs-<variant>``."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(variant: str) -> str:
        port = _free_port()
        log = tmp_path / f"mono-{variant}.log"
        proc = subprocess.Popen(
            [
                "mono",
                str(mono_harness / "build" / "MonoWcfPeer.exe"),
                "serve",
                variant,
                str(port),
                "--seconds",
                "120",
                "--certs",
                str(mono_harness / "certs"),
                "--log",
                str(tmp_path / f"mono-msgs-{variant}"),
            ],
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        procs.append(proc)
        deadline = time.monotonic() + 60
        while "READY" not in log.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(log.read_text(errors="replace"))
            time.sleep(0.1)
        return f"http://127.0.0.1:{port}/svc"

    yield start
    for p in procs:
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()


@pytest.mark.parametrize("variant", ONE_SHOT)
def test_wssc_client_calls_mono_service(
    mono_harness: Path, mono_service: Callable[[str], str], variant: str, tmp_path: Path
) -> None:
    """wssc's client (no security context; the variant's bootstrap and credentials) calls
    Mono's WCF service and verifies Mono's replies (SignatureConfirmation included). Mono's
    verdict: its dispatcher saw each request after its security layer verified and decrypted
    it (the body in clear, with the client's credential), and answered."""
    sys.path.insert(0, str(HERE))
    from mono_service import BOOTSTRAP_OF, Echo

    from wssc.bootstrap.registry import ClientCredentials
    from wssc.certs import load
    from wssc.client import Client
    from wssc.contract import get_contract
    from wssc.settings import (
        MONO_COMPATIBLE,
        Bootstrap,
        EndpointSettings,
        SecureConversationSettings,
    )

    certs = mono_harness / "certs"
    bootstrap = BOOTSTRAP_OF.get(variant, Bootstrap.ANONYMOUS_FOR_CERTIFICATE)
    url = mono_service(variant)
    settings = EndpointSettings(
        SecureConversationSettings(bootstrap=bootstrap, establish_security_context=False)
    )
    credentials = ClientCredentials(service_certificate=load(certs / "server.crt"))
    if bootstrap is Bootstrap.USERNAME_FOR_CERTIFICATE:
        credentials = ClientCredentials.of(credentials, username="alice", password="secret")
    if bootstrap is Bootstrap.MUTUAL_CERTIFICATE:
        credentials = ClientCredentials.of(
            credentials, certificate=load(certs / "client.crt", certs / "client.key")
        )
    with Client(
        url, get_contract(Echo), settings=settings, credentials=credentials, compatibility=MONO_COMPATIBLE
    ) as c:
        assert c.Echo(text="from wssc") == "echo:from wssc"
        assert c.Add(a=2, b=40) == 42
    seen = sorted((tmp_path / f"mono-msgs-{variant}").glob("*svc-app-request*"))
    assert len(seen) == 2, seen
    first = seen[0].read_text(encoding="utf-8-sig")
    assert "from wssc" in first.split("Body", 1)[1], first
    if bootstrap is Bootstrap.USERNAME_FOR_CERTIFICATE:
        assert "UsernameToken" in first, first
    if bootstrap is Bootstrap.MUTUAL_CERTIFICATE:
        assert "BinarySecurityToken" in first, first
