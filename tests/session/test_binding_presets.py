"""WCF's standard bindings as presets (issue 17 item 5): ``WSHttpBinding()`` means SPNEGO, as
in WCF, and each (mode, credential, negotiate) picks WCF's bootstrap; one wssc does not speak is
refused by name."""

from __future__ import annotations

import httpx
import pytest

from kdc import PASSWORD, REALM, SERVICE, Kdc  # type: ignore[import-not-found]
from wssc import WS2007HttpBinding, WSHttpBinding
from wssc.bootstrap.bindings import wcf_bootstrap
from wssc.bootstrap.registry import BOOTSTRAPS, ClientCredentials, ServiceCredentials
from wssc.certs import Certificate, generate_self_signed
from wssc.client import Client
from wssc.contract import get_contract
from wssc.demo import Calculator
from wssc.errors import ConfigurationError
from wssc.service.engine import ServiceEngine
from wssc.service.wsgi import WsgiApp
from wssc.settings import WS2007, WSHTTP, Bootstrap

#: WCF's MessageSecurityOverHttp / the reference's bootstrap table, written out by hand.
WCF = {
    ("Message", "Windows", True): "SspiNegotiated",
    ("Message", "Windows", False): "Kerberos",
    ("Message", "UserName", True): "UserNameForSslNegotiated",
    ("Message", "UserName", False): "UserNameForCertificate",
    ("Message", "Certificate", True): "MutualSslNegotiated",
    ("Message", "Certificate", False): "MutualCertificate",
    ("Message", "None", True): "AnonymousForSslNegotiated",
    ("Message", "None", False): "AnonymousForCertificate",
    ("Message", "IssuedToken", True): "IssuedTokenForSslNegotiated",
    ("Message", "IssuedToken", False): "IssuedTokenForCertificate",
    ("TransportWithMessageCredential", "UserName", True): "UserNameOverTransport",
    ("TransportWithMessageCredential", "Certificate", True): "CertificateOverTransport",
    ("TransportWithMessageCredential", "Windows", True): "SspiNegotiatedOverTransport",
    ("TransportWithMessageCredential", "IssuedToken", True): "IssuedTokenOverTransport",
}


def test_the_defaults_are_wcfs_spnego() -> None:
    for preset, family in ((WSHttpBinding, WSHTTP), (WS2007HttpBinding, WS2007)):
        scs = preset().secure_conversation
        assert scs.bootstrap == Bootstrap("SspiNegotiated")
        assert scs.message_security_version is family
        assert scs.establish_security_context and scs.algorithm_suite == "Basic256"


@pytest.mark.parametrize(("mode", "credential", "negotiate"), list(WCF), ids=lambda v: str(v))
def test_each_combination_is_wcfs_bootstrap(mode: str, credential: str, negotiate: bool) -> None:
    wanted = Bootstrap(WCF[(mode, credential, negotiate)])
    assert wcf_bootstrap(mode, credential, negotiate) == wanted
    kw = {
        "security_mode": mode,
        "client_credential_type": credential,
        "negotiate_service_credential": negotiate,
    }
    if wanted in BOOTSTRAPS:
        assert WS2007HttpBinding(**kw).secure_conversation.bootstrap == wanted  # type: ignore[arg-type]
    else:
        with pytest.raises(ConfigurationError) as info:
            WS2007HttpBinding(**kw)  # type: ignore[arg-type]
        assert f"is WCF's {wanted.value} bootstrap, which wssc does not speak" in str(info.value)


@pytest.mark.parametrize(
    ("kw", "says"),
    [
        ({"security_mode": "Transport"}, "carries no message security"),
        ({"security_mode": "None"}, "carries no message security"),
        (
            {"security_mode": "TransportWithMessageCredential", "client_credential_type": "None"},
            "needs a client",
        ),
        ({"security_mode": "Mesage"}, "unknown security_mode 'Mesage'"),
        ({"client_credential_type": "Kerberos"}, "unknown client_credential_type 'Kerberos'"),
    ],
)
def test_what_is_not_a_secure_session_is_refused(kw: dict[str, str], says: str) -> None:
    with pytest.raises(ConfigurationError, match=says):
        WSHttpBinding(**kw)  # type: ignore[arg-type]


def test_other_settings_are_kept() -> None:
    from dataclasses import replace

    from wssc.settings import EndpointSettings

    base = replace(EndpointSettings(), soap_version="1.1")
    s = WSHttpBinding(client_credential_type="None", negotiate_service_credential=False, settings=base)
    assert s.soap_version == "1.1"
    assert s.secure_conversation.bootstrap == Bootstrap("AnonymousForCertificate")


def test_a_session_from_a_preset_without_negotiation() -> None:
    """``WSHttpBinding(client_credential_type="None", negotiate_service_credential=False)``:
    AnonymousForCertificate, a whole session in process."""
    cert = generate_self_signed("preset.test")
    settings = WSHttpBinding(client_credential_type="None", negotiate_service_credential=False)
    engine = ServiceEngine(
        Calculator(), settings=settings, address="http://preset.test/svc", certificate=cert
    )
    http = httpx.Client(transport=httpx.WSGITransport(app=WsgiApp(engine)))  # type: ignore[arg-type]
    with Client(
        "http://preset.test/svc",
        get_contract(Calculator),
        settings=settings,
        http=http,
        service_certificate=Certificate(cert.cert),
    ) as c:
        assert c.Add(a=40, b=2) == 42


def test_a_session_from_wcfs_default_binding_over_kerberos(kdc: Kdc) -> None:
    """``WSHttpBinding()``, WCF's defaults: SPNEGO against the real KDC."""
    settings = WSHttpBinding()
    engine = ServiceEngine(
        Calculator(),
        settings=settings,
        address="http://svc.wssc.test/svc",
        credentials=ServiceCredentials(kerberos_keytab=str(kdc.service_keytab)),
    )
    http = httpx.Client(transport=httpx.WSGITransport(app=WsgiApp(engine)))  # type: ignore[arg-type]
    creds = ClientCredentials(spn=SERVICE, username=f"alice@{REALM}", password=PASSWORD)
    with Client(
        "http://svc.wssc.test/svc", get_contract(Calculator), settings=settings, http=http, credentials=creds
    ) as c:
        assert c.Add(a=2, b=3) == 5
        sct = c.session.sct
        assert sct is not None
        record = engine.sessions.store.get(sct.identifier)
        assert record is not None and record.identity == f"alice@{REALM}"
