"""``wssc serve`` flags become the endpoint's settings, and its published policy follows."""

from __future__ import annotations

import pathlib

import pytest
from lxml import etree

import servers
from wssc.bootstrap.registry import policy_for
from wssc.cli.endpoint import _settings, run_serve
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


def test_serve_keeps_idle_connections_as_wcfs_hosts_do(
    monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path
) -> None:
    """uvicorn's own default closes an idle connection after 5 s; Java's HttpClient (CXF's
    default conduit) then sends its next POST on the closed pooled connection and fails
    unsent (interop/cxf/FINDINGS C19). ``wssc serve`` keeps idle connections 120 s, as
    HTTP.sys does for WCF (Kestrel: 130 s). The uvicorn configuration ``wssc serve`` runs:"""
    import uvicorn

    seen: list[uvicorn.Config] = []

    def run(self: uvicorn.Server, sockets: object = None) -> None:
        seen.append(self.config)
        self.started = True

    monkeypatch.setattr(uvicorn.Server, "run", run)
    port = servers.free_port()
    args = build_parser().parse_args(["serve", "--port", str(port), "--cert-dir", str(tmp_path)])
    assert run_serve(args) == 0
    (config,) = seen
    assert config.timeout_keep_alive == 120


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        ([], "session mode"),
        (["--no-require-cancellation"], "cookie mode"),
        (["--no-secure-context"], "no security context (per-message)"),
    ],
)
def test_the_banner_names_how_messages_are_secured(flags: list[str], words: str) -> None:
    """The banner once said "session mode" under ``--no-secure-context`` too."""
    from wssc.cli.endpoint import _mode

    args = build_parser().parse_args(["serve", *flags])
    assert _mode(_settings(args).secure_conversation) == words
