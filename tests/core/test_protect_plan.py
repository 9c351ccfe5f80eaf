"""protect's per-(token, policy) `Plan` of WCF's default layout (issue 19).

The fast writer works out the text a token and a policy fix (the token's text, the
DerivedKeyTokens' and references' fixed parts, the EncryptedData's heads) once, and finds it
again only for the very same two objects. Each test here protects with the randomness and the
clock pinned and compares the bytes with the general writer's (``_both``); the departures
(pairs with no plan, a plan filed under a reused id, ids already in the envelope) are forced
and the refusals checked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from wssc.certs import generate_self_signed
from wssc.errors import DuplicateId
from wssc.security import MessagePolicy, outbound_fast, protect_wire
from wssc.security.tokens import X509Protection
from wssc.tokens.paths import PATHS
from wssc.xml import ns
from wssc.xml.parse import parse_xml

from .helpers import T0, ok
from .test_protect_fast_header import BODY, _both, _token, envelope, pinned

__all__ = ["pinned"]  # the fixture, used by name below


def _reused() -> int:
    return PATHS["protect.plan.reused"]


def test_the_plan_is_reused_for_the_same_pair(
    pinned: Callable[[], Iterator[None]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first message of a pair makes its plan, the next ones reuse it, and every one
    is the general writer's bytes."""
    monkeypatch.setattr(outbound_fast, "_PLANS", {})
    token, policy = _token(), MessagePolicy()
    before = _reused()
    chosen, general, ran, wire = _both(pinned, monkeypatch, envelope(), token, policy)
    # protect made the plan; protect_wire in ASCII and in UTF-8 reused it
    assert _reused() == before + 2
    assert ran == "fast" and wire == "splice" and chosen == general
    found = outbound_fast.plan(token, policy)
    assert found is not None and found.token is token and found.policy is policy
    assert _reused() == before + 3
    res = ok(chosen, policy, now=T0 + 1)
    assert res.body_signed and res.body_encrypted


