"""RedisReplayCache: the replay cache a farm shares (finding 6 of the security review).

Two engines (two "nodes") share one Redis for sessions and replays: a message accepted by
node A and replayed to node B is refused. The cache's own rules (lifetime, per-partition
quota) are checked against a real redis-server, on the real clock.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from wssc.bootstrap import AnonymousForCertificateClient, TransportInfo
from wssc.certs import Certificate, generate_self_signed
from wssc.contract import get_contract
from wssc.demo import Calculator
from wssc.errors import ReplayDetected, ServerTooBusy
from wssc.service.engine import Dispatch, HttpRequest, ServiceEngine, run_dispatch_sync
from wssc.session.client import ClientSession
from wssc.settings import EndpointSettings
from wssc.store.redis import RedisReplayCache, RedisStore

CERT = generate_self_signed()
ADD = get_contract(Calculator).operation("Add")


def _post(engine: ServiceEngine, body: bytes, ctype: str) -> tuple[int, bytes]:
    r = engine.handle(
        HttpRequest("POST", "/svc", "", {"content-type": ctype}, body, TransportInfo(peer="127.0.0.1"))
    )
    if isinstance(r, Dispatch):
        r = run_dispatch_sync(r)
    return r.status, r.body


def test_replay_to_another_node_is_refused(redis_client: Any) -> None:
    s = EndpointSettings()
    nodes = [
        ServiceEngine(
            Calculator(),
            settings=s,
            address="http://x/svc",
            certificate=CERT,
            store=RedisStore(redis_client),
            replay_cache=RedisReplayCache(redis_client),
        )
        for _ in range(2)
    ]
    c = ClientSession(s, AnonymousForCertificateClient(Certificate(CERT.cert)), "http://x/svc")
    now = time.time()
    out = c.issue_request(now)
    c.issue_response(_post(nodes[0], out.body, out.content_type)[1], out, now)
    call = c.app_request(ADD, {"a": 2, "b": 3}, now)
    status, reply = _post(nodes[0], call.body, call.content_type)
    assert status == 200 and c.app_response(reply, call, now) == 5
    status, fault = _post(nodes[1], call.body, call.content_type)  # the replay, elsewhere
    assert status == 500
    assert b"An error occurred when verifying security for the message." in fault
    # The RST itself cannot be replayed on the other node either (no second session).
    status, _ = _post(nodes[1], out.body, out.content_type)
    assert status == 500


def test_redis_replay_cache_lifetime_and_quota(redis_client: Any) -> None:
    cache = RedisReplayCache(redis_client, quota_per_partition=2)
    now = time.time()
    cache.check_and_add(b"m1", now + 600, now, partition="A")
    with pytest.raises(ReplayDetected):
        cache.check_and_add(b"m1", now + 600, now, partition="B")
    cache.check_and_add(b"m2", now + 600, now, partition="A")
    with pytest.raises(ServerTooBusy):
        cache.check_and_add(b"m3", now + 600, now, partition="A")
    cache.check_and_add(b"m3", now + 600, now, partition="B")  # B has its own share
    # Entries expire with their message's lifetime (PXAT), and so do quota charges.
    cache.check_and_add(b"short", now + 0.2, now, partition="C")
    ttl = redis_client.pttl(cache.prefix + "e:" + __import__("hashlib").sha256(b"short").hexdigest())
    assert 0 < ttl <= 200
    later = now + 601
    cache.check_and_add(b"m4", later + 600, later, partition="A")  # A's charges expired


def test_redis_replay_cache_quota_per_peer(redis_client: Any) -> None:
    """One address over several sessions is charged farm-wide (issue 13 item 7)."""
    cache = RedisReplayCache(redis_client, prefix="wssc:peerq:", quota_per_partition=2, quota_per_peer=3)
    now = time.time()
    cache.check_and_add(b"p1", now + 600, now, partition="s1", peer="10.0.0.1")
    cache.check_and_add(b"p2", now + 600, now, partition="s1", peer="10.0.0.1")
    cache.check_and_add(b"p3", now + 0.2, now, partition="s2", peer="10.0.0.1")
    with pytest.raises(ServerTooBusy, match="replay_quota_per_peer"):
        cache.check_and_add(b"p4", now + 600, now, partition="s3", peer="10.0.0.1")
    assert redis_client.get(cache.prefix + "e:" + __import__("hashlib").sha256(b"p4").hexdigest()) is None, (
        "a refused message left an entry"
    )
    cache.check_and_add(b"p4", now + 600, now, partition="s3", peer="10.0.0.2")
    cache.check_and_add(b"p5", now + 600, now, partition="s4")  # no peer, no peer charge
    later = now + 1  # p3's charge expired: the peer has room again
    cache.check_and_add(b"p6", later + 600, later, partition="s5", peer="10.0.0.1")
    with pytest.raises(ServerTooBusy, match="replay_quota_per_peer"):
        cache.check_and_add(b"p7", later + 600, later, partition="s6", peer="10.0.0.1")
