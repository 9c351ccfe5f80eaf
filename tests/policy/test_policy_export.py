"""The exported policy, checked with XPath on the XML (not with wssc's own importer)."""

from __future__ import annotations

import itertools
import logging

import pytest
from lxml import etree

from wssc.bootstrap.registry import BOOTSTRAPS, bootstrap_kind, policy_for, settings_from_policy
from wssc.errors import ConfigurationError
from wssc.policy import export_notes, message_policy_element
from wssc.settings import WS2007, WSHTTP, Bootstrap, KeyEntropyMode, SecureConversationSettings
from wssc.xml import ns

# IncludeToken URIs as listed in reference §B.1 (facts, written out on purpose).
ALWAYS = {
    ns.SP11: "http://schemas.xmlsoap.org/ws/2005/07/securitypolicy/IncludeToken/AlwaysToRecipient",
    ns.SP12: "http://docs.oasis-open.org/ws-sx/ws-securitypolicy/200702/IncludeToken/AlwaysToRecipient",
}
NEVER = {
    ns.SP11: "http://schemas.xmlsoap.org/ws/2005/07/securitypolicy/IncludeToken/Never",
    ns.SP12: "http://docs.oasis-open.org/ws-sx/ws-securitypolicy/200702/IncludeToken/Never",
}
MSSP_URI = "http://schemas.microsoft.com/ws/2005/07/securitypolicy"

COMBOS = list(
    itertools.product((WSHTTP, WS2007), (True, False), tuple(BOOTSTRAPS), (True, False), (True, False))
)


def _ids(c: tuple[object, ...]) -> str:
    v, rc, b, dk, cr = c
    return f"{v.name}-{'cancel' if rc else 'nocancel'}-{b.name}-dk{int(dk)}-renew{int(cr)}"  # type: ignore[attr-defined]


def _x(el: etree._Element, path: str, sp_ns: str) -> list[etree._Element]:
    nsmap = {
        "wsp": ns.WSP15,
        "sp": sp_ns,
        "sp11": ns.SP11,
        "sp12": ns.SP12,
        "mssp": MSSP_URI,
        "wsu": ns.WSU,
        "wsaw": ns.WSAW,
    }
    result = el.xpath(path, namespaces=nsmap)
    assert isinstance(result, list)
    return [r for r in result if isinstance(r, etree._Element)]


def _sct_path(bootstrap: Bootstrap) -> str:
    if bootstrap_kind(bootstrap).security_mode == "transport":
        return (
            "/wsp:Policy/wsp:ExactlyOne/wsp:All/sp:EndorsingSupportingTokens/wsp:Policy"
            "/sp:SecureConversationToken"
        )
    return (
        "/wsp:Policy/wsp:ExactlyOne/wsp:All/sp:SymmetricBinding/wsp:Policy/sp:ProtectionToken"
        "/wsp:Policy/sp:SecureConversationToken"
    )


