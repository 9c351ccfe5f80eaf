"""A transport bootstrap's exported policy names the WS-Security version of its message
security version, as WCF's ``CreateWsspWssAssertion`` does for every security binding:
``sp:Wss10`` under the ``WSSecurity10…`` versions, ``sp:Wss11`` under the others; and the
policy reads back in the same family."""

from __future__ import annotations

import itertools

import pytest

from wssc.bootstrap.registry import BOOTSTRAPS, policy_for, settings_from_policy
from wssc.settings import (
    WS2007,
    WS2007_WSS10,
    WSHTTP,
    WSHTTP_WSS10,
    MessageSecurityVersion,
    SecureConversationSettings,
)

TRANSPORT = [k.key for k in BOOTSTRAPS.values() if k.security_mode == "transport"]
FAMILIES = [WSHTTP_WSS10, WS2007_WSS10, WSHTTP, WS2007]


def test_there_are_transport_bootstraps() -> None:
    assert len(TRANSPORT) >= 2


@pytest.mark.parametrize(
    ("bootstrap", "family", "session"),
    list(itertools.product(TRANSPORT, FAMILIES, [True, False])),
    ids=lambda v: getattr(v, "value", getattr(v, "name", str(v))),
)
def test_wss_assertion_follows_the_version(
    bootstrap: object, family: MessageSecurityVersion, session: bool
) -> None:
    settings = SecureConversationSettings(
        bootstrap=bootstrap,  # type: ignore[arg-type]
        message_security_version=family,
        establish_security_context=session,
    )
    policy = policy_for(settings, policy_id="p")
    sp = family.sp_ns
    wss10 = list(policy.iter(f"{{{sp}}}Wss10"))
    wss11 = list(policy.iter(f"{{{sp}}}Wss11"))
    if family.wss11:
        assert wss11 and not wss10
    else:
        assert wss10 and not wss11
        # the session's policy and its bootstrap policy both say so
        assert len(wss10) == (2 if session else 1)
    assert settings_from_policy(policy).settings.message_security_version.name == family.name
