"""`wssc sts`'s metadata: the WSDL of its Issue operation (``?wsdl``) and the same WSDL in a
WS-MetadataExchange GetResponse, read back with the client's own policy import."""

from __future__ import annotations

import hmac
import logging

import httpx
import pytest
from lxml import etree

from wssc.bootstrap.registry import settings_from_wsdl
from wssc.certs import Certificate
from wssc.policy.mex import get_request, metadata_root, metadata_sections
from wssc.service.sts import SecurityTokenService, sts_app
from wssc.service.sts_metadata import sts_wsdl
from wssc.settings import Bootstrap
from wssc.xml import ns
from wssc.xml.ns import TrustVersion

ADDRESS = "https://sts.test:8443/sts"
W = ns.WSDL


def users(name: str, password: str) -> bool:
    return name == "alice" and hmac.compare_digest(password, "secret")


def make_sts(sts_cert: Certificate, rp_cert: Certificate, trust: TrustVersion) -> SecurityTokenService:
    rps = {"https://rp.test/": rp_cert}
    return SecurityTokenService(
        signer=sts_cert, issuer="https://sts.test/", relying_parties=rps, validator=users, trust=trust
    )


@pytest.mark.parametrize(
    ("trust", "port_type", "op", "reply", "reply_action", "family", "supporting"),
    [
        (
            ns.TRUST_V13,
            "IWSTrust13Sync",
            "Trust13Issue",
            "RequestSecurityTokenResponseCollection",
            ns.TRUST_13 + "/RSTRC/IssueFinal",
            "ws2007",
            "SignedEncryptedSupportingTokens",
        ),
        (
            ns.TRUST_FEB2005,
            "IWSTrustFeb2005Sync",
            "TrustFeb2005Issue",
            "RequestSecurityTokenResponse",
            ns.TRUST_2005 + "/RSTR/Issue",
            "wshttp",
            "SignedSupportingTokens",
        ),
    ],
)
def test_wsdl_shape_and_policy_read_back(
    trust: TrustVersion,
    port_type: str,
    op: str,
    reply: str,
    reply_action: str,
    family: str,
    supporting: str,
) -> None:
    root = sts_wsdl(ADDRESS, trust)
    binding = f"UserNameWSTrustBinding_{port_type}"
    pt = root.find(f"{{{W}}}portType")
    assert pt is not None and pt.get("name") == port_type
    operation = pt.find(f"{{{W}}}operation")
    assert operation is not None and operation.get("name") == op
    inp, out = operation.find(f"{{{W}}}input"), operation.find(f"{{{W}}}output")
    assert inp is not None and out is not None
    assert inp.get(ns.qn(ns.WSAW, "Action")) == trust.ns + "/RST/Issue"
    assert out.get(ns.qn(ns.WSAW, "Action")) == reply_action
    parts = [p.get("element", "").split(":")[1] for p in root.iter(f"{{{W}}}part")]
    assert parts == ["RequestSecurityToken", reply]
    b = root.find(f"{{{W}}}binding")
    assert b is not None and b.get("name") == binding
    assert b[0].get("URI") == f"#{binding}_policy"
    policy = root.find(f"{{{ns.WSP15}}}Policy")
    assert policy is not None and policy.get(ns.qn(ns.WSU, "Id")) == f"{binding}_policy"
    sp = ns.SP12 if trust.ns == ns.TRUST_13 else ns.SP11
    assert policy.find(f".//{{{sp}}}TransportBinding") is not None
    assert policy.find(f".//{{{sp}}}{supporting}/*/{{{sp}}}UsernameToken") is not None
    assert policy.find(f".//{{{sp}}}SecureConversationToken") is None  # no security context

    ep = settings_from_wsdl(etree.tostring(root))
    assert ep.address == ADDRESS and ep.soap_version == "1.2"
    assert ep.settings.bootstrap == Bootstrap.USERNAME_OVER_TRANSPORT
    assert ep.settings.establish_security_context is False
    assert ep.settings.message_security_version.name == family
    assert [o.name for o in ep.operations] == [op]


def _tree(root: etree._Element) -> list[tuple[object, ...]]:
    """The document as names, attributes and text (prefixes may differ inside an envelope)."""
    return [(e.tag, sorted(e.attrib.items()), (e.text or "").strip()) for e in root.iter()]


async def _asgi(app: object, method: str, query: bytes = b"", body: bytes = b"") -> tuple[int, bytes]:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="https://sts.test:8443") as c:
        r = await c.request(method, "/sts" + ("?" + query.decode() if query else ""), content=body)
    return r.status_code, r.content


@pytest.mark.parametrize("trust", [ns.TRUST_V13, ns.TRUST_FEB2005], ids=["1.3", "feb2005"])
async def test_get_wsdl_and_mex_answer_the_same_document(
    sts_cert: Certificate, rp_cert: Certificate, trust: TrustVersion, caplog: pytest.LogCaptureFixture
) -> None:
    app = sts_app(make_sts(sts_cert, rp_cert, trust), address=ADDRESS)
    status, wsdl = await _asgi(app, "GET", b"wsdl")
    assert status == 200
    status, plain = await _asgi(app, "GET")
    assert status == 405 and b"?wsdl" in plain
    caplog.set_level(logging.INFO, "wssc.service")
    status, answer = await _asgi(app, "POST", body=get_request(ADDRESS))
    assert status == 200
    env = etree.fromstring(answer)
    action = env.find(f"{{{ns.SOAP12}}}Header/{{{ns.WSA10}}}Action")
    assert action is not None and action.text == ns.MEX_GET_RESPONSE_ACTION
    md = metadata_root(env)
    assert md is not None
    wsdls, _schemas = metadata_sections(md)
    assert _tree(wsdls[0]) == _tree(etree.fromstring(wsdl))
    via_mex = settings_from_wsdl(etree.tostring(wsdls[0]))
    assert via_mex.address == ADDRESS
    assert via_mex.settings.bootstrap == Bootstrap.USERNAME_OVER_TRANSPORT
    assert "answered a metadata Get" in caplog.text


async def test_default_address_is_the_listening_socket_not_the_host_header(
    sts_cert: Certificate, rp_cert: Certificate
) -> None:
    app = sts_app(make_sts(sts_cert, rp_cert, ns.TRUST_V13))
    transport = httpx.ASGITransport(app=app, client=("10.0.0.1", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="https://sts.test:8443") as c:
        r = await c.get("/sts?wsdl", headers={"host": "evil.example"})
    assert r.status_code == 200
    assert settings_from_wsdl(r.content).address == "https://sts.test:8443/sts"
    assert b"evil.example" not in r.content


async def test_an_rst_naming_the_get_action_elsewhere_still_needs_a_sign_in(
    sts_cert: Certificate, rp_cert: Certificate, caplog: pytest.LogCaptureFixture
) -> None:
    """Only an envelope whose wsa:Action is the Get is answered with metadata; anything else
    goes to the STS, which refuses an unsigned request with the generic fault."""
    app = sts_app(make_sts(sts_cert, rp_cert, ns.TRUST_V13), address=ADDRESS)
    body = (
        get_request(ADDRESS).replace(ns.MEX_GET_ACTION.encode(), ns.TRUST_13.encode() + b"/RST/Issue", 1)
        + b"<!-- "
        + ns.MEX_GET_ACTION.encode()
        + b" -->"
    )
    caplog.set_level(logging.INFO, "wssc.service")
    status, answer = await _asgi(app, "POST", body=body)
    assert status == 500 and b"InvalidSecurity" in answer and b"Metadata" not in answer
    assert "STS fault" in caplog.text and "answered a metadata Get" not in caplog.text