@pytest.mark.parametrize("combo", COMBOS, ids=_ids)
def test_secure_conversation_token_assertions(combo: tuple) -> None:  # type: ignore[type-arg]
    version, rc, bootstrap, dk, cr = combo
    s = SecureConversationSettings(
        require_cancellation=rc,
        can_renew_session=cr,
        require_derived_keys=dk,
        bootstrap=bootstrap,
        message_security_version=version,
    )
    sp = version.sp_ns
    sp12 = sp == ns.SP12
    root = policy_for(s, policy_id="B_policy")
    assert root.get(f"{{{ns.WSU}}}Id") == "B_policy"
    scts = _x(root, _sct_path(bootstrap), sp)
    assert len(scts) == 1
    sct = scts[0]
    assert sct.get(f"{{{sp}}}IncludeToken") == ALWAYS[sp]

    # MustNotSendCancel: exactly when require_cancellation is False, mssp under SP1.1, sp under 1.2.
    # (SPNEGO's and TLSNEGO's own tokens say MustNotSend* under SP 1.2 for the negotiated SCT:
    # not counted here)
    mine = "[not(ancestor::sp:SpnegoContextToken) and not(ancestor::mssp:SslContextToken)]"
    everywhere_mssp = _x(root, f"//mssp:MustNotSendCancel{mine}", sp)
    everywhere_sp = _x(root, f"//sp11:MustNotSendCancel{mine} | //sp12:MustNotSendCancel{mine}", sp)
    if rc:
        assert everywhere_mssp == [] and everywhere_sp == []
    elif sp12:
        assert everywhere_mssp == []
        assert _x(sct, "wsp:Policy/sp12:MustNotSendCancel", sp) == everywhere_sp
        assert len(everywhere_sp) == 1
    else:
        assert everywhere_sp == []
        assert _x(sct, "wsp:Policy/mssp:MustNotSendCancel", sp) == everywhere_mssp
        assert len(everywhere_mssp) == 1

    # MustNotSendAmend only under SP1.2, always; never in the SP1.1 namespace or under mssp.
    assert len(_x(root, f"//sp12:MustNotSendAmend{mine}", sp)) == (1 if sp12 else 0)
    assert _x(root, "//sp11:MustNotSendAmend | //mssp:MustNotSendAmend", sp) == []
    # MustNotSendRenew under SP1.2 iff (not require_cancellation or not can_renew_session).
    renew = _x(sct, "wsp:Policy/sp12:MustNotSendRenew", sp)
    assert len(renew) == (1 if sp12 and (not rc or not cr) else 0)
    assert _x(root, "//sp11:MustNotSendRenew | //mssp:MustNotSendRenew", sp) == []

    # RequireDerivedKeys on the SCT: iff asked for, and never over transport.
    derived = _x(sct, "wsp:Policy/sp:RequireDerivedKeys", sp)
    assert len(derived) == (1 if dk and bootstrap_kind(bootstrap).security_mode == "message" else 0)

    # Order inside the SCT policy is WCF's.
    order = [etree.QName(c).localname for c in _x(sct, "wsp:Policy/*", sp)]
    expected = [
        "RequireDerivedKeys",
        "MustNotSendCancel",
        "BootstrapPolicy",
        "MustNotSendAmend",
        "MustNotSendRenew",
    ]
    assert order == [n for n in expected if n in order]
    assert "BootstrapPolicy" in order


@pytest.mark.parametrize("version", [WSHTTP, WS2007], ids=lambda v: v.name)
def test_message_mode_bootstrap_shape(version: object) -> None:
    s = SecureConversationSettings(message_security_version=version)  # type: ignore[arg-type]
    sp = s.message_security_version.sp_ns
    root = policy_for(s, policy_id="p")
    boot = _x(
        root, _sct_path(Bootstrap.ANONYMOUS_FOR_CERTIFICATE) + "/wsp:Policy/sp:BootstrapPolicy/wsp:Policy", sp
    )[0]
    assert len(_x(boot, "sp:SignedParts/sp:Body", sp)) == 1
    headers = _x(boot, "sp:SignedParts/sp:Header", sp)
    assert [h.get("Name") for h in headers] == [
        "To",
        "From",
        "FaultTo",
        "ReplyTo",
        "MessageID",
        "RelatesTo",
        "Action",
    ]
    assert {h.get("Namespace") for h in headers} == {"http://www.w3.org/2005/08/addressing"}
    assert len(_x(boot, "sp:EncryptedParts/sp:Body", sp)) == 1
    x509 = _x(boot, "sp:SymmetricBinding/wsp:Policy/sp:ProtectionToken/wsp:Policy/sp:X509Token", sp)
    assert len(x509) == 1 and x509[0].get(f"{{{sp}}}IncludeToken") == NEVER[sp]
    x509_policy = [etree.QName(c).localname for c in _x(x509[0], "wsp:Policy/*", sp)]
    assert x509_policy == ["RequireDerivedKeys", "RequireThumbprintReference", "WssX509V3Token10"]
    sym = _x(boot, "sp:SymmetricBinding/wsp:Policy", sp)[0]
    assert len(_x(sym, "sp:AlgorithmSuite/wsp:Policy/sp:Basic256", sp)) == 1
    assert len(_x(sym, "sp:Layout/wsp:Policy/sp:Strict", sp)) == 1
    for flag in ("IncludeTimestamp", "EncryptSignature", "OnlySignEntireHeadersAndBody"):
        assert len(_x(sym, f"sp:{flag}", sp)) == 1, flag
    assert len(_x(boot, "sp:Wss11", sp)) == 1
    trust = "Trust13" if sp == ns.SP12 else "Trust10"
    entropy = [etree.QName(c).localname for c in _x(boot, f"sp:{trust}/wsp:Policy/*", sp)]
    assert entropy == ["MustSupportIssuedTokens", "RequireClientEntropy", "RequireServerEntropy"]
    # The outer binding repeats suite/layout/timestamp/encrypt-signature and has Wss11 + Trust.
    outer = _x(root, "/wsp:Policy/wsp:ExactlyOne/wsp:All", sp)[0]
    names = [etree.QName(c).localname for c in outer]
    assert names == ["SymmetricBinding", "Wss11", trust, "UsingAddressing"]
    outer_sym = _x(outer, "sp:SymmetricBinding/wsp:Policy/*", sp)
    assert [etree.QName(c).localname for c in outer_sym] == [
        "ProtectionToken",
        "AlgorithmSuite",
        "Layout",
        "IncludeTimestamp",
        "EncryptSignature",
        "OnlySignEntireHeadersAndBody",
    ]


