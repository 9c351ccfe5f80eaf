"""Quotas keyed by address, in process with a fake clock (issue 13 items 7 and 8).

* The replay cache charges every entry to the sender's address too: one peer with several
  sessions cannot fill it (``replay_quota_per_peer``).
* Pending sessions: past the per-peer quota, or with the global quota full, the oldest unused
  pending session is evicted instead of the newcomer being refused.
* Failed logins back off per (username, address) first; the per-username and per-address
  backstops spare pairs that logged in before.

The attack suite runs the same attacks against a running ``wssc serve``; these pin the
mechanisms and the boundaries the clock makes hard to reach over HTTP.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest
from engine_kit import ADD, Clock, client_for, engine_for, exchange

from wssc.bootstrap import TransportInfo
from wssc.errors import ServerTooBusy
from wssc.security.replay import MemoryReplayCache, PeerCharged
from wssc.security.throttle import FailedAuthenticationThrottle
from wssc.service.engine import ServiceEngine
from wssc.session.client import ClientSession
from wssc.settings import EndpointSettings, LocalServiceSecuritySettings

GENERIC = b"An error occurred when verifying security for the message."


def settings(**svc: object) -> EndpointSettings:
    return EndpointSettings(service=replace(LocalServiceSecuritySettings(), **svc))  # type: ignore[arg-type]


def post(engine: ServiceEngine, body: bytes, peer: str) -> tuple[int, bytes]:
    r = exchange(engine, body, "application/soap+xml", TransportInfo(peer=peer))
    return r.status, r.body


def open_session(engine: ServiceEngine, s: EndpointSettings, now: float, peer: str) -> ClientSession:
    c = client_for(s)
    out = c.issue_request(now)
    status, body = post(engine, out.body, peer)
    assert status == 200, body[-300:]
    c.issue_response(body, out, now)
    return c


def call(engine: ServiceEngine, c: ClientSession, now: float, peer: str) -> tuple[int, bytes]:
    return post(engine, c.app_request(ADD, {"a": 1, "b": 2}, now).body, peer)


# --- item 7: the replay cache, per peer ---------------------------------------------------
def test_memory_replay_cache_quota_per_peer() -> None:
    cache = MemoryReplayCache(max_entries=10, quota_per_partition=2, quota_per_peer=3)
    cache.check_and_add(b"1", 100, 0, partition="s1", peer="A")
    cache.check_and_add(b"2", 100, 0, partition="s1", peer="A")
    cache.check_and_add(b"3", 50, 0, partition="s2", peer="A")  # another session of A
    with pytest.raises(ServerTooBusy, match="replay_quota_per_peer"):
        cache.check_and_add(b"4", 100, 0, partition="s3", peer="A")  # a third session
    cache.check_and_add(b"4", 100, 0, partition="s3", peer="B")  # B has its own share
    cache.check_and_add(b"5", 100, 0, partition="s4")  # no peer: no peer charge
    cache.check_and_add(b"6", 200, 60, partition="s3", peer="A")  # entry 3 expired: room
    assert len(cache) == 5
    with pytest.raises(ServerTooBusy, match="replay_quota_per_peer"):
        cache.check_and_add(b"7", 200, 60, partition="s5", peer="A")


def test_peer_quota_off() -> None:
    cache = MemoryReplayCache(max_entries=10, quota_per_partition=0, quota_per_peer=0)
    for i in range(10):
        cache.check_and_add(bytes([i]), 100, 0, partition="s", peer="A")
    with pytest.raises(ServerTooBusy, match="full"):
        cache.check_and_add(b"x", 100, 0, partition="s", peer="B")


def test_the_engine_charges_the_sender_address(caplog: pytest.LogCaptureFixture) -> None:
    """Three sessions from one address, quota 5 per peer: the RSTs and the calls together
    reach it; a call from another address still goes through."""
    clock = Clock()
    s = settings(replay_quota_per_peer=5, replay_quota_per_session=100)
    engine = engine_for(s, clock)
    assert isinstance(engine._replay_for(TransportInfo(peer="10.0.0.1")), PeerCharged)
    sessions = [open_session(engine, s, clock.t, "10.0.0.1") for _ in range(3)]  # 3 entries
    assert call(engine, sessions[0], clock.t, "10.0.0.1")[0] == 200
    assert call(engine, sessions[1], clock.t, "10.0.0.1")[0] == 200  # 5 entries
    with caplog.at_level(logging.INFO, "wssc.service"):
        status, body = call(engine, sessions[2], clock.t, "10.0.0.1")
    assert status == 500 and b"ServerTooBusy" in body
    assert "replay_quota_per_peer" in caplog.text
    # The same session from another address is charged there (the quota is per address).
    assert call(engine, sessions[2], clock.t, "10.0.0.2")[0] == 200
    other = open_session(engine, s, clock.t, "10.0.0.3")
    assert call(engine, other, clock.t, "10.0.0.3")[0] == 200


# --- item 8: pending sessions -------------------------------------------------------------
def test_per_peer_quota_evicts_the_peers_oldest_pending_session(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    s = settings(max_pending_sessions_per_peer=3)
    engine = engine_for(s, clock)
    with caplog.at_level(logging.INFO):
        flood = [open_session(engine, s, clock.t + i, "10.9.9.9") for i in range(5)]
    assert caplog.text.count("its peer holds max_pending_sessions_per_peer (3)") == 2
    assert engine.sessions.store.count_pending() == 3
    for evicted in flood[:2]:  # the two oldest went: their first message is refused
        with caplog.at_level(logging.INFO):
            status, _ = call(engine, evicted, clock.t + 5, "10.9.9.9")
        assert status == 500 and "unknown or cancelled session" in caplog.text
    for kept in flood[2:]:
        assert call(engine, kept, clock.t + 5, "10.9.9.9")[0] == 200
    assert engine.sessions.store.count_pending() == 0


def test_a_full_global_quota_evicts_the_oldest_pending_session(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Nine addresses x 17 RSTs with 128 slots and 16 per peer (the issue's numbers): every RST
    is answered, a newcomer gets a session, and the oldest pending sessions made room."""
    clock = Clock()
    s = settings()
    engine = engine_for(s, clock)
    first: ClientSession | None = None
    with caplog.at_level(logging.WARNING, "wssc.session"):
        for n in range(17):
            for a in range(9):
                c = open_session(engine, s, clock.t, f"10.1.1.{a}")
                first = first or c
            clock.t += 0.01
        newcomer = open_session(engine, s, clock.t, "10.2.2.2")
    assert "max_pending_sessions (128) are pending" in caplog.text
    assert all(len(m) <= 16 for m in engine.sessions._pending_by_peer.values())
    assert engine.sessions.store.count_pending() == 128
    assert call(engine, newcomer, clock.t, "10.2.2.2")[0] == 200
    assert first is not None and call(engine, first, clock.t, "10.1.1.0")[0] == 500


