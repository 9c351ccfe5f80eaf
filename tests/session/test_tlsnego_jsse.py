"""TLSNEGO's TLS against a second TLS implementation: the JDK's JSSE (``SSLEngine``, in
`tls_peer/TlsPeer.java`), on one side of whole wssc sessions, Python's ``ssl`` (OpenSSL) on the
other.

No peer here speaks TLSNEGO, so the JDK stands in for Schannel at the TLS layer: the test swaps
the TLS object of one half of `wssc.bootstrap.tlsnego` (service or client) for a JSSE engine
driven over a pipe, and everything else (the WS-Trust legs, the TLS_Wrap of the proof key, the
authenticator, the RST/SCT, calls, renew, cancel) runs as in production. The BinaryExchange
blobs are therefore real TLS records that an independent stack produced or accepted, and the
proof key was sealed by one stack and opened by the other.
"""

from __future__ import annotations

import base64
import shutil
import ssl
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12

import wssc.bootstrap.tlsnego as tlsnego
from java_launch import java_argv
from wssc.bootstrap.registry import ClientCredentials, ServiceCredentials
from wssc.certs import Certificate, generate_self_signed
from wssc.client import Client
from wssc.contract import get_contract
from wssc.demo import Calculator
from wssc.security.x509_validation import CertificateValidator
from wssc.service.engine import ServiceEngine
from wssc.service.wsgi import WsgiApp
from wssc.settings import (
    WS2007,
    WSHTTP,
    Bootstrap,
    EndpointSettings,
    MessageSecurityVersion,
    SecureConversationSettings,
)

ADDRESS = "http://svc.wssc.test/svc"
PEER_SOURCE = Path(__file__).parent / "tls_peer" / "TlsPeer.java"
P12_PASSWORD = "tls-peer"


@pytest.fixture(scope="module")
def peer_classes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    javac = shutil.which("javac")
    assert javac is not None, "the JDK (javac) is needed: scripts/setup.sh installs it"
    out = tmp_path_factory.mktemp("tls_peer")
    subprocess.run([javac, "-d", str(out), str(PEER_SOURCE)], check=True, timeout=120)
    return out


def p12(cert: Certificate, path: Path) -> Path:
    assert cert.key is not None
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"peer", cert.key, cert.cert, None, BestAvailableEncryption(P12_PASSWORD.encode())
        )
    )
    return path


class _NoPending:
    pending = 0


class JsseTls:
    """`wssc.bootstrap.tlsnego._Tls`'s interface over a JSSE engine in a child JVM."""

    def __init__(
        self, classes: Path, server: bool, protocols: str, keystore: Path | None, need_auth: bool
    ) -> None:
        args = java_argv("TlsPeer", "server" if server else "client", protocols, classpath=[classes])
        if keystore is not None:
            args += [str(keystore), P12_PASSWORD]
        if need_auth:
            args.append("need-client-auth")
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.done = False
        self.incoming = _NoPending()
        self.obj = self
        self.protocol = ""

    def _ask(self, line: str) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().strip()
        if not answer or answer.startswith("ERROR"):
            raise ssl.SSLError(f"the JSSE peer failed on {line.split()[0]}")
        return answer

    @staticmethod
    def _b64(data: bytes | None) -> str:
        return base64.b64encode(data).decode() if data else "-"

    @staticmethod
    def _bytes(text: str) -> bytes:
        return b"" if text == "-" else base64.b64decode(text)

    def step(self, data: bytes | None) -> bytes:
        out, state = self._ask(f"HS {self._b64(data)}").split()
        self.done = state == "done"
        if self.done:
            self.protocol = self._ask("INFO").split()[0]
        return self._bytes(out)

    def peer_certificate(self) -> x509.Certificate | None:
        der = self._bytes(self._ask("PEER"))
        return x509.load_der_x509_certificate(der) if der else None

    def seal(self, data: bytes) -> bytes:
        return self._bytes(self._ask(f"WRAP {data.hex()}"))

    def open(self, record: bytes) -> bytes:
        return bytes.fromhex(self._ask(f"UNWRAP {self._b64(record)}"))

    def post_handshake(self, data: bytes) -> None:
        raise AssertionError("wssc's service sends no post-handshake records")

    def version(self) -> str:
        return self.protocol

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


@pytest.fixture
def jsse(peer_classes: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., list[JsseTls]]]:
    """``jsse(side, protocols, keystore=None, need_auth=False)``: from now on the ``side``
    ("service" or "client") of every TLSNEGO negotiation runs its TLS on JSSE; returns the list
    of the engines made."""
    made: list[JsseTls] = []
    real = tlsnego._Tls

    def use(
        side: str, protocols: str, keystore: Path | None = None, need_auth: bool = False
    ) -> list[JsseTls]:
        def make(ctx: ssl.SSLContext, server: bool) -> object:
            if server == (side == "service"):
                t = JsseTls(peer_classes, server, protocols, keystore, need_auth)
                made.append(t)
                return t
            return real(ctx, server)

        monkeypatch.setattr(tlsnego, "_Tls", make)
        return made

    yield use
    for t in made:
        t.close()