@pytest.mark.parametrize("version", [WSHTTP, WS2007], ids=lambda v: v.name)
def test_username_for_certificate_shape(version: object) -> None:
    """WCF's CreateUserNameForCertificateBindingElement: AnonymousForCertificate's symmetric
    binding (X509 thumbprint, Never) plus the UsernameToken as a SignedEncrypted supporting
    token (sp:SignedSupportingTokens under SP 1.1, which has no SignedEncrypted)."""
    s = SecureConversationSettings(
        bootstrap=Bootstrap.USERNAME_FOR_CERTIFICATE, message_security_version=version
    )  # type: ignore[arg-type]
    sp = s.message_security_version.sp_ns
    root = policy_for(s, policy_id="p")
    boot = _x(
        root,
        _sct_path(Bootstrap.USERNAME_FOR_CERTIFICATE) + "/wsp:Policy/sp:BootstrapPolicy/wsp:Policy",
        sp,
    )[0]
    names = [etree.QName(c).localname for c in boot]
    wrapper = "SignedEncryptedSupportingTokens" if sp == ns.SP12 else "SignedSupportingTokens"
    trust = "Trust13" if sp == ns.SP12 else "Trust10"
    assert names == ["SignedParts", "EncryptedParts", "SymmetricBinding", wrapper, "Wss11", trust]
    x509 = _x(boot, "sp:SymmetricBinding/wsp:Policy/sp:ProtectionToken/wsp:Policy/sp:X509Token", sp)
    assert len(x509) == 1 and x509[0].get(f"{{{sp}}}IncludeToken") == NEVER[sp]
    assert len(_x(x509[0], "wsp:Policy/sp:RequireThumbprintReference", sp)) == 1
    ut = _x(boot, f"sp:{wrapper}/wsp:Policy/sp:UsernameToken", sp)
    assert len(ut) == 1 and ut[0].get(f"{{{sp}}}IncludeToken") == ALWAYS[sp]
    assert len(_x(ut[0], "wsp:Policy/sp:WssUsernameToken10", sp)) == 1
    # the outer (session) binding carries no UsernameToken: only the bootstrap does
    assert len(_x(root, "//sp:UsernameToken", sp)) == 1
    assert _x(root, "//sp:TransportBinding", sp) == []
    assert _x(root, "//sp:RequireSignatureConfirmation", sp) == []  # WCF's default, false


