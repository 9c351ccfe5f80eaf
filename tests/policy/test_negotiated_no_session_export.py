"""The policy a service exports for ``establish_security_context=False`` over a negotiating
bootstrap, in WCF's shape (wsHttpBinding, Windows or UserName credentials,
establishSecurityContext=false): the SymmetricBinding's protection token is the negotiated
token itself (``sp:SpnegoContextToken``, ``mssp:SslContextToken``), never a
SecureConversationToken; under SP 1.2 it says MustNotSendCancel, Amend and Renew."""

from __future__ import annotations

import pytest
from lxml import etree

from wssc.bootstrap.registry import policy_for
from wssc.settings import WS2007, WSHTTP, Bootstrap, MessageSecurityVersion, SecureConversationSettings
from wssc.xml import ns

TOKENS = {Bootstrap.SPNEGO: "SpnegoContextToken", Bootstrap.USERNAME_FOR_SSL: "SslContextToken"}


@pytest.mark.parametrize("bootstrap", list(TOKENS), ids=lambda b: b.name)
@pytest.mark.parametrize("version", [WSHTTP, WS2007], ids=lambda v: v.name)
def test_the_protection_token_is_the_negotiated_token(
    bootstrap: Bootstrap, version: MessageSecurityVersion
) -> None:
    s = SecureConversationSettings(
        bootstrap=bootstrap, message_security_version=version, establish_security_context=False
    )
    root = policy_for(s, policy_id="p")
    local = lambda el: etree.QName(el).localname  # noqa: E731
    names = [local(e) for e in root.iter() if isinstance(e.tag, str)]
    assert "SecureConversationToken" not in names and "BootstrapPolicy" not in names
    binding = next(e for e in root.iter() if isinstance(e.tag, str) and local(e) == "SymmetricBinding")
    protection = next(e for e in binding.iter() if isinstance(e.tag, str) and local(e) == "ProtectionToken")
    tokens = [e for e in protection.iter() if isinstance(e.tag, str) and local(e) == TOKENS[bootstrap]]
    assert len(tokens) == 1
    token = tokens[0]
    include = next(v for k, v in token.attrib.items() if etree.QName(k).localname == "IncludeToken")
    assert include.endswith("/AlwaysToRecipient")
    flags = {local(e) for e in token.iter() if isinstance(e.tag, str)}
    if version is WS2007:
        assert {"MustNotSendCancel", "MustNotSendAmend", "MustNotSendRenew"} <= flags
        assert etree.QName(token).namespace == (ns.SP12 if bootstrap is Bootstrap.SPNEGO else ns.MSSP)
    else:
        assert not {"MustNotSendCancel", "MustNotSendAmend", "MustNotSendRenew"} & flags
