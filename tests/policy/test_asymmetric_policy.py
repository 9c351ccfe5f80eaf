"""MutualCertificate under WS-Security 1.0 publishes WCF's ``sp:AsymmetricBinding`` (X.509
initiator and recipient tokens, no derived keys) with ``sp:Wss10``, one-shot and as a
session's bootstrap, in both families; the importer reads it back to the same settings, and
refuses the shapes wssc does not speak with a clear error."""

from __future__ import annotations

import pytest
from lxml import etree

from wssc.bootstrap.registry import explain, policy_for, settings_from_policy
from wssc.errors import ConfigurationError
from wssc.policy.model import ImportedEndpoint
from wssc.settings import (
    WS2007_WSS10,
    WSHTTP_WSS10,
    Bootstrap,
    MessageSecurityVersion,
    SecureConversationSettings,
)
from wssc.xml import ns


def settings(version: MessageSecurityVersion, session: bool) -> SecureConversationSettings:
    return SecureConversationSettings(
        bootstrap=Bootstrap.MUTUAL_CERTIFICATE,
        message_security_version=version,
        establish_security_context=session,
    )


def find(root: etree._Element, sp: str, local: str) -> list[etree._Element]:
    return list(root.iter(f"{{{sp}}}{local}"))


@pytest.mark.parametrize("session", [True, False], ids=["session", "one-shot"])
@pytest.mark.parametrize("version", [WSHTTP_WSS10, WS2007_WSS10], ids=lambda v: v.name)
def test_the_asymmetric_shape_round_trips(version: MessageSecurityVersion, session: bool) -> None:
    s = settings(version, session)
    root = policy_for(s, policy_id="p")
    sp = version.sp_ns
    (binding,) = find(root, sp, "AsymmetricBinding")
    (initiator,) = find(binding, sp, "InitiatorToken")
    (recipient,) = find(binding, sp, "RecipientToken")
    include = f"{{{sp}}}IncludeToken"
    assert [t.get(include, "").rsplit("/", 1)[1] for t in find(initiator, sp, "X509Token")] == [
        "AlwaysToRecipient"
    ]
    assert [t.get(include, "").rsplit("/", 1)[1] for t in find(recipient, sp, "X509Token")] == ["Never"]
    assert find(binding, sp, "RequireDerivedKeys") == []
    assert find(root, sp, "Wss11") == [] and len(find(root, sp, "Wss10")) == (2 if session else 1)
    assert find(root, sp, "RequireSignatureConfirmation") == []
    assert len(find(root, sp, "SecureConversationToken")) == (1 if session else 0)
    got = settings_from_policy(root).settings
    assert got.bootstrap is Bootstrap.MUTUAL_CERTIFICATE
    assert got.message_security_version is version
    assert got.establish_security_context is session
    # one-shot, only the X.509 tokens speak, and they derive no keys (WCF's shape)
    assert got.require_derived_keys is (s.require_derived_keys and session)


def test_inspect_names_the_asymmetric_binding() -> None:
    s = settings(WS2007_WSS10, False)
    imported = settings_from_policy(policy_for(s, policy_id="p"))
    text = explain(ImportedEndpoint("http://x/svc", "1.2", imported.settings, policy_id="p"))
    assert "MutualCertificate" in text and "sp:AsymmetricBinding" in text, text
    assert "WS-Security 1.0" in text, text


def _edit(s: SecureConversationSettings, fn: object) -> etree._Element:
    root = policy_for(s, policy_id="p")
    fn(root, s.message_security_version.sp_ns)  # type: ignore[operator]
    return root


def test_an_asymmetric_binding_under_wss11_is_refused() -> None:
    """Metro's and WSS4J's own MutualCertificate profiles (AsymmetricBinding + Wss11 with
    SignatureConfirmation) are not WCF's shape: refused by name, not misread."""

    def to_wss11(root: etree._Element, sp: str) -> None:
        (wss10,) = find(root, sp, "Wss10")
        wss10.tag = f"{{{sp}}}Wss11"

    root = _edit(settings(WSHTTP_WSS10, False), to_wss11)
    with pytest.raises(ConfigurationError, match=r"sp:AsymmetricBinding with sp:Wss11 is not supported"):
        settings_from_policy(root)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ("derived", "sp:RequireDerivedKeys on an sp:AsymmetricBinding token is not supported"),
        ("include", "has sp:IncludeToken="),
        ("token", "in an sp:AsymmetricBinding is not supported"),
    ],
)
def test_other_asymmetric_tokens_are_refused(edit: str, message: str) -> None:
    def change(root: etree._Element, sp: str) -> None:
        (recipient,) = find(root, sp, "RecipientToken")
        (token,) = find(recipient, sp, "X509Token")
        if edit == "derived":
            (inner,) = token
            etree.SubElement(inner, f"{{{sp}}}RequireDerivedKeys")
        elif edit == "include":
            token.set(f"{{{sp}}}IncludeToken", sp + "/IncludeToken/AlwaysToRecipient")
        else:
            token.tag = f"{{{sp}}}KerberosToken"

    root = _edit(settings(WS2007_WSS10, False), change)
    with pytest.raises(ConfigurationError, match=message):
        settings_from_policy(root)


def test_the_symmetric_shape_stays_for_wss11() -> None:
    """WS-Security 1.1 keeps WCF's SymmetricBinding shape (the default families)."""
    s = SecureConversationSettings(bootstrap=Bootstrap.MUTUAL_CERTIFICATE, establish_security_context=False)
    root = policy_for(s, policy_id="p")
    assert find(root, ns.SP11, "AsymmetricBinding") == []
    assert len(find(root, ns.SP11, "SymmetricBinding")) == 1
    assert len(find(root, ns.SP11, "Wss11")) == 1
