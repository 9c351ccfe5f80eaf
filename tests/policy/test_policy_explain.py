"""``explain``: the plain-words summary behind ``wssc inspect``."""

from __future__ import annotations

import pytest
from policy_testkit import make_wsdl

from wssc.bootstrap.registry import explain, policy_for, settings_from_wsdl
from wssc.policy import ImportedEndpoint, PolicyEvidence
from wssc.settings import WS2007, WSHTTP, Bootstrap, SecureConversationSettings


def _explained(s: SecureConversationSettings) -> str:
    return explain(settings_from_wsdl(make_wsdl(policy_for(s, policy_id="p"))))


@pytest.mark.parametrize(
    ("version", "where"), [(WSHTTP, "mssp:MustNotSendCancel"), (WS2007, "sp:MustNotSendCancel")]
)
def test_cookie_mode_says_no_cancel_and_why(version: object, where: str) -> None:
    text = _explained(
        SecureConversationSettings(require_cancellation=False, message_security_version=version)
    )  # type: ignore[arg-type]
    assert (
        f"No Cancel will be sent: the policy carries {where} (require_cancellation=False, cookie mode)."
    ) in text
    assert "cookie mode" in text and "session mode" not in text
    assert "A Cancel" not in text


def test_session_mode_says_cancel_will_be_sent() -> None:
    text = _explained(SecureConversationSettings())
    assert "A Cancel (RST/SCT/Cancel) will be sent when the client closes" in text
    assert "No Cancel" not in text
    assert "WSHttpBinding" in text and "WS-SecurityPolicy 1.1" in text
    assert "AnonymousForCertificate" in text
    assert "Basic256 (aes256-cbc, hmac-sha1" in text
    assert "Derived keys:    on" in text
    assert "WS-SecurityPolicy 1.1 cannot forbid Renew" in text
    assert "Amend" not in text


def test_renew_forbidden_under_sp12() -> None:
    text = _explained(SecureConversationSettings(can_renew_session=False, message_security_version=WS2007))
    assert "Renew:           not allowed: the policy carries sp:MustNotSendRenew" in text
    assert "an expired key ends the session" in text
    assert "WS2007HttpBinding" in text
    assert "Amend:           never" in text


def test_renew_allowed_under_sp12() -> None:
    text = _explained(SecureConversationSettings(message_security_version=WS2007))
    assert "Renew:           allowed: the client renews the key" in text


def test_transport_without_session() -> None:
    s = SecureConversationSettings(
        bootstrap=Bootstrap.USERNAME_OVER_TRANSPORT, establish_security_context=False
    )
    text = _explained(s)
    assert "Secure session:  no" in text
    assert "establish_security_context=False" in text
    assert "Cancel:" not in text and "Renew:" not in text
    assert "Derived keys:    off: over transport" in text
    assert "UserNameOverTransport" in text


def test_missing_certificate_is_pointed_out() -> None:
    ep = ImportedEndpoint(
        address=None, soap_version="1.1", settings=SecureConversationSettings(), evidence=PolicyEvidence()
    )
    text = explain(ep)
    assert "(no address)" in text and "SOAP 1.1" in text
    assert "not in the WSDL: supply it out of band" in text
