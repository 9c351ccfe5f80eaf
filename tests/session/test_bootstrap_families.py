"""``BootstrapKind.families`` is enforced: a bootstrap runs only in the version families it
lists, on the client and on the service, and today's bootstraps list both."""

from __future__ import annotations

from dataclasses import replace

import pytest
from lxml import etree

from wssc.bootstrap.registry import BOOTSTRAPS, BootstrapKind
from wssc.errors import ConfigurationError
from wssc.settings import WS2007, WSHTTP, EndpointSettings, SecureConversationSettings


@pytest.mark.parametrize("kind", list(BOOTSTRAPS.values()), ids=lambda k: k.cli_name)
def test_a_bootstrap_runs_only_in_its_families(kind: BootstrapKind) -> None:
    assert {WSHTTP, WS2007} <= set(kind.families)
    only_2005 = replace(kind, families=(WSHTTP,))
    in_2005 = EndpointSettings(
        SecureConversationSettings(bootstrap=kind.key, message_security_version=WSHTTP)
    )
    in_2007 = replace(
        in_2005, secure_conversation=replace(in_2005.secure_conversation, message_security_version=WS2007)
    )
    for role in ("client", "service"):
        assert only_2005.message_policy(in_2005, role).sc is WSHTTP.sc
        assert kind.message_policy(in_2007, role).sc is WS2007.sc
        with pytest.raises(ConfigurationError) as info:
            only_2005.message_policy(in_2007, role)
        assert info.value.detail == (
            f"{kind.key.value} does not run in the {WS2007.name} family (it runs in: {WSHTTP.name})"
        )


def test_every_name_the_registry_lists_parses_to_its_kind() -> None:
    """`parse_bootstrap` knows each kind by its WCF name, its cli_name and its aliases (the
    registry's, nowhere else), ignoring case, '-' and '_'; anything else is refused."""
    from wssc.bootstrap.registry import parse_bootstrap

    for key, kind in BOOTSTRAPS.items():
        for name in (key.value, kind.cli_name, *kind.aliases):
            assert parse_bootstrap(name) is key
            assert parse_bootstrap(name.upper().replace("-", "_")) is key
    with pytest.raises(ValueError, match="choose one of"):
        parse_bootstrap("no-such-bootstrap")


@pytest.mark.parametrize("kind", list(BOOTSTRAPS.values()), ids=lambda k: k.cli_name)
def test_each_kind_names_the_client_credentials_it_uses(kind: BootstrapKind) -> None:
    """What a kind declares is what its client half needs: without one of them it refuses
    to be made, with all of them (and nothing else) it is made."""
    from dataclasses import fields

    from wssc.bootstrap.registry import ClientCredentials
    from wssc.certs import generate_self_signed
    from wssc.errors import ConfigurationError
    from wssc.federation.token import IssuedToken
    from wssc.tokens.str_ import SecurityTokenReference

    names = {f.name for f in fields(ClientCredentials)}
    assert kind.client_credentials and kind.client_credentials <= names
    cert = generate_self_signed("credentials.test")
    values = {
        "service_certificate": cert,
        "username": "alice",
        "password": "pw",
        "certificate": cert,
        "spn": "HTTP/service.test",
        "issued_token": IssuedToken(
            etree.Element("{urn:oasis:names:tc:SAML:2.0:assertion}Assertion", ID="_t"),
            None if kind.requires("bearer") else bytes(32),  # a bearer token has no proof key
            SecurityTokenReference(),
            "",
            None,
        ),
    }
    full = ClientCredentials(**{k: values[k] for k in kind.client_credentials})  # type: ignore[arg-type]
    assert kind.client_half(full) is not None
    for missing in kind.client_credentials:
        partial = ClientCredentials(
            **{k: values[k] for k in kind.client_credentials if k != missing}  # type: ignore[arg-type]
        )
        with pytest.raises(ConfigurationError):
            kind.client_half(partial)
