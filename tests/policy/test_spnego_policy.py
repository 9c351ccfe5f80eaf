"""sp:SpnegoContextToken in WCF's shape (negotiation.md §8), checked with XPath, and read back."""

from __future__ import annotations

import copy

import pytest
from lxml import etree

from wssc.bootstrap.registry import policy_for, settings_from_policy
from wssc.errors import ConfigurationError
from wssc.settings import WS2007, WSHTTP, Bootstrap, MessageSecurityVersion, SecureConversationSettings
from wssc.xml import ns

ALWAYS = {
    ns.SP11: "http://schemas.xmlsoap.org/ws/2005/07/securitypolicy/IncludeToken/AlwaysToRecipient",
    ns.SP12: "http://docs.oasis-open.org/ws-sx/ws-securitypolicy/200702/IncludeToken/AlwaysToRecipient",
}
TOKEN = (
    "/wsp:Policy/wsp:ExactlyOne/wsp:All/sp:SymmetricBinding/wsp:Policy/sp:ProtectionToken/wsp:Policy"
    "/sp:SecureConversationToken/wsp:Policy/sp:BootstrapPolicy/wsp:Policy/sp:SymmetricBinding/wsp:Policy"
    "/sp:ProtectionToken/wsp:Policy/sp:SpnegoContextToken"
)


def _x(el: etree._Element, path: str, sp: str) -> list[etree._Element]:
    found = el.xpath(path, namespaces={"wsp": ns.WSP15, "sp": sp})
    assert isinstance(found, list)
    return [e for e in found if isinstance(e, etree._Element)]


@pytest.mark.parametrize("family", [WSHTTP, WS2007], ids=lambda f: f.name)
@pytest.mark.parametrize("derived", [True, False])
def test_export_is_wcfs_shape(family: MessageSecurityVersion, derived: bool) -> None:
    s = SecureConversationSettings(
        bootstrap=Bootstrap.SPNEGO, message_security_version=family, require_derived_keys=derived
    )
    sp = family.sp_ns
    root = policy_for(s, policy_id="p")
    tokens = _x(root, TOKEN, sp)
    assert len(tokens) == 1
    assert tokens[0].get(f"{{{sp}}}IncludeToken") == ALWAYS[sp]
    nested = [etree.QName(e) for e in _x(tokens[0], "wsp:Policy/*", sp)]
    expected = ["RequireDerivedKeys"] if derived else []
    if sp == ns.SP12:  # SPNEGO's negotiated SCT: always MustNotSendCancel, Amend and Renew
        expected += ["MustNotSendCancel", "MustNotSendAmend", "MustNotSendRenew"]
    assert [q.localname for q in nested] == expected
    assert {q.namespace for q in nested} <= {sp}
    boot = _x(
        root, TOKEN.split("/sp:SymmetricBinding/wsp:Policy/sp:ProtectionToken/wsp:Policy/sp:Spnego")[0], sp
    )
    assert len(_x(boot[0], "sp:Wss11/wsp:Policy", sp)) == 1 and _x(boot[0], "sp:Wss11/wsp:Policy/*", sp) == []
    assert _x(root, "//sp:X509Token", sp) == []  # no service certificate takes part


@pytest.mark.parametrize("family", [WSHTTP, WS2007], ids=lambda f: f.name)
def test_import_recognises_it_and_only_it(family: MessageSecurityVersion) -> None:
    s = SecureConversationSettings(bootstrap=Bootstrap.SPNEGO, message_security_version=family)
    root = policy_for(s, policy_id="p")
    assert settings_from_policy(root).settings.bootstrap == Bootstrap.SPNEGO
    sp = family.sp_ns
    odd = copy.deepcopy(root)
    token = _x(odd, TOKEN, sp)[0]
    etree.SubElement(token.find(f"{{{ns.WSP15}}}Policy"), f"{{{sp}}}RequireExternalUriReference")
    with pytest.raises(ConfigurationError, match="sp:SpnegoContextToken is not supported"):
        settings_from_policy(odd)  # an assertion WCF's shape does not have: not recognised
