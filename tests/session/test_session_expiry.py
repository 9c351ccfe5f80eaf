"""The session manager's expiry check (``SessionManager.lookup``): a stored session whose
token has expired is refused with BadContextToken and removed, even when no purge has run yet
(the store may return expired records: callers check ``expires`` themselves)."""

from __future__ import annotations

import dataclasses

import pytest

from wssc.errors import BadContextToken
from wssc.session.service import SessionManager
from wssc.settings import EndpointSettings
from wssc.store import MemoryStore
from wssc.tokens import SecurityContextToken

T0 = 1_800_000_000.0


def _manager_with_session(expires_in: float) -> tuple[SessionManager, MemoryStore, str]:
    store = MemoryStore()
    mgr = SessionManager(EndpointSettings(), store)
    issued = mgr.issue(bytes(32), "", T0)
    rec = dataclasses.replace(issued.record, expires=T0 + expires_in)
    store.put(rec)
    return mgr, store, rec.context_id


def test_a_live_session_resolves_up_to_its_expiry() -> None:
    mgr, store, cid = _manager_with_session(100)
    tok = SecurityContextToken(cid)
    assert mgr.lookup(tok, T0 + 99).context_id == cid
    assert mgr.lookup(tok, T0 + 100).context_id == cid  # expires is the last valid instant
    assert store.get(cid) is not None


def test_an_expired_session_is_refused_and_removed_without_a_purge() -> None:
    mgr, store, cid = _manager_with_session(100)
    tok = SecurityContextToken(cid)
    with pytest.raises(BadContextToken, match="expired"):
        mgr.lookup(tok, T0 + 100.5)
    assert store.get(cid) is None
    with pytest.raises(BadContextToken, match="unknown"):
        mgr.key_for(tok, T0 + 100.5)
