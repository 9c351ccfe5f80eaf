"""Following ``sp:Issuer``, sans network: where the metadata is looked for, the STS endpoint
chosen, and each refusal (no issuer, metadata unreadable or too large, a binding wssc cannot
sign in to) with its typed error."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest
from lxml import etree

from wssc.bootstrap.registry import policy_for
from wssc.client.issuer import IssuerPlan, _fetch_metadata, choose_endpoint, exchange_for, pending
from wssc.errors import (
    ConfigurationError,
    IssuerBindingUnsupported,
    IssuerMetadataUnavailable,
    IssuerUnknown,
)
from wssc.policy.mex import metadata_root
from wssc.service.sts_metadata import get_response, metadata_element, sts_settings, sts_wsdl
from wssc.settings import WS2007, Bootstrap, SecureConversationSettings
from wssc.xml import ns
from wssc.xml.soap import Envelope

STS = "https://sts.test/sts"
RP = "https://rp.test/svc"
FED = SecureConversationSettings(bootstrap=Bootstrap.ISSUED_TOKEN, message_security_version=WS2007)


def test_plan_urls_and_override() -> None:
    plan = IssuerPlan.of(replace(FED, issuer_address=STS, issuer_metadata=STS + "/mex"), RP)
    assert plan.urls() == [(STS + "/mex", True), (STS + "/mex", False), (STS + "?wsdl", False)]
    assert IssuerPlan.of(replace(FED, issuer_address=STS), RP).urls() == [(STS + "?wsdl", False)]
    assert IssuerPlan.of(FED, RP, sts="https://other/sts").address == "https://other/sts"
    with pytest.raises(IssuerUnknown, match="names no issuer"):
        IssuerPlan.of(FED, RP)


def test_pending_only_without_a_token() -> None:
    assert pending(SecureConversationSettings(), RP, {}, None) is None  # not federated
    plan = pending(replace(FED, issuer_address=STS), RP, {"username": "a", "password": "b"}, None)
    assert plan is not None and plan[0].address == STS and plan[1:] == ("a", "b")


def _wsdl_with(settings: SecureConversationSettings) -> bytes:
    root = sts_wsdl(STS, ns.TRUST_V13)
    old = root.find(f"{{{ns.WSP15}}}Policy")
    assert old is not None
    new = policy_for(settings, policy_id=str(old.get(ns.qn(ns.WSU, "Id"))))
    root.replace(old, new)
    return etree.tostring(root)


def test_choose_the_sts_endpoint_and_its_family() -> None:
    plan = IssuerPlan(STS, None, RP)
    ep = choose_endpoint(etree.tostring(sts_wsdl(STS, ns.TRUST_FEB2005)), plan)
    ex = exchange_for(ep, plan, "alice", "secret")
    assert ex.trust == ns.TRUST_FEB2005 and ex.address == STS and ex.applies_to == RP
    with pytest.raises(ConfigurationError, match="username and password"):
        exchange_for(ep, plan, None, None)


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        (
            SecureConversationSettings(bootstrap=Bootstrap.ANONYMOUS_FOR_CERTIFICATE),
            "AnonymousForCertificate",
        ),
        (
            replace(sts_settings(ns.TRUST_V13), establish_security_context=True),
            "EstablishSecurityContext=true",
        ),
    ],
)
def test_a_binding_wssc_cannot_sign_in_to_is_named(settings: SecureConversationSettings, named: str) -> None:
    with pytest.raises(IssuerBindingUnsupported) as err:
        choose_endpoint(_wsdl_with(settings), IssuerPlan(STS, None, RP))
    assert named in str(err.value) and "offers no endpoint at the issuer's address" in str(err.value)


def _client(handler: httpx.MockTransport) -> httpx.Client:
    return httpx.Client(transport=handler)


def test_mex_answer_is_read_like_the_wsdl() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.method == "POST" and ns.MEX_GET_ACTION.encode() in request.content
        get = Envelope(etree.fromstring(request.content))
        body = etree.tostring(get_response(get, sts_wsdl(STS, ns.TRUST_V13)))
        return httpx.Response(200, stream=httpx.ByteStream(body))

    plan = IssuerPlan(STS, STS + "/mex", RP)
    with _client(httpx.MockTransport(answer)) as h:
        ep = _fetch_metadata(plan, h)
    assert ep.address == STS and ep.settings.message_security_version.name == "ws2007"
    assert metadata_root(metadata_element(sts_wsdl(STS, ns.TRUST_V13))) is not None


def test_unreadable_metadata_names_every_try() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url}")
        if request.method == "POST":
            return httpx.Response(404)
        return httpx.Response(200, stream=httpx.ByteStream(b"<html>not metadata</html>"))

    plan = IssuerPlan(STS, STS + "/mex", RP)
    with _client(httpx.MockTransport(answer)) as h, pytest.raises(IssuerMetadataUnavailable) as err:
        _fetch_metadata(plan, h)
    assert seen == [f"POST {STS}/mex", f"GET {STS}/mex", f"GET {STS}?wsdl"]
    text = str(err.value)
    assert "HTTP 404" in text and text.count("sts.test/") >= 3


def test_oversized_metadata_is_not_read_past_the_cap() -> None:
    """A lying STS streams more than one WSDL document may hold: the read stops at the cap
    (one `WsdlBudget` for every try) and the error says so."""
    sent: list[int] = []

    def endless() -> httpx.SyncByteStream:
        class Stream(httpx.SyncByteStream):
            def __iter__(self):  # type: ignore[no-untyped-def]
                chunk = b"<a>" + b"x" * 65536
                for _ in range(1000):  # 64 MB if nothing stopped it
                    sent.append(len(chunk))
                    yield chunk

        return Stream()

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=endless())

    with _client(httpx.MockTransport(answer)) as h, pytest.raises(IssuerMetadataUnavailable) as err:
        _fetch_metadata(IssuerPlan(STS, None, RP), h)
    assert "larger than" in str(err.value)
    assert sum(sent) < 6 * 1024 * 1024  # the 4 MiB cap and a chunk, not the 64 MB offered
