"""Credentials are objects the public API takes (`ClientCredentials`, `ServiceCredentials`);
the convenient keywords are shorthand that builds them, and the two cannot disagree."""

from __future__ import annotations

import pytest

from wssc.bootstrap.registry import ClientCredentials, ServiceCredentials
from wssc.certs import generate_self_signed
from wssc.client import Client
from wssc.demo import Calculator
from wssc.errors import ConfigurationError
from wssc.service.engine import ServiceEngine
from wssc.settings import Bootstrap, EndpointSettings, SecureConversationSettings

CERT = generate_self_signed("credentials-test")
UNOT = EndpointSettings(SecureConversationSettings(bootstrap=Bootstrap.USERNAME_OVER_TRANSPORT))


def test_shorthand_fills_the_object_and_a_contradiction_is_refused() -> None:
    creds = ClientCredentials.of(ClientCredentials(username="alice"), password="pw")
    assert (creds.username, creds.password) == ("alice", "pw")
    assert ClientCredentials.of(ClientCredentials(username="alice"), username="alice") == creds.__class__(
        username="alice"
    )
    with pytest.raises(ConfigurationError, match="username given twice"):
        ClientCredentials.of(ClientCredentials(username="alice"), username="bob")
    with pytest.raises(ConfigurationError, match="has no client_certificate"):
        ClientCredentials.of(client_certificate=CERT)
    assert ClientCredentials(username="a").with_defaults(
        service_certificate=CERT, username="b"
    ) == ClientCredentials(CERT, "a")


def test_a_client_takes_credentials_or_their_shorthand() -> None:
    from wssc.contract import get_contract

    contract = get_contract(Calculator)
    for kw in (
        {"credentials": ClientCredentials(username="alice", password="pw")},
        {"username": "alice", "password": "pw"},
    ):
        with Client("https://h.example/svc", contract, settings=UNOT, **kw) as client:  # type: ignore[arg-type]
            assert client.session.bootstrap.username == "alice"  # type: ignore[attr-defined]
    with pytest.raises(ConfigurationError, match="needs a username and a password"):
        Client(
            "https://h.example/svc", contract, settings=UNOT, credentials=ClientCredentials(username="alice")
        )


def test_a_service_takes_credentials_or_their_shorthand() -> None:
    def validator(u: str, p: str) -> bool:
        return False

    by_object = ServiceEngine(
        Calculator(),
        address="https://h.example/svc",
        settings=UNOT,
        credentials=ServiceCredentials(username_validator=validator, require_tls=False),
    )
    by_keyword = ServiceEngine(
        Calculator(),
        address="https://h.example/svc",
        settings=UNOT,
        username_validator=validator,
        require_tls_for_username=False,
    )
    for engine in (by_object, by_keyword):
        assert engine.credentials == ServiceCredentials(None, validator, False)
        assert engine.require_tls is False
    afc = ServiceEngine(
        Calculator(), address="http://h.example/svc", credentials=ServiceCredentials(certificate=CERT)
    )
    assert afc.certificate is CERT