def settings_for(bootstrap: Bootstrap, family: MessageSecurityVersion) -> EndpointSettings:
    return EndpointSettings(
        secure_conversation=SecureConversationSettings(bootstrap=bootstrap, message_security_version=family)
    )


def run_session(
    settings: EndpointSettings, service: ServiceCredentials, client: ClientCredentials
) -> tuple[list[str], str]:
    engine = ServiceEngine(Calculator(), settings=settings, address=ADDRESS, credentials=service)
    http = httpx.Client(transport=httpx.WSGITransport(app=WsgiApp(engine)))
    events: list[str] = []
    with Client(
        ADDRESS,
        get_contract(Calculator),
        settings=settings,
        credentials=client,
        http=http,
        on_event=lambda e, d: events.append(e),
    ) as c:
        assert c.Add(a=2, b=3) == 5
        sct = c.session.sct
        assert sct is not None
        record = engine.sessions.store.get(sct.identifier)
        assert record is not None
        identity = record.identity
        c.renew()
        assert c.Add(a=4, b=5) == 9
    assert len(engine.sessions.store) == 0
    return events, identity


SERVICE_CERT = generate_self_signed("svc.wssc.test")
CLIENT_CERT = generate_self_signed("client.wssc.test")
VERSIONS = {"tls12": "TLSv1.2", "tls13": "TLSv1.3"}


@pytest.mark.parametrize("family", [WSHTTP, WS2007], ids=lambda f: f.name)
@pytest.mark.parametrize("version", list(VERSIONS))
def test_jsse_service_side_with_wssc_client(
    jsse: Callable[..., list[JsseTls]], tmp_path: Path, family: MessageSecurityVersion, version: str
) -> None:
    """JSSE answers the handshake and seals the proof key; wssc's client (Python ssl) validates
    the certificate it presented, opens the key and checks the authenticator."""
    made = jsse("service", VERSIONS[version], p12(SERVICE_CERT, tmp_path / "svc.p12"))
    events, identity = run_session(
        settings_for(Bootstrap.TLSNEGO, family),
        ServiceCredentials(certificate=SERVICE_CERT),
        ClientCredentials(service_certificate=SERVICE_CERT),
    )
    assert events[:3] == ["negotiate", "negotiate", "issue"] and identity == ""
    assert [t.protocol for t in made] == [VERSIONS[version]]


@pytest.mark.parametrize("family", [WSHTTP, WS2007], ids=lambda f: f.name)
@pytest.mark.parametrize("version", list(VERSIONS))
def test_jsse_client_side_with_wssc_service(
    jsse: Callable[..., list[JsseTls]], family: MessageSecurityVersion, version: str
) -> None:
    """JSSE makes the ClientHello and the client's flights and opens the TLS_Wrap record the
    wssc service (Python ssl) sealed; the certificate JSSE saw is the service's."""
    made = jsse("client", VERSIONS[version])
    events, _ = run_session(
        settings_for(Bootstrap.TLSNEGO, family),
        ServiceCredentials(certificate=SERVICE_CERT),
        ClientCredentials(service_certificate=SERVICE_CERT),
    )
    assert events[:3] == ["negotiate", "negotiate", "issue"]
    assert [t.protocol for t in made] == [VERSIONS[version]]
    seen = made[0].peer_certificate()
    assert seen is not None and seen == SERVICE_CERT.cert


@pytest.mark.parametrize("version", list(VERSIONS))
def test_mutual_with_a_jsse_client_certificate(
    jsse: Callable[..., list[JsseTls]], tmp_path: Path, version: str
) -> None:
    """MutualSslNegotiated: JSSE presents the client certificate the wssc service asked for in
    the handshake; the service's validator accepts it and names the session after it."""
    jsse("client", VERSIONS[version], p12(CLIENT_CERT, tmp_path / "client.p12"))
    _, identity = run_session(
        settings_for(Bootstrap.MUTUAL_SSL, WS2007),
        ServiceCredentials(
            certificate=SERVICE_CERT,
            client_certificate_validator=CertificateValidator.peer_trust(CLIENT_CERT.cert),
        ),
        ClientCredentials(service_certificate=SERVICE_CERT, certificate=CLIENT_CERT),
    )
    assert identity == CLIENT_CERT.subject


@pytest.mark.parametrize("version", list(VERSIONS))
def test_mutual_with_a_jsse_service_asking_for_the_certificate(
    jsse: Callable[..., list[JsseTls]], tmp_path: Path, version: str
) -> None:
    """The other way round: JSSE requires a client certificate, and wssc's client (Python ssl)
    sends its own in the first handshake."""
    made = jsse("service", VERSIONS[version], p12(SERVICE_CERT, tmp_path / "svc.p12"), True)
    _, identity = run_session(
        settings_for(Bootstrap.MUTUAL_SSL, WSHTTP),
        ServiceCredentials(
            certificate=SERVICE_CERT,
            client_certificate_validator=CertificateValidator.peer_trust(CLIENT_CERT.cert),
        ),
        ClientCredentials(service_certificate=SERVICE_CERT, certificate=CLIENT_CERT),
    )
    assert identity == CLIENT_CERT.subject  # the certificate JSSE received, as the service read it
    assert made[0].protocol == VERSIONS[version]
