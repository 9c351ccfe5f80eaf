"""Bad or unsupported input raises typed errors with a clear reason; WS-Policy forms are read."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from lxml import etree
from policy_testkit import make_wsdl

from wssc.bootstrap.registry import policy_for, settings_from_policy, settings_from_wsdl
from wssc.errors import ConfigurationError
from wssc.settings import WS2007, WSHTTP, Bootstrap, SecureConversationSettings
from wssc.xml import ns

NS = {"wsp": ns.WSP15, "sp11": ns.SP11, "sp12": ns.SP12, "mssp": ns.MSSP}
SCT = "//*[local-name()='SecureConversationToken']/wsp:Policy"
BOOT = SCT + "/*[local-name()='BootstrapPolicy']/wsp:Policy"


def _one(root: etree._Element, path: str) -> etree._Element:
    found = root.xpath(path, namespaces=NS)
    assert isinstance(found, list) and len(found) == 1, path
    el = found[0]
    assert isinstance(el, etree._Element)
    return el


def _mutated(
    settings: SecureConversationSettings, change: Callable[[etree._Element, str], None]
) -> etree._Element:
    root = policy_for(settings, policy_id="p")
    change(root, settings.message_security_version.sp_ns)
    return root


Change = Callable[[etree._Element, str], None]


def _add(path: str, local: str, namespace: str | None = None) -> Change:
    def change(root: etree._Element, sp: str) -> None:
        etree.SubElement(_one(root, path), ns.qn(namespace or sp, local))

    return change


# --- malformed documents -------------------------------------------------------------------
@pytest.mark.parametrize(
    "doc",
    [
        b"<wsdl:definitions xmlns:wsdl='http://schemas.xmlsoap.org/wsdl/'>",
        b"",
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x "y">]><d>&x;</d>',
    ],
)
def test_malformed_xml_is_not_a_wsdl(doc: bytes) -> None:
    # never a security fault (MalformedXml is InvalidSecurity): a plain "not a WSDL"
    with pytest.raises(ConfigurationError, match="not a WSDL"):
        settings_from_wsdl(doc)


def test_not_a_wsdl() -> None:
    with pytest.raises(ConfigurationError, match="not a WSDL"):
        settings_from_wsdl(b"<root/>")


def test_invalid_certificate_base64() -> None:
    wsdl = make_wsdl(policy_for(SecureConversationSettings(), policy_id="p"), certificate=b"x")
    wsdl = wsdl.replace(b"X509Certificate>eA==<", b"X509Certificate>@@not base64<")
    assert b"@@not base64" in wsdl
    with pytest.raises(ConfigurationError, match="not base64"):
        settings_from_wsdl(wsdl)


def test_unresolved_policy_reference() -> None:
    wsdl = make_wsdl(policy_for(SecureConversationSettings(), policy_id="p"))
    wsdl = wsdl.replace(b'URI="#p"', b'URI="#missing"')
    with pytest.raises(ConfigurationError, match="missing"):
        settings_from_wsdl(wsdl)


def test_external_policy_reference_is_not_fetched() -> None:
    wsdl = make_wsdl(policy_for(SecureConversationSettings(), policy_id="p"))
    wsdl = wsdl.replace(b'URI="#p"', b'URI="http://attacker.example/policy"')
    with pytest.raises(ConfigurationError, match="does not resolve"):
        settings_from_wsdl(wsdl)


# --- unsupported assertions ----------------------------------------------------------------
def test_require_implied_derived_keys_is_refused() -> None:
    root = _mutated(
        SecureConversationSettings(message_security_version=WS2007), _add(SCT, "RequireImpliedDerivedKeys")
    )
    with pytest.raises(ConfigurationError, match="RequireImpliedDerivedKeys"):
        settings_from_policy(root)


def test_require_explicit_derived_keys_means_derived_keys_under_sp12() -> None:
    s = SecureConversationSettings(message_security_version=WS2007)

    def change(root: etree._Element, sp: str) -> None:
        for el in root.xpath("//sp12:RequireDerivedKeys", namespaces=NS):
            assert isinstance(el, etree._Element)
            el.tag = ns.qn(sp, "RequireExplicitDerivedKeys")

    got = settings_from_policy(_mutated(s, change)).settings
    assert got.require_derived_keys is True


def test_unknown_assertion_is_named() -> None:
    root = _mutated(SecureConversationSettings(), _add(SCT, "Frobnicate"))
    with pytest.raises(
        ConfigurationError,
        match=r"unsupported assertion in "
        r"sp:SecureConversationToken: sp:Frobnicate",
    ):
        settings_from_policy(root)


def test_unknown_top_level_assertion_is_refused_unless_optional() -> None:
    path = "/wsp:Policy/wsp:ExactlyOne/wsp:All"
    root = _mutated(SecureConversationSettings(), _add(path, "RMAssertion", "urn:example:rm"))
    with pytest.raises(ConfigurationError, match="RMAssertion"):
        settings_from_policy(root)
    optional = root.xpath("//*[local-name()='RMAssertion']")
    assert isinstance(optional, list) and isinstance(optional[0], etree._Element)
    optional[0].set(ns.qn(ns.WSP15, "Optional"), "true")
    assert settings_from_policy(root).settings == SecureConversationSettings()


def test_mixed_policy_versions_are_refused() -> None:
    path = "/wsp:Policy/wsp:ExactlyOne/wsp:All"
    root = _mutated(SecureConversationSettings(), _add(path, "Wss11", ns.SP12))
    with pytest.raises(ConfigurationError, match="mixes"):
        settings_from_policy(root)


def test_bootstrap_must_encrypt_the_body() -> None:
    def change(root: etree._Element, sp: str) -> None:
        body = _one(root, BOOT + "/sp11:EncryptedParts/sp11:Body")
        parent = body.getparent()
        assert parent is not None
        parent.remove(body)
        etree.SubElement(parent, ns.qn(sp, "Header"), Name="To", Namespace=ns.WSA10)

    with pytest.raises(ConfigurationError, match="Body"):
        settings_from_policy(_mutated(SecureConversationSettings(), change))


def test_unsupported_suite_is_named() -> None:
    def change(root: etree._Element, sp: str) -> None:
        for el in root.xpath("//sp11:Basic256", namespaces=NS):
            assert isinstance(el, etree._Element)
            el.tag = ns.qn(sp, "Basic128Sha256")

    with pytest.raises(ConfigurationError, match="Basic128Sha256"):
        settings_from_policy(_mutated(SecureConversationSettings(), change))


def test_bootstrap_and_session_suites_must_agree() -> None:
    def change(root: etree._Element, sp: str) -> None:
        _one(root, BOOT + "//sp11:Basic256").tag = ns.qn(sp, "Basic128")

    with pytest.raises(ConfigurationError, match="Basic128"):
        settings_from_policy(_mutated(SecureConversationSettings(), change))


def test_bootstrap_and_session_must_agree_on_derived_keys() -> None:
    def change(root: etree._Element, sp: str) -> None:
        dk = _one(root, BOOT + "//sp11:X509Token/wsp:Policy/sp11:RequireDerivedKeys")
        parent = dk.getparent()
        assert parent is not None
        parent.remove(dk)

    with pytest.raises(ConfigurationError, match="RequireDerivedKeys"):
        settings_from_policy(_mutated(SecureConversationSettings(), change))


def test_username_token_with_an_x509_protection_token_is_user_name_for_certificate() -> None:
    """AnonymousForCertificate's bootstrap plus a UsernameToken is UserNameForCertificate
    (it was refused before that bootstrap existed)."""

    def change(root: etree._Element, sp: str) -> None:
        boot = _one(root, BOOT)
        ut = etree.SubElement(
            etree.SubElement(boot, ns.qn(sp, "SignedSupportingTokens")), ns.qn(ns.WSP15, "Policy")
        )
        token = etree.SubElement(ut, ns.qn(sp, "UsernameToken"))
        token.set(ns.qn(sp, "IncludeToken"), sp + "/IncludeToken/AlwaysToRecipient")

    imported = settings_from_policy(_mutated(SecureConversationSettings(), change))
    assert imported.settings.bootstrap == Bootstrap.USERNAME_FOR_CERTIFICATE


def test_https_client_certificate_is_refused() -> None:
    s = SecureConversationSettings(bootstrap=Bootstrap.USERNAME_OVER_TRANSPORT)

    def change(root: etree._Element, sp: str) -> None:
        for el in root.xpath("//sp11:HttpsToken", namespaces=NS):
            assert isinstance(el, etree._Element)
            el.set("RequireClientCertificate", "true")

    with pytest.raises(ConfigurationError, match="client certificates"):
        settings_from_policy(_mutated(s, change))


def test_sp12_https_client_certificate_is_refused() -> None:
    s = SecureConversationSettings(
        bootstrap=Bootstrap.USERNAME_OVER_TRANSPORT, message_security_version=WS2007
    )
    path = "/wsp:Policy/wsp:ExactlyOne/wsp:All/sp12:TransportBinding//sp12:HttpsToken/wsp:Policy"
    with pytest.raises(ConfigurationError, match="RequireClientCertificate"):
        settings_from_policy(_mutated(s, _add(path, "RequireClientCertificate")))


def test_no_security_policy_at_all() -> None:
    root = etree.fromstring(
        f'<wsp:Policy xmlns:wsp="{ns.WSP15}"><wsaw:UsingAddressing xmlns:wsaw="{ns.WSAW}"/></wsp:Policy>'
    )
    with pytest.raises(ConfigurationError, match="no WS-SecurityPolicy"):
        settings_from_policy(root)


def test_an_empty_asymmetric_binding_names_what_it_lacks() -> None:
    """An AsymmetricBinding is read (MutualCertificate under WS-Security 1.0); one without its
    tokens is refused by name (tests/policy/test_asymmetric_policy.py has the rest)."""
    root = etree.fromstring(
        f'<wsp:Policy xmlns:wsp="{ns.WSP15}" xmlns:sp="{ns.SP11}"><sp:AsymmetricBinding/></wsp:Policy>'
    )
    with pytest.raises(ConfigurationError, match=r"sp:AsymmetricBinding has no sp:InitiatorToken"):
        settings_from_policy(root)


# --- WS-Policy forms -----------------------------------------------------------------------
def test_first_supported_alternative_wins() -> None:
    good = policy_for(SecureConversationSettings(require_cancellation=False), policy_id="p")
    bad_alt = etree.fromstring(
        f'<wsp:All xmlns:wsp="{ns.WSP15}" xmlns:sp="{ns.SP11}"><sp:KerberosToken/></wsp:All>'
    )
    exactly_one = _one(good, "/wsp:Policy/wsp:ExactlyOne")
    exactly_one.insert(0, bad_alt)
    got = settings_from_policy(good)
    assert got.settings.require_cancellation is False
    exactly_one.remove(exactly_one[1])
    with pytest.raises(ConfigurationError, match="KerberosToken"):
        settings_from_policy(good)


def test_policy_reference_inside_a_policy_and_cycles() -> None:
    holder = etree.fromstring(f'<holder xmlns:wsp="{ns.WSP15}" xmlns:wsu="{ns.WSU}"/>')
    holder.append(policy_for(SecureConversationSettings(message_security_version=WSHTTP), policy_id="real"))
    outer = etree.SubElement(holder, ns.qn(ns.WSP15, "Policy"))
    etree.SubElement(outer, ns.qn(ns.WSP15, "PolicyReference"), URI="#real")
    assert settings_from_policy(outer).settings == SecureConversationSettings()
    loop = etree.SubElement(holder, ns.qn(ns.WSP15, "Policy"), {ns.qn(ns.WSU, "Id"): "loop"})
    etree.SubElement(loop, ns.qn(ns.WSP15, "PolicyReference"), URI="#loop")
    with pytest.raises(ConfigurationError, match="too deep"):
        settings_from_policy(loop)


def test_alternative_explosion_is_bounded() -> None:
    policy = etree.Element(ns.qn(ns.WSP15, "Policy"))
    for i in range(8):
        one = etree.SubElement(policy, ns.qn(ns.WSP15, "ExactlyOne"))
        etree.SubElement(one, ns.qn(ns.SP11, f"A{i}"))
        etree.SubElement(one, ns.qn(ns.SP11, f"B{i}"))
    with pytest.raises(ConfigurationError, match="more than 64 alternatives"):
        settings_from_policy(policy)


def test_sp11_also_accepts_sp_must_not_send_cancel() -> None:
    root = _mutated(SecureConversationSettings(), _add(SCT, "MustNotSendCancel"))
    got = settings_from_policy(root)
    assert got.settings.require_cancellation is False
    assert got.evidence.must_not_send_cancel == "sp:MustNotSendCancel"


def test_missing_binding_policy() -> None:
    wsdl = make_wsdl(policy_for(SecureConversationSettings(), policy_id="p"))
    wsdl = wsdl.replace(b'<wsp:PolicyReference URI="#p"/>', b"")
    with pytest.raises(ConfigurationError, match="carries no WS-Policy"):
        settings_from_wsdl(wsdl)
