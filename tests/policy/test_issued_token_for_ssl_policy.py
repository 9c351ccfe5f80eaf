"""IssuedTokenForSslNegotiated's policy asks for SignatureConfirmation where WCF's does.

``SecurityBindingElement.CreateIssuedTokenForSslBindingElement`` sets
``RequireSignatureConfirmation``, which ``WSSecurityPolicy.CreateWsspWss11Assertion`` writes as
``sp:RequireSignatureConfirmation`` in that binding's ``sp:Wss11``: the endpoint's own without a
session, the ``sp:BootstrapPolicy``'s with one (``CreateSecureConversationBindingElement`` turns
it off for the session binding, so the outer ``sp:Wss11`` has none). The importer recognises
both shapes as this bootstrap and reports the requirement.
"""

from __future__ import annotations

import pytest
from lxml import etree

from wssc.bootstrap.registry import policy_for, settings_from_policy
from wssc.settings import WS2007, WSHTTP, Bootstrap, MessageSecurityVersion, SecureConversationSettings
from wssc.xml import ns

ALL = "/wsp:Policy/wsp:ExactlyOne/wsp:All"


def _x(el: etree._Element, path: str, sp: str) -> list[etree._Element]:
    got = el.xpath(path, namespaces={"wsp": ns.WSP15, "sp": sp})
    assert isinstance(got, list)
    return [g for g in got if isinstance(g, etree._Element)]


@pytest.mark.parametrize("version", [WSHTTP, WS2007], ids=lambda v: v.name)
@pytest.mark.parametrize("session", [True, False], ids=["session", "no-session"])
def test_the_bootstrap_requires_signature_confirmation(
    version: MessageSecurityVersion, session: bool
) -> None:
    s = SecureConversationSettings(
        bootstrap=Bootstrap.ISSUED_TOKEN_FOR_SSL,
        message_security_version=version,
        establish_security_context=session,
    )
    sp = version.sp_ns
    root = policy_for(s, policy_id="p")
    confirm = "sp:Wss11/wsp:Policy/sp:RequireSignatureConfirmation"
    boot = (
        f"{ALL}/sp:SymmetricBinding/wsp:Policy/sp:ProtectionToken/wsp:Policy/sp:SecureConversationToken"
        "/wsp:Policy/sp:BootstrapPolicy/wsp:Policy"
        if session
        else ALL
    )
    assert len(_x(root, f"{boot}/{confirm}", sp)) == 1
    assert len(_x(root, "//sp:RequireSignatureConfirmation", sp)) == 1  # not on the session binding
    imported = settings_from_policy(root)
    assert imported.settings.bootstrap is Bootstrap.ISSUED_TOKEN_FOR_SSL
    assert imported.settings.establish_security_context is session
    assert imported.evidence.bootstrap_signature_confirmation is True


@pytest.mark.parametrize("session", [True, False], ids=["session", "no-session"])
def test_the_shape_without_it_is_still_recognised(session: bool) -> None:
    """A policy that leaves it out (wssc's before) still imports as this bootstrap."""
    s = SecureConversationSettings(
        bootstrap=Bootstrap.ISSUED_TOKEN_FOR_SSL, establish_security_context=session
    )
    root = policy_for(s, policy_id="p")
    (el,) = _x(root, "//sp:RequireSignatureConfirmation", s.message_security_version.sp_ns)
    parent = el.getparent()
    assert parent is not None
    parent.remove(el)
    imported = settings_from_policy(root)
    assert imported.settings.bootstrap is Bootstrap.ISSUED_TOKEN_FOR_SSL
    assert imported.evidence.bootstrap_signature_confirmation is False