@pytest.mark.parametrize("version", [WSHTTP, WS2007], ids=lambda v: v.name)
def test_transport_mode_shape(version: object) -> None:
    s = SecureConversationSettings(
        bootstrap=Bootstrap.USERNAME_OVER_TRANSPORT, message_security_version=version
    )  # type: ignore[arg-type]
    sp = s.message_security_version.sp_ns
    root = policy_for(s, policy_id="p")
    outer = _x(root, "/wsp:Policy/wsp:ExactlyOne/wsp:All", sp)[0]
    https = _x(outer, "sp:TransportBinding/wsp:Policy/sp:TransportToken/wsp:Policy/sp:HttpsToken", sp)
    assert len(https) == 1
    if sp == ns.SP11:
        assert https[0].get("RequireClientCertificate") == "false"
    else:
        assert https[0].get("RequireClientCertificate") is None
        assert _x(https[0], "wsp:Policy/*", sp) == []
    boot = _x(
        outer,
        "sp:EndorsingSupportingTokens/wsp:Policy/sp:SecureConversationToken"
        "/wsp:Policy/sp:BootstrapPolicy/wsp:Policy",
        sp,
    )[0]
    wrapper = "SignedEncryptedSupportingTokens" if sp == ns.SP12 else "SignedSupportingTokens"
    ut = _x(boot, f"sp:{wrapper}/wsp:Policy/sp:UsernameToken", sp)
    assert len(ut) == 1 and ut[0].get(f"{{{sp}}}IncludeToken") == ALWAYS[sp]
    assert len(_x(ut[0], "wsp:Policy/sp:WssUsernameToken10", sp)) == 1
    other = "SignedSupportingTokens" if sp == ns.SP12 else "SignedEncryptedSupportingTokens"
    assert _x(root, f"//sp:{other}", sp) == []
    assert len(_x(boot, "sp:TransportBinding", sp)) == 1
    assert _x(root, "//sp:SymmetricBinding | //sp:RequireDerivedKeys", sp) == []


@pytest.mark.parametrize("establish", [True, False], ids=["session", "no-session"])
@pytest.mark.parametrize("version", [WSHTTP, WS2007], ids=lambda v: v.name)
def test_certificate_over_transport_shape(version: object, establish: bool) -> None:
    """WCF's CreateCertificateOverTransportBindingElement: a TransportBinding and the client's
    X509 token (AlwaysToRecipient, thumbprint reference under WS-Security 1.1) as an endorsing
    supporting token of the bootstrap; no UsernameToken, no derived keys."""
    s = SecureConversationSettings(
        bootstrap=Bootstrap.CERTIFICATE_OVER_TRANSPORT,
        message_security_version=version,  # type: ignore[arg-type]
        establish_security_context=establish,
    )
    sp = s.message_security_version.sp_ns
    root = policy_for(s, policy_id="p")
    boot = (
        _x(
            root,
            _sct_path(Bootstrap.CERTIFICATE_OVER_TRANSPORT) + "/wsp:Policy/sp:BootstrapPolicy/wsp:Policy",
            sp,
        )[0]
        if establish
        else _x(root, "/wsp:Policy/wsp:ExactlyOne/wsp:All", sp)[0]
    )
    x509 = _x(boot, "sp:EndorsingSupportingTokens/wsp:Policy/sp:X509Token", sp)
    assert len(x509) == 1 and x509[0].get(f"{{{sp}}}IncludeToken") == ALWAYS[sp]
    assert len(_x(x509[0], "wsp:Policy/sp:RequireThumbprintReference", sp)) == 1
    assert len(_x(x509[0], "wsp:Policy/sp:WssX509V3Token10", sp)) == 1
    assert len(_x(boot, "sp:TransportBinding", sp)) == 1
    assert len(_x(root, "//sp:X509Token", sp)) == 1  # the bootstrap's only
    assert _x(root, "//sp:UsernameToken | //sp:SymmetricBinding | //sp:RequireDerivedKeys", sp) == []
    imported = settings_from_policy(root).settings
    assert imported.bootstrap is Bootstrap.CERTIFICATE_OVER_TRANSPORT
    assert imported.establish_security_context is establish


@pytest.mark.parametrize("bootstrap", list(BOOTSTRAPS), ids=lambda b: b.name)
def test_no_security_context_is_the_bootstrap_alone(bootstrap: Bootstrap) -> None:
    s = SecureConversationSettings(
        establish_security_context=False, bootstrap=bootstrap, require_cancellation=False
    )
    root = policy_for(s, policy_id="p")
    sp = ns.SP11
    assert _x(root, "//sp:SecureConversationToken | //sp:BootstrapPolicy", sp) == []
    assert _x(root, "//mssp:MustNotSendCancel", sp) == []
    outer = _x(root, "/wsp:Policy/wsp:ExactlyOne/wsp:All/*", sp)
    over_transport = bootstrap_kind(bootstrap).security_mode == "transport"
    first = "TransportBinding" if over_transport else "SymmetricBinding"
    assert etree.QName(outer[0]).localname == first
    if not over_transport:
        assert (
            len(
                _x(
                    root,
                    "/wsp:Policy/wsp:ExactlyOne/wsp:All/sp:SymmetricBinding/wsp:Policy"
                    "/sp:ProtectionToken/wsp:Policy/*",
                    sp,
                )
            )
            == 1
        )


