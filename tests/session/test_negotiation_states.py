"""The service's negotiation states (`wssc.session.negotiation`): WCF's state-cache rules, and
the per-peer share, each check alone."""

from __future__ import annotations

import pytest

from wssc.errors import InvalidRequest, ServerTooBusy
from wssc.session.negotiation import MAX_CONTEXT_LENGTH, NegotiationStates

T0 = 1000.0


def test_capacity_refuses_a_new_negotiation_until_one_expires() -> None:
    states = NegotiationStates(capacity=2, timeout=60)
    states.begin("a", "p1", T0)
    states.begin("b", "p2", T0 + 10)
    with pytest.raises(ServerTooBusy, match=r"max_stateful_negotiations \(2\)"):
        states.begin("c", "p3", T0 + 59)
    states.begin("c", "p3", T0 + 60)  # "a" expired: purged to make room
    assert len(states) == 2


def test_one_peer_holds_at_most_its_share() -> None:
    states = NegotiationStates(capacity=10, timeout=60, per_peer=2)
    states.begin("a", "10.0.0.1", T0)
    states.begin("b", "10.0.0.1", T0)
    with pytest.raises(ServerTooBusy, match="max_pending_sessions_per_peer"):
        states.begin("c", "10.0.0.1", T0)
    states.begin("c", "10.0.0.2", T0)  # another peer is not held back


def test_later_legs_do_not_extend_the_deadline() -> None:
    """WCF's rule: a negotiation must finish within the timeout from its *first* leg."""
    states = NegotiationStates(capacity=10, timeout=60)
    states.begin("a", "p", T0)
    states.keep("a", "leg 1", T0 + 30)
    states.keep("a", "leg 2", T0 + 59)
    assert states.get("a", T0 + 59.5) == "leg 2"
    with pytest.raises(InvalidRequest, match="no negotiation is in progress"):
        states.get("a", T0 + 60)
    assert len(states) == 0


def test_keep_for_sets_its_own_deadline() -> None:
    states = NegotiationStates(capacity=10, timeout=60)
    states.begin("a", "p", T0)
    states.keep("a", "done", T0 + 10, keep_for=900)  # e.g. SPNEGO's 15-minute transition token
    assert states.take("a", T0 + 800) == "done"
    assert states.take("a", T0 + 800) is None  # taken once


def test_a_context_in_use_unknown_or_too_long_is_refused() -> None:
    states = NegotiationStates(capacity=10, timeout=60)
    states.begin("a", "p", T0)
    with pytest.raises(InvalidRequest, match="already in progress"):
        states.begin("a", "q", T0 + 1)
    with pytest.raises(InvalidRequest, match="no negotiation is in progress"):
        states.get("b", T0)
    with pytest.raises(InvalidRequest, match="missing or too long"):
        states.begin("x" * (MAX_CONTEXT_LENGTH + 1), "p", T0)
    with pytest.raises(InvalidRequest, match="missing or too long"):
        states.begin("", "p", T0)
    assert states.take("x" * (MAX_CONTEXT_LENGTH + 1), T0) is None


def test_a_reserved_context_without_state_is_not_a_negotiation() -> None:
    """A first leg whose bootstrap failed before keeping anything leaves nothing to continue."""
    states = NegotiationStates(capacity=10, timeout=60)
    states.begin("a", "p", T0)
    with pytest.raises(InvalidRequest):
        states.get("a", T0)
    states.begin("b", "p", T0)
    assert states.take("b", T0) is None


def test_an_expired_context_can_start_again() -> None:
    states = NegotiationStates(capacity=10, timeout=60)
    states.begin("a", "p", T0)
    states.begin("a", "p", T0 + 61)
    assert len(states) == 1


def test_keep_as_moves_the_state_to_the_key_the_rst_sct_names() -> None:
    states = NegotiationStates(capacity=10, timeout=60)
    states.begin("ctx", "p", T0)
    states.keep("ctx", "final", T0 + 1, keep_for=900, keep_as="urn:uuid:sct-1")
    with pytest.raises(InvalidRequest):
        states.get("ctx", T0 + 2)
    assert states.take("urn:uuid:sct-1", T0 + 800) == "final"
    states.begin("a", "p", T0)
    states.begin("b", "p", T0)
    states.keep("a", "x", T0, keep_as="k")
    with pytest.raises(InvalidRequest, match="already kept under this key"):
        states.keep("b", "y", T0, keep_as="k")
    assert len(states) == 1  # "b" was dropped, "k" kept
