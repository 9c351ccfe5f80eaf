"""mssp:SslContextToken in WCF's shapes (negotiation.md §8; §0.5: RequireClientCertificate only
for MutualSslNegotiated), checked with XPath, read back, and explained by ``wssc inspect``."""

from __future__ import annotations

import copy

import pytest
from lxml import etree

from wssc.bootstrap.registry import bootstrap_kind, policy_for, settings_from_policy
from wssc.errors import ConfigurationError
from wssc.policy.explain import explain_endpoint
from wssc.policy.model import ImportedEndpoint
from wssc.settings import WS2007, WSHTTP, Bootstrap, MessageSecurityVersion, SecureConversationSettings
from wssc.xml import ns

ALWAYS = {
    ns.SP11: "http://schemas.xmlsoap.org/ws/2005/07/securitypolicy/IncludeToken/AlwaysToRecipient",
    ns.SP12: "http://docs.oasis-open.org/ws-sx/ws-securitypolicy/200702/IncludeToken/AlwaysToRecipient",
}
BOOT = (
    "/wsp:Policy/wsp:ExactlyOne/wsp:All/sp:SymmetricBinding/wsp:Policy/sp:ProtectionToken/wsp:Policy"
    "/sp:SecureConversationToken/wsp:Policy/sp:BootstrapPolicy/wsp:Policy"
)
TOKEN = BOOT + "/sp:SymmetricBinding/wsp:Policy/sp:ProtectionToken/wsp:Policy/mssp:SslContextToken"
VARIANTS = [Bootstrap.TLSNEGO, Bootstrap.USERNAME_FOR_SSL, Bootstrap.MUTUAL_SSL]


def _x(el: etree._Element, path: str, sp: str) -> list[etree._Element]:
    found = el.xpath(path, namespaces={"wsp": ns.WSP15, "sp": sp, "mssp": ns.MSSP})
    assert isinstance(found, list)
    return [e for e in found if isinstance(e, etree._Element)]


@pytest.mark.parametrize("family", [WSHTTP, WS2007], ids=lambda f: f.name)
@pytest.mark.parametrize("variant", VARIANTS, ids=lambda b: b.value)
@pytest.mark.parametrize("derived", [True, False])
def test_export_is_wcfs_shape(family: MessageSecurityVersion, variant: Bootstrap, derived: bool) -> None:
    s = SecureConversationSettings(
        bootstrap=variant, message_security_version=family, require_derived_keys=derived
    )
    sp = family.sp_ns
    root = policy_for(s, policy_id="p")
    tokens = _x(root, TOKEN, sp)
    assert len(tokens) == 1
    assert tokens[0].get(f"{{{sp}}}IncludeToken") == ALWAYS[sp]  # an sp: attribute on an mssp: token
    nested = [etree.QName(e) for e in _x(tokens[0], "wsp:Policy/*", sp)]
    mutual = variant == Bootstrap.MUTUAL_SSL
    expected = [(sp, "RequireDerivedKeys")] if derived else []
    if sp == ns.SP12:
        expected.append((sp, "MustNotSendCancel"))
    if mutual:
        expected.append((ns.MSSP, "RequireClientCertificate"))
    if sp == ns.SP12:
        expected += [(sp, "MustNotSendAmend"), (sp, "MustNotSendRenew")]
    assert [(q.namespace, q.localname) for q in nested] == expected
    boot = _x(root, BOOT, sp)[0]
    username = _x(boot, "*/wsp:Policy/sp:UsernameToken", sp)
    assert len(username) == (1 if variant == Bootstrap.USERNAME_FOR_SSL else 0)
    if username:  # WCF: SignedEncrypted under SP 1.2, Signed under SP 1.1
        parent = etree.QName(username[0].getparent().getparent())  # type: ignore[union-attr]
        want = "SignedEncryptedSupportingTokens" if sp == ns.SP12 else "SignedSupportingTokens"
        assert parent.localname == want
    assert _x(root, "//sp:X509Token", sp) == []  # the certificate travels in the handshake


@pytest.mark.parametrize("family", [WSHTTP, WS2007], ids=lambda f: f.name)
@pytest.mark.parametrize("variant", VARIANTS, ids=lambda b: b.value)
def test_import_recognises_each_variant(family: MessageSecurityVersion, variant: Bootstrap) -> None:
    for derived in (True, False):
        s = SecureConversationSettings(
            bootstrap=variant, message_security_version=family, require_derived_keys=derived
        )
        imported = settings_from_policy(policy_for(s, policy_id="p")).settings
        assert imported.bootstrap == variant
        assert imported.message_security_version is family


def test_rewriting_the_nested_policy_changes_the_variant_or_refuses() -> None:
    """Adding mssp:RequireClientCertificate to the anonymous shape makes it Mutual; an assertion
    WCF's shape does not have is not recognised."""
    sp = WS2007.sp_ns
    root = policy_for(
        SecureConversationSettings(bootstrap=Bootstrap.TLSNEGO, message_security_version=WS2007),
        policy_id="p",
    )
    mutual = copy.deepcopy(root)
    nested = _x(mutual, TOKEN + "/wsp:Policy", sp)[0]
    nested.insert(2, etree.Element(f"{{{ns.MSSP}}}RequireClientCertificate"))
    assert settings_from_policy(mutual).settings.bootstrap == Bootstrap.MUTUAL_SSL
    odd = copy.deepcopy(root)
    etree.SubElement(_x(odd, TOKEN + "/wsp:Policy", sp)[0], f"{{{sp}}}RequireExternalUriReference")
    with pytest.raises(ConfigurationError):
        settings_from_policy(odd)


def test_sp11_mutual_shape_and_without_the_client_certificate() -> None:
    """SP 1.1 as WCF writes MutualSslNegotiated for wsHttpBinding; without its
    mssp:RequireClientCertificate the same policy is anonymous TLS (negotiation.md §8)."""
    sp = WSHTTP.sp_ns
    root = policy_for(
        SecureConversationSettings(bootstrap=Bootstrap.MUTUAL_SSL, message_security_version=WSHTTP),
        policy_id="p",
    )
    token = _x(root, TOKEN, sp)[0]
    nested = _x(token, "wsp:Policy", sp)[0]
    assert [etree.QName(e).localname for e in nested] == ["RequireDerivedKeys", "RequireClientCertificate"]
    assert settings_from_policy(root).settings.bootstrap == Bootstrap.MUTUAL_SSL
    nested.remove(nested[1])
    assert settings_from_policy(root).settings.bootstrap == Bootstrap.TLSNEGO


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda b: b.value)
def test_inspect_explains_it(variant: Bootstrap) -> None:
    s = SecureConversationSettings(bootstrap=variant, message_security_version=WSHTTP)
    imported = settings_from_policy(policy_for(s, policy_id="p"))
    endpoint = ImportedEndpoint("http://svc.example/svc", "1.2", imported.settings)
    kind = bootstrap_kind(variant)
    text = explain_endpoint(endpoint, kind.shape, kind.security_mode)
    assert (
        f"Bootstrap:       {variant.value}: a TLS handshake negotiated over WS-Trust legs (TLSNEGO)" in text
    )
    assert "mssp:SslContextToken" in text
    assert ("mssp:RequireClientCertificate" in text) is (variant == Bootstrap.MUTUAL_SSL)
    assert ("UsernameToken" in text) is (variant == Bootstrap.USERNAME_FOR_SSL)
    assert "Service cert:    not in the WSDL: supply it out of band" in text
