"""Which token may endorse a message comes from the MessagePolicy (issue 14), not from the
engine: ``endorsing_tokens`` names the token types; by default the policy's SCT type."""

from __future__ import annotations

from dataclasses import replace

import pytest
from lxml import etree

from wssc.errors import InvalidSecurity
from wssc.security import MessagePolicy, SctProtection, protect, verify
from wssc.tokens import SecurityContextToken
from wssc.xml import ns
from wssc.xml.soap import SOAP_12

from .helpers import T0, plain_envelope

A = SecurityContextToken("urn:uuid:aaaaaaaa-0000-4000-8000-000000000001")
B = SecurityContextToken("urn:uuid:bbbbbbbb-0000-4000-8000-000000000002")
KEYS = {A.identifier: bytes(range(1, 33)), B.identifier: bytes(range(101, 133))}
SENT = MessagePolicy(sc=ns.SC_FEB2005)
RECEIVED = replace(SENT, require_endorsing_signature=True)


def resolve(tok: SecurityContextToken, sc: ns.ScVersion) -> bytes | None:
    return KEYS.get(tok.identifier)


def endorsed(endorser: SecurityContextToken = B, sent: MessagePolicy = SENT) -> bytes:
    root = protect(
        plain_envelope(SOAP_12),
        SctProtection(A, KEYS[A.identifier]),
        sent,
        now=T0,
        endorsing=SctProtection(endorser, KEYS[endorser.identifier]),
    )
    return etree.tostring(root)


def test_the_default_policy_accepts_the_sct_of_its_version() -> None:
    assert RECEIVED.endorsing_token_types == {ns.SC_FEB2005.sct_token_type}
    r = verify(endorsed(), resolver=resolve, policy=RECEIVED, now=T0)
    assert r.endorsing_sct is not None and r.endorsing_sct.identifier == B.identifier
    assert r.signing_sct is not None and r.signing_sct.identifier == A.identifier


def test_a_token_type_the_policy_does_not_name_is_refused() -> None:
    policy = replace(RECEIVED, endorsing_tokens=frozenset({ns.SC_V13.sct_token_type}))
    with pytest.raises(
        InvalidSecurity, match="the endorsing signature is not made with the key of a token the policy names"
    ):
        verify(endorsed(), resolver=resolve, policy=policy, now=T0)


def test_without_the_requirement_a_second_signature_is_refused() -> None:
    with pytest.raises(InvalidSecurity, match="only one message signature is supported"):
        plain = replace(SENT, encrypt_signature=False)
        verify(endorsed(sent=plain), resolver=resolve, policy=plain, now=T0)
