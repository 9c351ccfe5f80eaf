"""End to end: a real `Client` validates the service certificate it encrypts to, through the
one seam (`CertificateValidator`), against a real service engine whose certificate a test CA
issued (root -> intermediate -> service certificate, made here with ``cryptography``).

- ChainTrust with the CA bundle: a session runs (issue, call, cancel).
- A certificate of another hierarchy: refused by the client's constructor, with a clear
  error, before a single byte reaches the network.
- No validator (today's users): the certificate given or from the WSDL identity is pinned,
  trusted as a peer, as before.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization

from core.pki import new_pki
from wssc.client import Client
from wssc.client.common import endpoint_from_wsdl
from wssc.contract import get_contract
from wssc.demo import Calculator
from wssc.errors import CertificateRejected
from wssc.security.x509_validation import CertificateValidator
from wssc.service.engine import ServiceEngine
from wssc.service.wsgi import WsgiApp

NOW = datetime.datetime.now(datetime.UTC)
PKI = new_pki("E2E", at=NOW)
OTHER = new_pki("Elsewhere", at=NOW)
ADDRESS = "http://service.example/svc"


def served(certificate_holder: object) -> tuple[ServiceEngine, httpx.Client, list[httpx.Request]]:
    """An engine with ``certificate_holder``'s certificate, behind an in-process transport
    that records every request the client sends."""
    engine = ServiceEngine(Calculator(), address=ADDRESS, certificate=certificate_holder.certificate)  # type: ignore[attr-defined]
    app = httpx.WSGITransport(app=WsgiApp(engine))  # type: ignore[arg-type]
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return app.handle_request(request)

    return engine, httpx.Client(transport=httpx.MockTransport(handler)), sent


def ca_bundle(tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    pem = serialization.Encoding.PEM
    path.write_bytes(PKI.root.cert.public_bytes(pem) + PKI.intermediate.cert.public_bytes(pem))
    return path


def test_chain_trust_to_the_ca_bundle_runs_a_session(tmp_path: Path) -> None:
    service = PKI.leaf("service.example")
    _, http, sent = served(service)
    validator = CertificateValidator.chain_trust(ca_bundle(tmp_path))
    with Client(
        ADDRESS,
        get_contract(Calculator),
        http=http,
        service_certificate=service.public,
        service_certificate_validator=validator,
    ) as c:
        assert c.Add(a=2, b=3) == 5
    assert len(sent) == 3  # issue, call, cancel


def test_a_certificate_the_ca_did_not_issue_is_refused_before_anything_is_sent(
    tmp_path: Path,
) -> None:
    impostor = OTHER.leaf("service.example")  # same name, another hierarchy
    _, http, sent = served(impostor)
    validator = CertificateValidator.chain_trust(ca_bundle(tmp_path))
    with pytest.raises(CertificateRejected) as info:
        Client(
            ADDRESS,
            get_contract(Calculator),
            http=http,
            service_certificate=impostor.public,
            service_certificate_validator=validator,
        )
    text = str(info.value) + "".join(getattr(info.value, "__notes__", []))
    assert "ChainTrust" in text and "CN=service.example" in text
    assert "no valid chain to a trusted authority" in text
    assert "nothing was sent" in text and "chain_trust" in text  # the hint
    assert sent == []


def test_the_wsdl_identity_is_validated_like_a_given_certificate(tmp_path: Path) -> None:
    """The certificate embedded in the WSDL (wsid:Identity) goes through the same seam: pinned
    by default, held to the CA when a ChainTrust validator is given."""
    impostor = OTHER.leaf("service.example")
    engine, http, sent = served(impostor)
    ep = endpoint_from_wsdl(engine.wsdl(), ADDRESS + "?wsdl")
    assert ep.certificate is not None and ep.certificate.der == impostor.public.der
    with Client(
        ep.address, ep.contract, settings=ep.settings, http=http, service_certificate=ep.certificate
    ) as c:  # default: pinned, as before
        assert c.Add(a=1, b=1) == 2
    sent.clear()
    with pytest.raises(CertificateRejected, match="ChainTrust"):
        Client(
            ep.address,
            ep.contract,
            settings=ep.settings,
            http=http,
            service_certificate=ep.certificate,
            service_certificate_validator=CertificateValidator.chain_trust(ca_bundle(tmp_path)),
        )
    assert sent == []


def test_a_pinned_certificate_that_expired_is_refused() -> None:
    """Pinning is PeerTrust of that certificate: its validity still counts."""
    expired = PKI.leaf(
        "service.example",
        not_before=NOW - datetime.timedelta(days=30),
        not_after=NOW - datetime.timedelta(days=1),
    )
    _, http, sent = served(PKI.leaf("service.example"))
    with pytest.raises(CertificateRejected, match=r"PeerTrust: .* expired at"):
        Client(ADDRESS, get_contract(Calculator), http=http, service_certificate=expired.public)
    assert sent == []