def test_suite_and_entropy_and_encrypt_signature_are_written() -> None:
    s = SecureConversationSettings(
        algorithm_suite="basic128", key_entropy_mode=KeyEntropyMode.SERVER, encrypt_signature=False
    )
    root = policy_for(s, policy_id="p")
    sp = ns.SP11
    assert len(_x(root, "//sp:AlgorithmSuite/wsp:Policy/sp:Basic128", sp)) == 2
    assert _x(root, "//sp:Basic256", sp) == []
    assert _x(root, "//sp:RequireClientEntropy", sp) == []
    assert len(_x(root, "//sp:RequireServerEntropy", sp)) == 2
    assert _x(root, "//sp:EncryptSignature", sp) == []


def test_unknown_suite_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="Basic999"):
        policy_for(SecureConversationSettings(algorithm_suite="Basic999"), policy_id="p")


def test_ws_policy_12_namespace_on_request() -> None:
    root = policy_for(SecureConversationSettings(), policy_id="p", wsp_ns=ns.WSP12)
    assert root.tag == f"{{{ns.WSP12}}}Policy"
    assert not any(etree.QName(e).namespace == ns.WSP15 for e in root.iter())
    with pytest.raises(ConfigurationError):
        policy_for(SecureConversationSettings(), policy_id="p", wsp_ns="urn:nope")


def test_message_policy_signs_and_encrypts_the_body() -> None:
    s = SecureConversationSettings(message_security_version=WS2007)
    mp = message_policy_element(s, "op_Input", mode="message")
    sp = ns.SP12
    assert mp.get(f"{{{ns.WSU}}}Id") == "op_Input"
    alt = _x(mp, "/wsp:Policy/wsp:ExactlyOne/wsp:All", sp)[0]
    assert [etree.QName(c).localname for c in alt] == ["SignedParts", "EncryptedParts"]
    assert len(_x(alt, "sp:SignedParts/sp:Body", sp)) == 1
    assert len(_x(alt, "sp:SignedParts/sp:Header", sp)) == 7
    assert len(_x(alt, "sp:EncryptedParts/sp:Body", sp)) == 1


def test_message_policy_refuses_transport() -> None:
    s = SecureConversationSettings(bootstrap=Bootstrap.USERNAME_OVER_TRANSPORT)
    with pytest.raises(ConfigurationError, match="transport"):
        message_policy_element(s, "x", mode=bootstrap_kind(s.bootstrap).security_mode)


def test_sp11_cannot_say_must_not_send_renew(caplog: pytest.LogCaptureFixture) -> None:
    s = SecureConversationSettings(can_renew_session=False, message_security_version=WSHTTP)
    notes = export_notes(s, "message")
    assert len(notes) == 1 and "MustNotSendRenew" in notes[0]
    with caplog.at_level(logging.INFO, logger="wssc.policy.export"):
        root = policy_for(s, policy_id="p")
    assert "MustNotSendRenew" in caplog.text
    assert not any(etree.QName(e).localname == "MustNotSendRenew" for e in root.iter())
    assert (
        export_notes(
            SecureConversationSettings(can_renew_session=False, message_security_version=WS2007), "message"
        )
        == []
    )
    assert export_notes(SecureConversationSettings(), "message") == []
    over_transport = SecureConversationSettings(bootstrap=Bootstrap.USERNAME_OVER_TRANSPORT)
    assert export_notes(over_transport, "transport") == [
        "derived keys are off over transport (WCF forces RequireDerivedKeys=false)"
    ]


def test_exported_policy_serializes_without_surprise_prefixes() -> None:
    s = SecureConversationSettings(require_cancellation=False)
    text = etree.tostring(policy_for(s, policy_id="p")).decode()
    assert "ns0:" not in text and "<mssp:MustNotSendCancel/>" in text