def test_equal_but_distinct_objects_make_their_own_plan(
    pinned: Callable[[], Iterator[None]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plan is found by identity: an equal policy or token object makes a plan of its own
    (with the same bytes)."""
    monkeypatch.setattr(outbound_fast, "_PLANS", {})
    token = _token()
    p1, p2 = MessagePolicy(), MessagePolicy()
    assert p1 == p2 and p1 is not p2
    a, b = outbound_fast.plan(token, p1), outbound_fast.plan(token, p2)
    t2 = _token()
    c = outbound_fast.plan(t2, p1)
    assert a is not None and b is not None and c is not None
    assert a is not b and a is not c and b.policy is p2 and c.token is t2
    assert len(outbound_fast._PLANS) == 3
    for tok, pol in ((token, p2), (t2, p1)):
        chosen, general, ran, _ = _both(pinned, monkeypatch, envelope(), tok, pol)
        assert ran == "fast" and chosen == general


def test_a_plan_under_a_reused_id_is_not_taken(
    pinned: Callable[[], Iterator[None]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An entry whose token or policy is another object than the caller's (as if an id had
    been reused) is passed over and replaced: the caller's own plan is made."""
    token, policy = _token(), MessagePolicy()
    other = outbound_fast.plan(_token(include=False), MessagePolicy(sc=ns.SC_V13))
    assert other is not None
    plans = {(id(token), id(policy)): other}
    monkeypatch.setattr(outbound_fast, "_PLANS", plans)
    before = _reused()
    found = outbound_fast.plan(token, policy)
    assert _reused() == before
    assert found is not None and found is not other and found.token is token
    assert plans[(id(token), id(policy))] is found
    chosen, general, ran, _ = _both(pinned, monkeypatch, envelope(), token, policy)
    assert ran == "fast" and chosen == general


def test_pairs_outside_the_layout_have_no_plan(
    pinned: Callable[[], Iterator[None]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No plan (and nothing filed) for a pair the layout does not fit: the general writer
    runs, with its bytes."""
    monkeypatch.setattr(outbound_fast, "_PLANS", {})
    cert = generate_self_signed("plan.test")
    x509 = X509Protection(cert.cert, cert.key, "uuid-x509-1")  # type: ignore[arg-type]
    pairs = (
        (_token(), MessagePolicy(transport=True)),
        (_token(), MessagePolicy(derived_keys=False)),
        (_token(), MessagePolicy(encrypt_body=False)),
        (_token(), MessagePolicy(encrypt_signature=False)),
        (_token(instance="urn:uuid:inst-2"), MessagePolicy()),  # a reference with Instance
        (x509, MessagePolicy(encrypt_body=False, encrypt_signature=False)),
    )
    for token, policy in pairs:
        assert outbound_fast.plan(token, policy) is None  # type: ignore[arg-type]
        chosen, general, ran, wire = _both(pinned, monkeypatch, envelope(), token, policy)
        assert ran == "general" and wire == "element" and chosen == general
    assert outbound_fast._PLANS == {}


def test_plans_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outbound_fast, "_PLANS", {})
    policy = MessagePolicy()
    for _ in range(outbound_fast._MAX_PLANS * 2 + 3):
        assert outbound_fast.plan(_token(), policy) is not None
        assert 1 <= len(outbound_fast._PLANS) <= outbound_fast._MAX_PLANS


def _with_body_id(body_attr: str, content: str = BODY) -> bytes:
    plain = envelope(extra_ns=f' xmlns:u="{ns.WSU}"')
    return plain.replace(f"<s:Body>{BODY}".encode(), f"<s:Body{body_attr}>{content}".encode())


@pytest.mark.parametrize(
    "body_attr,content",
    [
        (' u:Id="body-1"', BODY),  # the Body's own id is kept (the one Reference to it)
        (' Id="body-2"', BODY),
        ("", '<t:Echo xmlns:t="urn:test" u:Id="_4">x</t:Echo>'),  # an id inside the content
        ("", '<t:Echo xmlns:t="urn:test">Id="_4"</t:Echo>'),  # text that looks like one
    ],
)
def test_ids_in_the_envelope_keep_the_general_id_choice(
    body_attr: str,
    content: str,
    pinned: Callable[[], Iterator[None]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With any id in use, each signed part keeps its id or gets a free one, as the general
    writer gives them (new ids without a look only when no id is in use at all)."""
    plain = _with_body_id(body_attr, content)
    chosen, general, ran, wire = _both(pinned, monkeypatch, plain, _token(), MessagePolicy())
    assert ran == "fast" and wire == "splice" and chosen == general
    if body_attr:  # the Body keeps its one id, and no wsu:Id is added to it
        assert f"<s:Body{body_attr}>".encode() in chosen
    res = ok(chosen, MessagePolicy(), now=T0 + 1)
    assert res.body_signed and res.body_encrypted


def test_duplicate_ids_are_still_refused() -> None:
    plain = _with_body_id(' u:Id="dup"', '<t:Echo xmlns:t="urn:test" u:Id="dup">x</t:Echo>')
    with pytest.raises(DuplicateId):
        protect_wire(parse_xml(plain), _token(), MessagePolicy(), now=T0)
    header_dup = envelope(
        header='<a:Action u:Id="h">urn:a</a:Action><a:To u:Id="h">x</a:To>', extra_ns=f' xmlns:u="{ns.WSU}"'
    )
    with pytest.raises(DuplicateId):
        protect_wire(parse_xml(header_dup), _token(), MessagePolicy(), now=T0)


def test_the_plan_matches_the_token_and_policy_it_was_made_for() -> None:
    """Its fixed texts are those of the pair: the suite's key lengths and algorithm, the
    SecureConversation version, the references' ValueType."""
    token = _token()
    for policy in (MessagePolicy(), MessagePolicy(sc=ns.SC_V13, local_reference_value_types=False)):
        p = outbound_fast.plan(token, policy)
        assert p is not None
        sc, suite = policy.sc, policy.suite
        assert p.dkt_open == f'<c:DerivedKeyToken xmlns:c="{sc.ns}" u:Id="'
        assert f"<c:Length>{suite.signature_key_length}</c:Length>" in p.dkt_mid[0]
        assert "<c:Length>" not in p.dkt_mid[1]  # 32 bytes: the default, not written
        assert (f'ValueType="{sc.dk_token_type}"' in p.ref_close) == policy.local_reference_value_types
        assert all(suite.encryption in m for m in p.ed_mid)
        assert p.token_text is not None and sc.ns in p.token_text
