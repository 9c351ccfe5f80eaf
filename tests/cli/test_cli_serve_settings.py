"""``wssc serve`` flags become the endpoint's settings, and its published policy follows."""

from __future__ import annotations

import pytest
from lxml import etree

from wssc.bootstrap.registry import policy_for
from wssc.cli.endpoint import _settings
from wssc.cli.main import build_parser
from wssc.xml import ns


def serve_settings(*argv: str):  # type: ignore[no-untyped-def]
    return _settings(build_parser().parse_args(["serve", *argv]))


@pytest.mark.parametrize(
    ("order", "encrypted"),
    [
        (None, True),
        ("SignBeforeEncryptAndEncryptSignature", True),
        ("SignBeforeEncrypt", False),
    ],
)
def test_protection_order(order: str | None, encrypted: bool) -> None:
    """WCF's messageProtectionOrder: the default encrypts the signature (sp:EncryptSignature
    in the policy); SignBeforeEncrypt does not (Metro needs it to renew: FINDINGS.md M12)."""
    settings = serve_settings(*(["--protection-order", order] if order else []))
    scs = settings.secure_conversation
    assert scs.encrypt_signature is encrypted
    xml = etree.tostring(policy_for(scs, policy_id="p"))
    assert (b"EncryptSignature" in xml) is encrypted
    assert ns.SP11.encode() in xml or ns.SP12.encode() in xml


def test_unknown_protection_order_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        serve_settings("--protection-order", "EncryptBeforeSign")
    assert exit_.value.code == 2
    assert "SignBeforeEncrypt" in capsys.readouterr().err
