"""RST/RSTR XML: shapes per version, RSTRC wrapping, the §C.4 capture, strict parsing."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from lxml import etree

from wssc.errors import BadCloseTarget, InvalidRequest
from wssc.tokens import SecurityContextToken
from wssc.trust import (
    BinarySecret,
    CancelRequest,
    CancelResponse,
    ComputedKey,
    ContextTarget,
    IssueRequest,
    Lifetime,
    OpaqueProof,
    RenewRequest,
    SecretType,
    TokenResponse,
    parse_rst,
    parse_rstr,
    renewed_token,
)
from wssc.xml import ns
from wssc.xml.ns import ScVersion
from wssc.xml.parse import parse_xml

VERSIONS = [ns.SC_FEB2005, ns.SC_V13]
IDS = ["feb2005", "v13"]
T0 = 1_700_000_000.0


def wire(el: etree._Element) -> etree._Element:
    """Serialize and re-parse through the hardened parser, as on the wire."""
    return parse_xml(etree.tostring(el))


def xp(el: etree._Element, path: str, sc: ScVersion) -> list[etree._Element]:
    found = el.xpath(path, namespaces={"t": sc.trust.ns, "c": sc.ns, "o": ns.WSSE, "u": ns.WSU})
    assert isinstance(found, list)
    return [e for e in found if isinstance(e, etree._Element)]


def xs(el: etree._Element, path: str, sc: ScVersion) -> list[str]:
    found = el.xpath(path, namespaces={"t": sc.trust.ns, "c": sc.ns, "o": ns.WSSE, "u": ns.WSU})
    assert isinstance(found, list)
    return [str(v) for v in found]


def sct(instance: str | None = None) -> SecurityContextToken:
    return SecurityContextToken("urn:uuid:6ee2d642-484a-4e08-a9f4-a2bfe4f2d540", instance)


def token_response(sc: ScVersion, token: SecurityContextToken | None = None) -> TokenResponse:
    return TokenResponse.build(
        sc,
        token or sct(),
        lifetime=Lifetime(T0, T0 + 15 * 3600),
        proof=ComputedKey(),
        server_entropy=bytes(range(32)),
        key_size=256,
        context="uuid-ctx",
    )


# --- requests ------------------------------------------------------------------------------
@pytest.mark.parametrize("sc", VERSIONS, ids=IDS)
def test_issue_request_xml(sc: ScVersion) -> None:
    rst = IssueRequest(sc.sct_token_type, bytes(range(32)), 256, context="uuid-1")
    el = rst.to_xml(sc)
    assert el.tag == f"{{{sc.trust.ns}}}RequestSecurityToken"
    assert xs(el, "@Context", sc) == ["uuid-1"]
    assert xs(el, "t:TokenType/text()", sc) == [sc.sct_token_type]
    assert xs(el, "t:RequestType/text()", sc) == [sc.trust.issue]
    assert xs(el, "t:Entropy/t:BinarySecret/@Type", sc) == [sc.trust.nonce]
    secret = xs(el, "t:Entropy/t:BinarySecret/text()", sc)
    assert base64.b64decode(secret[0]) == bytes(range(32))
    assert xs(el, "t:KeySize/text()", sc) == ["256"]
    assert parse_rst(wire(el), sc.trust) == rst


@pytest.mark.parametrize("sc", VERSIONS, ids=IDS)
def test_issue_request_server_entropy_has_no_entropy(sc: ScVersion) -> None:
    from wssc.crypto import BASIC256
    from wssc.settings import KeyEntropyMode

    rst = IssueRequest.build(sc, BASIC256, KeyEntropyMode.SERVER)
    el = rst.to_xml(sc)
    assert xp(el, "t:Entropy", sc) == []
    assert xs(el, "t:KeySize/text()", sc) == ["256"]
    assert rst.entropy is None


@pytest.mark.parametrize("sc", VERSIONS, ids=IDS)
def test_renew_request_xml(sc: ScVersion) -> None:
    rst = RenewRequest.build(sc, sct("urn:uuid:gen-1"), context="c2")
    el = rst.to_xml(sc)
    assert xs(el, "t:RequestType/text()", sc) == [sc.trust.renew]
    ref = xp(el, "t:RenewTarget/o:SecurityTokenReference/o:Reference", sc)
    assert len(ref) == 1
    assert ref[0].get("URI") == sct().identifier
    assert ref[0].get("ValueType") == sc.sct_token_type
    assert ref[0].get(f"{{{sc.ns}}}Instance") == "urn:uuid:gen-1"
    assert len(xp(el, "t:Entropy/t:BinarySecret", sc)) == 1
    back = parse_rst(wire(el), sc.trust)
    assert isinstance(back, RenewRequest)
    assert back == rst
    assert back.target == ContextTarget(sct().identifier, "urn:uuid:gen-1")


@pytest.mark.parametrize("sc", VERSIONS, ids=IDS)
def test_cancel_request_xml(sc: ScVersion) -> None:
    token = sct("urn:uuid:gen-2")
    rst = CancelRequest.build(token)
    el = rst.to_xml(sc)
    assert xs(el, "t:RequestType/text()", sc) == [sc.trust.cancel]
    assert xp(el, "t:TokenType", sc) == []
    assert xs(el, "t:CancelTarget/o:SecurityTokenReference/o:Reference/@URI", sc) == [token.identifier]
    back = parse_rst(wire(el), sc.trust)
    assert isinstance(back, CancelRequest)
    assert back.target == ContextTarget.of(token)
    back.check_target(token)
    with pytest.raises(BadCloseTarget):
        back.check_target(sct("urn:uuid:other-generation"))
    with pytest.raises(BadCloseTarget):
        back.check_target(SecurityContextToken("urn:uuid:another-session", "urn:uuid:gen-2"))


def test_cancel_target_without_instance_means_the_signing_generation() -> None:
    """Metro (FINDINGS M6) names a renewed session without its Instance: taken as the
    generation that signed the Cancel. Another session, or another named Instance, is not."""
    renewed = sct("urn:uuid:gen-2")
    bare = CancelRequest(ContextTarget(renewed.identifier, None))
    bare.check_target(renewed)
    with pytest.raises(BadCloseTarget):
        bare.check_target(SecurityContextToken("urn:uuid:another-session", "urn:uuid:gen-2"))
    with pytest.raises(BadCloseTarget):
        CancelRequest(ContextTarget(renewed.identifier, "urn:uuid:gen-1")).check_target(renewed)


@pytest.mark.parametrize("sc", VERSIONS, ids=IDS)
def test_actions(sc: ScVersion) -> None:
    t = sc.trust
    assert (IssueRequest.action(t), IssueRequest.reply_action(t)) == (t.rst_sct, t.rstr_sct)
    assert (RenewRequest.action(t), RenewRequest.reply_action(t)) == (t.rst_sct_renew, t.rstr_sct_renew)
    assert (CancelRequest.action(t), CancelRequest.reply_action(t)) == (t.rst_sct_cancel, t.rstr_sct_cancel)
    assert CancelResponse.action(t) == t.rstr_sct_cancel


@pytest.mark.parametrize("sc", VERSIONS, ids=IDS)
def test_dispatch_by_action_without_request_type(sc: ScVersion) -> None:
    t = sc.trust
    el = CancelRequest.build(sct()).to_xml(sc)
    for rt in xp(el, "t:RequestType", sc):
        el.remove(rt)
    assert isinstance(parse_rst(wire(el), t, t.rst_sct_cancel), CancelRequest)
    with pytest.raises(InvalidRequest):
        parse_rst(wire(el), t)  # no action, no RequestType
    issue = IssueRequest.build(sc).to_xml(sc)
    with pytest.raises(InvalidRequest):
        parse_rst(wire(issue), t, t.rst_sct_renew)  # RequestType Issue vs Renew action
    with pytest.raises(InvalidRequest):
        parse_rst(wire(issue), t, "urn:not-an-action")


# --- responses -----------------------------------------------------------------------------
def test_rstrc_wrapping_only_for_trust_13() -> None:
    v13, feb = ns.SC_V13, ns.SC_FEB2005
    for body in (token_response(v13).to_xml(v13), CancelResponse("c").to_xml(v13)):
        assert body.tag == f"{{{ns.TRUST_13}}}RequestSecurityTokenResponseCollection"
        assert len(xp(body, "t:RequestSecurityTokenResponse", v13)) == 1
        assert len(xp(body, "*", v13)) == 1
    renew = token_response(v13, renewed_token(sct())).to_xml(v13)
    assert (
        len(xp(renew, "/t:RequestSecurityTokenResponseCollection/t:RequestSecurityTokenResponse", v13)) == 1
    )
    for body in (
        token_response(feb).to_xml(feb),
        CancelResponse("c").to_xml(feb),
        token_response(feb, renewed_token(sct())).to_xml(feb),
    ):
        assert body.tag == f"{{{ns.TRUST_2005}}}RequestSecurityTokenResponse"
        assert xp(body, "//*[local-name()='RequestSecurityTokenResponseCollection']", feb) == []
    # explicit override
    assert etree.QName(token_response(feb).to_xml(feb, wrap=True)).localname.endswith("Collection")
    assert etree.QName(token_response(v13).to_xml(v13, wrap=False)).localname == (
        "RequestSecurityTokenResponse"
    )


@pytest.mark.parametrize("sc", VERSIONS, ids=IDS)
def test_token_response_xml(sc: ScVersion) -> None:
    token = sct()
    body = token_response(sc, token).to_xml(sc)
    rstr = body if sc is ns.SC_FEB2005 else xp(body, "t:RequestSecurityTokenResponse", sc)[0]
    assert rstr.get("Context") == "uuid-ctx"
    assert xs(rstr, "t:TokenType/text()", sc) == [sc.sct_token_type]
    assert xs(rstr, "t:RequestedSecurityToken/c:SecurityContextToken/c:Identifier/text()", sc) == [
        token.identifier
    ]
    attached = xp(rstr, "t:RequestedAttachedReference/o:SecurityTokenReference/o:Reference", sc)
    assert attached[0].get("URI") == "#" + token.wsu_id
    unattached = xp(rstr, "t:RequestedUnattachedReference/o:SecurityTokenReference/o:Reference", sc)
    assert unattached[0].get("URI") == token.identifier
    assert unattached[0].get("ValueType") == sc.sct_token_type
    assert xs(rstr, "t:RequestedProofToken/t:ComputedKey/text()", sc) == [sc.trust.ck_psha1]
    assert xs(rstr, "t:Entropy/t:BinarySecret/@Type", sc) == [sc.trust.nonce]
    assert xs(rstr, "t:Lifetime/u:Created/text()", sc) == ["2023-11-14T22:13:20.000Z"]
    assert xs(rstr, "t:Lifetime/u:Expires/text()", sc) == ["2023-11-15T13:13:20.000Z"]
    assert xs(rstr, "t:KeySize/text()", sc) == ["256"]
    back = parse_rstr(wire(body), sc.trust)
    assert isinstance(back, TokenResponse)
    assert back.token == token
    assert back.entropy == bytes(range(32))
    assert back.key_size == 256
    assert back.lifetime == Lifetime(T0, T0 + 15 * 3600)
    assert back.proof == ComputedKey(sc.trust.ck_psha1)
    assert back.unattached_reference is not None
    assert back.unattached_reference.uri == token.identifier


@pytest.mark.parametrize("sc", VERSIONS, ids=IDS)
def test_renew_response_carries_new_instance(sc: ScVersion) -> None:
    old = sct("urn:uuid:gen-1")
    new = renewed_token(old)
    assert new.identifier == old.identifier and new.instance not in (None, old.instance)
    body = token_response(sc, new).to_xml(sc)
    back = parse_rstr(wire(body), sc.trust)
    assert isinstance(back, TokenResponse)
    assert back.token.identifier == old.identifier
    assert back.token.instance == new.instance
    ref = back.unattached_reference
    assert ref is not None and ref.instance == new.instance and ref.instance_ns == sc.ns


@pytest.mark.parametrize("sc", VERSIONS, ids=IDS)
def test_cancel_response(sc: ScVersion) -> None:
    body = CancelResponse("uuid-c").to_xml(sc)
    assert len(xp(body, "//t:RequestedTokenCancelled", sc)) == 1
    assert parse_rstr(wire(body), sc.trust) == CancelResponse("uuid-c")


@pytest.mark.parametrize("sc", VERSIONS, ids=IDS)
def test_server_entropy_proof_xml(sc: ScVersion) -> None:
    key = bytes(range(1, 33))
    body = TokenResponse.build(
        sc,
        sct(),
        lifetime=None,
        proof=BinarySecret(key, SecretType.SYMMETRIC_KEY),
        server_entropy=None,
        key_size=256,
    ).to_xml(sc)
    assert xs(body, "//t:RequestedProofToken/t:BinarySecret/@Type", sc) == [sc.trust.symmetric_key]
    assert xp(body, "//t:Entropy", sc) == []
    back = parse_rstr(wire(body), sc.trust)
    assert isinstance(back, TokenResponse)
    assert back.proof == BinarySecret(key, SecretType.SYMMETRIC_KEY)


# --- the captured Feb 2005 RSTR (reference §C.4, mono WSSecurityTokenSerializerTest,
# captured from .NET 3.0: TLSNEGO final RSTR with a cookie-mode SCT) -------------------------
C4_COOKIE = (
    "AQAAANCMnd8BFdERjHoAwE/Cl+sBAAAAbwpVqF25WkyFYDXHavE7SwAAAAACAAAAAAADZgAAqAAAABAAAAD+ZtWd8ML"
    "aBeaMn+xLvyAhAAAAAASAAACgAAAAEAAAAKxhFZ5l669I+hLsZTunH12gAAAAQKjqxZo4eRtLLRO0kA0qHCNaazWddGbV"
    "dVzeMY8uIjBgl6UAMroZ6N5MAsACNbKLcYfdtEvZa1P1MTT+8dpsnWRCy5/UcQkg6mlrBAkYzEMYT8yNxRF/xEIXMpRA"
    "B5e2De4tUTFwIBIRBBKoay+oWP1M4Hcq7C8HDAqOjNyMOAUILIcz5hMFjtBDwJ4EfogiUVr02xGiXoHqEodxT75wKxQA"
    "AABQ3v/KgM1WGIDVcDypm1sNE6SASQ=="
)
C4_RSTR = f"""<t:RequestSecurityTokenResponse Context='uuid-d88a7f14-97b7-4663-a548-c59a2a1c652f' xmlns:t='http://schemas.xmlsoap.org/ws/2005/02/trust' xmlns:u='http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd'>
        <t:TokenType>http://schemas.xmlsoap.org/ws/2005/02/sc/sct</t:TokenType>
        <t:RequestedSecurityToken>
          <c:SecurityContextToken u:Id='uuid-8921c433-1f44-4ff1-99c7-c70ba90c56c3-1' xmlns:c='http://schemas.xmlsoap.org/ws/2005/02/sc'>
            <c:Identifier>urn:uuid:6ee2d642-484a-4e08-a9f4-a2bfe4f2d540</c:Identifier>
            <dnse:Cookie xmlns:dnse='http://schemas.microsoft.com/ws/2006/05/security'>{C4_COOKIE}</dnse:Cookie>
          </c:SecurityContextToken>
        </t:RequestedSecurityToken>
        <t:RequestedAttachedReference>
          <o:SecurityTokenReference xmlns:o='http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd'>
            <o:Reference URI='#uuid-8921c433-1f44-4ff1-99c7-c70ba90c56c3-1'>
            </o:Reference>
          </o:SecurityTokenReference>
        </t:RequestedAttachedReference>
        <t:RequestedUnattachedReference>
          <o:SecurityTokenReference xmlns:o='http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd'>
            <o:Reference URI='urn:uuid:6ee2d642-484a-4e08-a9f4-a2bfe4f2d540' ValueType='http://schemas.xmlsoap.org/ws/2005/02/sc/sct'>
            </o:Reference>
          </o:SecurityTokenReference>
        </t:RequestedUnattachedReference>
        <t:RequestedProofToken>
          <e:EncryptedKey xmlns:e='http://www.w3.org/2001/04/xmlenc#'>
            <e:EncryptionMethod Algorithm='http://schemas.xmlsoap.org/2005/02/trust/tlsnego#TLS_Wrap'>
            </e:EncryptionMethod>
            <e:CipherData>
              <e:CipherValue>FwMBADB9aB76Af+8UmE6nuo5bSh1OwbBjlImD1BY2NUbcByLmCgIARvC+KutimPRXwnMio8=</e:CipherValue>
            </e:CipherData>
          </e:EncryptedKey>
        </t:RequestedProofToken>
        <t:Lifetime>
          <u:Created>2007-03-09T18:51:37.109Z</u:Created>
          <u:Expires>2007-03-10T04:51:37.109Z</u:Expires>
        </t:Lifetime>
        <t:KeySize>256</t:KeySize>
        <t:BinaryExchange ValueType=' http://schemas.xmlsoap.org/ws/2005/02/trust/tlsnego' EncodingType='http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary'>FAMBAAEBFgMBACALQXwZMThkzZ0m4ICTSg/tcKk2eB+IKLRIhwFKHm+G6w==</t:BinaryExchange>
      </t:RequestSecurityTokenResponse>"""  # noqa: E501


def test_captured_feb2005_rstr_parses() -> None:
    rstr = parse_rstr(parse_xml(C4_RSTR), ns.TRUST_FEB2005)
    assert isinstance(rstr, TokenResponse)
    assert rstr.context == "uuid-d88a7f14-97b7-4663-a548-c59a2a1c652f"
    assert rstr.token_type == ns.SC_FEB2005.sct_token_type
    assert rstr.token.identifier == "urn:uuid:6ee2d642-484a-4e08-a9f4-a2bfe4f2d540"
    assert rstr.token.instance is None
    assert rstr.token.wsu_id == "uuid-8921c433-1f44-4ff1-99c7-c70ba90c56c3-1"
    assert rstr.token.cookie == base64.b64decode(C4_COOKIE)
    # DPAPI blob: version 1 then provider GUID df9d8cd0-1501-11d1-8c7a-00c04fc297eb
    assert rstr.token.cookie[:20].hex() == "01000000d08c9ddf0115d1118c7a00c04fc297eb"
    assert rstr.key_size == 256
    assert rstr.lifetime is not None
    created = datetime(2007, 3, 9, 18, 51, 37, 109000, tzinfo=UTC).timestamp()
    assert rstr.lifetime.created == pytest.approx(created)
    assert rstr.lifetime.expires == pytest.approx(created + 10 * 3600)  # IssuedCookieLifetime
    assert rstr.attached_reference is not None
    assert rstr.attached_reference.uri == "#uuid-8921c433-1f44-4ff1-99c7-c70ba90c56c3-1"
    assert rstr.attached_reference.value_type is None  # internal STR without ValueType
    assert rstr.unattached_reference is not None
    assert rstr.unattached_reference.value_type == ns.SC_FEB2005.sct_token_type
    assert isinstance(rstr.proof, OpaqueProof)
    assert rstr.proof.element.tag == f"{{{ns.XENC}}}EncryptedKey"
    assert rstr.entropy is None


def test_captured_feb2005_rstr_refused_on_13_endpoint() -> None:
    with pytest.raises(InvalidRequest) as exc:
        parse_rstr(parse_xml(C4_RSTR), ns.TRUST_V13)
    assert "2005" in str(exc.value)


def test_captured_rstr_wrapped_in_collection() -> None:
    wrapped = (
        f"<t:RequestSecurityTokenResponseCollection "
        f"xmlns:t='{ns.TRUST_2005}'>{C4_RSTR}</t:RequestSecurityTokenResponseCollection>"
    )
    rstr = parse_rstr(parse_xml(wrapped), ns.TRUST_FEB2005)
    assert isinstance(rstr, TokenResponse)
    assert rstr.token.identifier == "urn:uuid:6ee2d642-484a-4e08-a9f4-a2bfe4f2d540"


# --- strict parsing ------------------------------------------------------------------------
T13, T05 = ns.TRUST_13, ns.TRUST_2005
SCT13 = ns.SC_V13.sct_token_type
GOOD_B64 = base64.b64encode(bytes(32)).decode()


def rst13(inner: str, attrs: str = "") -> str:
    return f"<t:RequestSecurityToken xmlns:t='{T13}' {attrs}>{inner}</t:RequestSecurityToken>"


def issue_parts(entropy: str = GOOD_B64, key_size: str = "256", token_type: str = SCT13) -> str:
    return (
        f"<t:TokenType>{token_type}</t:TokenType><t:RequestType>{T13}/Issue</t:RequestType>"
        f"<t:Entropy><t:BinarySecret Type='{T13}/Nonce'>{entropy}</t:BinarySecret></t:Entropy>"
        f"<t:KeySize>{key_size}</t:KeySize>"
    )


def target(kind: str, ref: str) -> str:
    return (
        f"<t:{kind}><o:SecurityTokenReference xmlns:o='{ns.WSSE}'>{ref}</o:SecurityTokenReference></t:{kind}>"
    )


GOOD_REF = f"<o:Reference URI='urn:uuid:1' ValueType='{SCT13}'/>"


def test_valid_handwritten_request_parses() -> None:
    req = parse_rst(parse_xml(rst13(issue_parts())), ns.TRUST_V13)
    assert req == IssueRequest(SCT13, bytes(32), 256)


def test_whitespace_in_base64_is_accepted() -> None:
    wrapped = GOOD_B64[:20] + "\n   " + GOOD_B64[20:]
    req = parse_rst(parse_xml(rst13(issue_parts(entropy=wrapped))), ns.TRUST_V13)
    assert isinstance(req, IssueRequest) and req.entropy == bytes(32)


BAD_REQUESTS: dict[str, str | etree._Element] = {
    "feb2005 rst on 1.3 endpoint": IssueRequest.build(ns.SC_FEB2005).to_xml(ns.SC_FEB2005),
    "mixed version child": rst13(
        f"<t:RequestType>{T13}/Issue</t:RequestType><x:KeySize xmlns:x='{T05}'>256</x:KeySize>"
    ),
    "feb2005 request type": rst13(f"<t:RequestType>{T05}/Issue</t:RequestType>"),
    "unknown request type": rst13(f"<t:RequestType>{T13}/Validate</t:RequestType>"),
    "no request type": rst13(f"<t:TokenType>{SCT13}</t:TokenType>"),
    "cancel without target": rst13(f"<t:RequestType>{T13}/Cancel</t:RequestType>"),
    "renew without target": rst13(f"<t:RequestType>{T13}/Renew</t:RequestType>"),
    "oversize entropy": rst13(issue_parts(entropy=base64.b64encode(bytes(1025)).decode())),
    "malformed base64": rst13(issue_parts(entropy="AAAA*AAA")),
    "bad base64 padding": rst13(issue_parts(entropy="AAA")),
    "empty entropy": rst13(issue_parts(entropy="")),
    "non-integer key size": rst13(issue_parts(key_size="256bits")),
    "negative key size": rst13(issue_parts(key_size="-256")),
    "wrong token type": rst13(issue_parts(token_type=ns.SC_FEB2005.sct_token_type)),
    "duplicate key size": rst13(issue_parts() + "<t:KeySize>128</t:KeySize>"),
    "feb2005 nonce type": rst13(issue_parts().replace(f"{T13}/Nonce", f"{T05}/Nonce")),
    "encrypted entropy": rst13(
        f"<t:RequestType>{T13}/Issue</t:RequestType><t:Entropy><e:EncryptedKey "
        f"xmlns:e='{ns.XENC}'/></t:Entropy>"
    ),
    "two entropy secrets": rst13(
        f"<t:RequestType>{T13}/Issue</t:RequestType><t:Entropy><t:BinarySecret>{GOOD_B64}"
        f"</t:BinarySecret><t:BinarySecret>{GOOD_B64}</t:BinarySecret></t:Entropy>"
    ),
    "issue with cancel target": rst13(issue_parts() + target("CancelTarget", GOOD_REF)),
    "cancel target local ref": rst13(
        f"<t:RequestType>{T13}/Cancel</t:RequestType>"
        + target("CancelTarget", f"<o:Reference URI='#id-1' ValueType='{SCT13}'/>")
    ),
    "cancel target wrong value type": rst13(
        f"<t:RequestType>{T13}/Cancel</t:RequestType>"
        + target("CancelTarget", "<o:Reference URI='urn:uuid:1' ValueType='urn:x'/>")
    ),
    "cancel target no value type": rst13(
        f"<t:RequestType>{T13}/Cancel</t:RequestType>"
        + target("CancelTarget", "<o:Reference URI='urn:uuid:1'/>")
    ),
    "renew target instance in feb2005 ns": rst13(
        f"<t:RequestType>{T13}/Renew</t:RequestType>"
        + target(
            "RenewTarget",
            f"<o:Reference URI='urn:uuid:1' ValueType='{SCT13}' "
            f"xmlns:c='{ns.SC_2005}' c:Instance='urn:uuid:2'/>",
        )
    ),
    "cancel target empty": rst13(f"<t:RequestType>{T13}/Cancel</t:RequestType><t:CancelTarget/>"),
    "not an rst": f"<t:RequestSecurityTokenResponse xmlns:t='{T13}'/>",
    "oversize context": rst13(issue_parts(), attrs=f"Context='{'x' * 2000}'"),
}


#: the reason each bad request must be refused for (so a test cannot pass by accident)
BAD_REQUEST_REASONS = {
    "feb2005 rst on 1.3 endpoint": "WS-Trust 2005 RequestSecurityToken was sent",
    "mixed version child": "contains a KeySize from WS-Trust 2005",
    "feb2005 request type": "unsupported RequestType",
    "unknown request type": "unsupported RequestType",
    "no request type": "no RequestType",
    "cancel without target": "needs a CancelTarget",
    "renew without target": "needs a RenewTarget",
    "oversize entropy": "longer than 1024 bytes",
    "malformed base64": "not valid base64",
    "bad base64 padding": "not valid base64",
    "empty entropy": "empty",
    "non-integer key size": "KeySize must be",
    "negative key size": "KeySize must be",
    "wrong token type": "TokenType",
    "duplicate key size": "more than one KeySize",
    "feb2005 nonce type": "BinarySecret Type",
    "encrypted entropy": "only BinarySecret entropy",
    "two entropy secrets": "exactly one element",
    "issue with cancel target": "cannot carry",
    "cancel target local ref": "by its Identifier",
    "cancel target wrong value type": "ValueType",
    "cancel target no value type": "ValueType",
    "renew target instance in feb2005 ns": "Instance attribute",
    "cancel target empty": "exactly one element",
    "not an rst": "expected a WS-Trust 1.3 RequestSecurityToken",
    "oversize context": "Context attribute",
}


@pytest.mark.parametrize("name", list(BAD_REQUESTS))
def test_bad_requests_raise_invalid_request(name: str) -> None:
    xml = BAD_REQUESTS[name]
    el = wire(xml) if isinstance(xml, etree._Element) else parse_xml(xml)
    with pytest.raises(InvalidRequest) as exc:
        parse_rst(el, ns.TRUST_V13)
    assert BAD_REQUEST_REASONS[name] in (exc.value.detail or "")
    # WCF uses the Feb 2005 trust namespace for this subcode even under Trust 1.3.
    assert exc.value.code.clark == f"{{{T05}}}InvalidRequest"


def test_v13_rst_on_feb2005_endpoint() -> None:
    el = IssueRequest.build(ns.SC_V13).to_xml(ns.SC_V13)
    with pytest.raises(InvalidRequest, match=r"WS-Trust 1\.3"):
        parse_rst(wire(el), ns.TRUST_FEB2005)


def rstr13(inner: str) -> str:
    return (
        f"<t:RequestSecurityTokenResponseCollection xmlns:t='{T13}'>{inner}"
        f"</t:RequestSecurityTokenResponseCollection>"
    )


def good_rstr13_body() -> str:
    return etree.tostring(token_response(ns.SC_V13).to_xml(ns.SC_V13, wrap=False)).decode()


BAD_RESPONSES = {
    "two rstrs": rstr13(good_rstr13_body() * 2),
    "empty collection": rstr13(""),
    "foreign child in collection": rstr13(f"<t:RequestSecurityToken/>{good_rstr13_body()}"),
    "no requested token": rstr13(
        f"<t:RequestSecurityTokenResponse><t:TokenType>{SCT13}</t:TokenType></t:RequestSecurityTokenResponse>"
    ),
    "feb2005 sct in 1.3 rstr": good_rstr13_body().replace(ns.SC_13 + '"', ns.SC_2005 + '"'),
    "feb2005 ck algorithm": good_rstr13_body().replace(ns.TRUST_V13.ck_psha1, ns.TRUST_FEB2005.ck_psha1),
    "malformed server entropy": good_rstr13_body().replace(
        base64.b64encode(bytes(range(32))).decode(), "@@@@"
    ),
    "lifetime backwards": good_rstr13_body().replace("2023-11-15T13:13:20.000Z", "2000-01-01T00:00:00.000Z"),
    "bad lifetime": good_rstr13_body().replace("2023-11-15T13:13:20.000Z", "tomorrow"),
    "non-empty cancelled": rstr13(
        "<t:RequestSecurityTokenResponse><t:RequestedTokenCancelled>x"
        "</t:RequestedTokenCancelled></t:RequestSecurityTokenResponse>"
    ),
    "feb2005 cancel response": etree.tostring(CancelResponse().to_xml(ns.SC_FEB2005)).decode(),
}


BAD_RESPONSE_REASONS = {
    "two rstrs": "holds 2 RSTRs",
    "empty collection": "holds 0 RSTRs",
    "foreign child in collection": "only hold RSTRs",
    "no requested token": "no RequestedSecurityToken",
    "feb2005 sct in 1.3 rstr": "WS-SC 2005 SecurityContextToken",
    "feb2005 ck algorithm": "ComputedKey algorithm",
    "malformed server entropy": "not valid base64",
    "lifetime backwards": "expires before",
    "bad lifetime": "xs:dateTime",
    "non-empty cancelled": "must be empty",
    "feb2005 cancel response": "WS-Trust 2005 RequestSecurityTokenResponse was sent",
}


@pytest.mark.parametrize("name", list(BAD_RESPONSES))
def test_bad_responses_raise_invalid_request(name: str) -> None:
    with pytest.raises(InvalidRequest) as exc:
        parse_rstr(parse_xml(BAD_RESPONSES[name]), ns.TRUST_V13)
    assert BAD_RESPONSE_REASONS[name] in (exc.value.detail or "")


def test_bad_response_fixtures_differ_from_good() -> None:
    """Guard: each mutated fixture really changed the good message."""
    good = good_rstr13_body()
    for name in (
        "feb2005 sct in 1.3 rstr",
        "feb2005 ck algorithm",
        "malformed server entropy",
        "lifetime backwards",
        "bad lifetime",
    ):
        assert BAD_RESPONSES[name] != good, name
    assert isinstance(parse_rstr(parse_xml(good), ns.TRUST_V13), TokenResponse)


def test_secrets_not_in_repr() -> None:
    secret = bytes(range(100, 132))
    rst = IssueRequest(SCT13, secret, 256)
    rstr = TokenResponse.build(
        ns.SC_V13,
        sct(),
        lifetime=None,
        proof=BinarySecret(secret, SecretType.SYMMETRIC_KEY),
        server_entropy=secret,
        key_size=256,
    )
    for obj in (rst, rstr):
        text = repr(obj)
        assert secret.hex() not in text and str(secret) not in text
