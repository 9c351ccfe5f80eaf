"""The negotiated-token cache (`wssc.session.negotiated`): WCF's MaxCachedCookies bound, a
per-peer share, lookups that keep the token (no session) and takes that end it (RST/SCT)."""

from __future__ import annotations

import pytest

from wssc.errors import ServerTooBusy
from wssc.session.negotiated import NegotiatedTokens
from wssc.settings import LocalServiceSecuritySettings


def test_wcfs_default_bound() -> None:
    assert LocalServiceSecuritySettings().max_cached_cookies == 1000


def test_capacity_refuses_until_one_expires() -> None:
    tokens = NegotiatedTokens(2)
    tokens.add("a", 1, "p1", 100.0, 0.0)
    tokens.add("b", 2, "p2", 200.0, 0.0)
    with pytest.raises(ServerTooBusy, match=r"max_cached_cookies \(2\) negotiated tokens are cached"):
        tokens.add("c", 3, "p3", 300.0, 50.0)
    tokens.add("c", 3, "p3", 300.0, 100.0)  # "a" expired at 100: purged
    assert len(tokens) == 2 and tokens.get("a", 100.0) is None


def test_one_peer_holds_at_most_its_share() -> None:
    tokens = NegotiatedTokens(10, per_peer=2)
    tokens.add("a", 1, "p", 100.0, 0.0)
    tokens.add("b", 2, "p", 100.0, 0.0)
    with pytest.raises(ServerTooBusy, match="the peer holds 2 negotiated tokens"):
        tokens.add("c", 3, "p", 100.0, 0.0)
    tokens.add("c", 3, "q", 100.0, 0.0)  # another address
    assert tokens.take("a", 1.0) == 1
    tokens.add("d", 4, "p", 100.0, 1.0)  # a taken token frees the peer's share


def test_get_keeps_take_removes_and_expiry_ends_both() -> None:
    tokens = NegotiatedTokens(10)
    tokens.add("a", "state", "p", 10.0, 0.0)
    assert tokens.get("a", 5.0) == "state" and tokens.get("a", 6.0) == "state"
    assert tokens.get("a", 10.0) is None and len(tokens) == 0
    tokens.add("b", "state", "p", 10.0, 0.0)
    assert tokens.take("b", 1.0) == "state" and tokens.take("b", 1.0) is None
    assert tokens.get("x" * 300, 0.0) is None and tokens.take("", 0.0) is None
    with pytest.raises(ValueError):
        tokens.add("x" * 300, 1, "p", 10.0, 0.0)