def test_a_farm_node_with_nothing_to_evict_refuses(caplog: pytest.LogCaptureFixture) -> None:
    """Pending sessions this process did not issue (another node's) are never evicted: the
    global quota then refuses with ServerTooBusy, as WCF does."""
    clock = Clock()
    s = settings(max_pending_sessions=2)
    a = engine_for(s, clock)
    b = ServiceEngine(
        a.service,
        settings=s,
        address=a.address,
        certificate=a.certificate,
        store=a.sessions.store,
        clock=clock,
    )
    open_session(a, s, clock.t, "10.0.0.1")
    open_session(a, s, clock.t, "10.0.0.2")
    c = client_for(s)
    with caplog.at_level(logging.WARNING, "wssc.session"):
        status, body = post(b, c.issue_request(clock.t).body, "10.0.0.3")
    assert status == 500 and b"ServerTooBusy" in body
    assert "none of them this process's to evict" in caplog.text
    assert open_session(a, s, clock.t, "10.0.0.3")  # node A evicts its own oldest


def test_pending_sessions_unused_for_the_inactivity_timeout_are_forgotten() -> None:
    clock = Clock()
    s = settings(max_pending_sessions_per_peer=2)
    engine = engine_for(s, clock)
    old = open_session(engine, s, clock.t, "10.0.0.1")
    clock.t += 121
    open_session(engine, s, clock.t, "10.0.0.1")
    assert list(engine.sessions._pending_by_peer["10.0.0.1"]) != [old.sct.identifier]  # type: ignore[union-attr]
    assert len(engine.sessions._pending) == 1


# --- item 8: failed logins ----------------------------------------------------------------
def test_backoff_schedule_grows_and_ends() -> None:
    t = FailedAuthenticationThrottle(3, 0, window=300, delay=1.0)
    for i in range(2):
        t.failed("alice", "p", 0)
        assert t.check("alice", "p", 0) is None, f"blocked after {i + 1} failures"
    now = 0.0
    blocks = []
    for _ in range(12):
        t.failed("alice", "p", now)
        reason = t.check("alice", "p", now)
        assert reason is not None and "username 'alice' from address p" in reason
        start = now
        while t.check("alice", "p", now) is not None:  # attempts while blocked do not count
            now += 0.25
        blocks.append(now - start)
    assert blocks[:4] == [1.0, 2.0, 4.0, 8.0]
    assert blocks[-1] == 300.0  # capped at the window
    assert blocks == sorted(blocks)
    # Quiet for a window after the last block: forgotten, the allowance is back.
    now += 301
    t.failed("alice", "p", now)
    assert t.check("alice", "p", now) is None


def test_spraying_usernames_from_an_address_spares_its_known_users() -> None:
    t = FailedAuthenticationThrottle(5, 20, window=300, limit_per_user=20)
    t.succeeded("carol", "nat", 0)
    for i in range(40):
        t.failed(f"user{i}", "nat", 1)
    assert t.check("dave", "nat", 2) is not None  # an address spraying names backs off ...
    assert "address nat" in (t.check("dave", "nat", 2) or "")
    assert t.check("carol", "nat", 2) is None  # ... but not for who logged in from there
    assert t.check("dave", "home", 2) is None


def test_guessing_one_user_from_many_addresses_spares_her_own() -> None:
    t = FailedAuthenticationThrottle(5, 100, window=300, limit_per_user=20)
    t.succeeded("alice", "home", 0)
    for i in range(25):
        t.failed("alice", f"bot{i}", 1)
    reason = t.check("alice", "bot99", 2)
    assert reason is not None and "never logged in from" in reason
    assert t.check("alice", "home", 2) is None


def test_a_success_resets_the_pair() -> None:
    t = FailedAuthenticationThrottle(3, 0, window=300)
    t.failed("bob", "p", 0)
    t.failed("bob", "p", 0)
    t.succeeded("bob", "p", 0)
    t.failed("bob", "p", 1)
    t.failed("bob", "p", 1)
    assert t.check("bob", "p", 1) is None


def test_throttle_memory_is_bounded() -> None:
    t = FailedAuthenticationThrottle(5, 100, window=300, max_keys=50, limit_per_user=20)
    for i in range(1000):
        t.failed("x" * 10_000 + str(i), f"10.0.{i // 250}.{i % 250}", 0)
        t.succeeded(f"u{i}", "p", 0)
    assert len(t._failures) <= 50 and len(t._familiar) <= 50
