"""Finding 6: the replay cache cannot be poisoned.

* One session cannot fill the cache for others: a quota per session
  (``LocalServiceSecuritySettings.replay_quota_per_session``).
* Nor can one client with several sessions (issue 13 item 7): a quota per peer address over
  all of its sessions (``replay_quota_per_peer``, ``wssc serve --replay-quota-per-peer``).
* An entry lives at most Created + replay window + clock skew, whatever ``Expires`` the sender
  wrote, and a full cache evicts expired entries first.
* A farm sharing Redis (``--store redis://…``) detects a replay sent to another node.

The small cache and short windows are set through ``launch.py`` (the command line has no
options for them); the attack is still HTTP against a running ``wssc serve``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest
from attack_kit import (
    MATRIX,
    MATRIX_IDS,
    Dedicated,
    Keys,
    app_envelope,
    assert_refused_by,
    client_via,
    craft,
    last,
    log_mark,
    post,
    read_fault_bytes,
    recording_client,
    serve_args,
    tostring,
    wait_logged,
)

from servers import Server
from wssc.client import Client
from wssc.errors import WsscError

pytestmark = pytest.mark.e2e

#: The replay cache's log reason (a message it has seen).
REPLAY = "A replay of a previously received message was detected"


def valid_message(c: Client, text: str, expires: float | bool = True) -> bytes:
    s = c.session
    return tostring(craft(app_envelope(c, "Echo", text=text), Keys.of(c), s.sc, s.suite, expires=expires))


def describe(r: httpx.Response) -> str:
    f = read_fault_bytes(r.content)
    return f"HTTP {r.status_code} {f}" if f else f"HTTP {r.status_code}"


@pytest.mark.parametrize(("binding", "mode"), MATRIX, ids=MATRIX_IDS)
def test_one_session_cannot_fill_the_cache_for_others(
    start_server: Callable[..., Server], binding: str, mode: str
) -> None:
    """A 30-entry cache, a quota of 5 per session: the attacker's session sends 40 valid,
    distinct messages (all with a 10-hour Expires); a victim who comes afterwards still opens
    a session and calls."""
    settings = {"replay_cache_size": 30, "replay_quota_per_session": 5}
    with Dedicated(start_server, *serve_args(binding, mode), settings=settings) as srv:
        with Client.from_wsdl(srv.wsdl_url) as attacker:
            attacker.open()
            statuses = [
                post(srv, valid_message(attacker, f"fill {i}", time.time() + 36_000)).status_code
                for i in range(40)
            ]
            assert statuses[0] == 200
            victim, rec = recording_client(srv)
            with victim:
                try:
                    result = victim.Echo(text="victim")
                except Exception as exc:
                    answers = [describe(e.as_response()) for e in rec.exchanges]
                    pytest.fail(
                        f"the victim was locked out after one session sent 40 messages "
                        f"({exc!r}); its exchanges: {answers}"
                    )
                assert result == "victim"


def several_sessions_fill(srv: Server, sessions: int, per_session: int) -> list[int]:
    """One client at 127.0.0.1 opens ``sessions`` sessions and sends ``per_session`` valid,
    distinct messages in each (10-hour Expires); returns the statuses."""
    statuses = []
    for n in range(sessions):
        attacker = Client.from_wsdl(srv.wsdl_url)
        try:
            attacker.open()  # the RST is an entry too: once over the quota, it is refused
        except WsscError:
            statuses.append(500)
            continue
        statuses += [
            post(
                srv, valid_message(attacker, f"fill {n}.{i}", time.time() + 36_000), local_address="127.0.0.1"
            ).status_code
            for i in range(per_session)
        ]
        attacker.session.closed_without_cancel()  # keep the sessions: no Cancel
        attacker._http.close()
    return statuses


@pytest.mark.parametrize(("binding", "mode"), MATRIX, ids=MATRIX_IDS)
def test_one_peer_with_several_sessions_cannot_fill_the_cache(
    start_server: Callable[..., Server], binding: str, mode: str
) -> None:
    """A 30-entry cache, 8 entries per session, 12 per peer: one client opens 6 sessions and
    sends 7 messages in each (each session within its quota, 48 entries in all). It is refused
    past 12, and a victim at another address still opens a session and calls."""
    settings = {"replay_cache_size": 30, "replay_quota_per_session": 8}
    with Dedicated(
        start_server, *serve_args(binding, mode, "--replay-quota-per-peer", "12"), settings=settings
    ) as srv:
        statuses = several_sessions_fill(srv, 6, 7)
        assert statuses.count(200) <= 12, f"one peer held {statuses.count(200)} entries"
        wait_logged(
            srv, "the peer 127.0.0.1 holds its whole share of the replay cache (replay_quota_per_peer)"
        )
        victim, rec = recording_client(srv, local_address="127.0.0.2")
        with victim:
            try:
                result = victim.Echo(text="victim")
            except Exception as exc:
                answers = [describe(e.as_response()) for e in rec.exchanges]
                pytest.fail(
                    f"the victim was locked out by one peer's sessions ({exc!r}); its exchanges: {answers}"
                )
            assert result == "victim"


def test_without_the_peer_quota_several_sessions_do_fill_it(start_server: Callable[..., Server]) -> None:
    """Control: the same attack with ``--replay-quota-per-peer 0`` fills the cache and locks
    the victim out (fail closed), so the test above shows the quota at work."""
    settings = {"replay_cache_size": 30, "replay_quota_per_session": 8}
    with Dedicated(
        start_server, *serve_args("wshttp", "session", "--replay-quota-per-peer", "0"), settings=settings
    ) as srv:
        several_sessions_fill(srv, 6, 7)
        victim, _ = recording_client(srv, local_address="127.0.0.2")
        with victim, pytest.raises(Exception, match="ServerTooBusy"):
            victim.Echo(text="victim")
        wait_logged(srv, "the replay cache is full")


@pytest.mark.parametrize(("binding", "mode"), MATRIX, ids=MATRIX_IDS)
def test_expired_entries_are_evicted_first(
    start_server: Callable[..., Server], binding: str, mode: str
) -> None:
    """Replay window 1 s and skew 1 s: an entry lives about 2 s even when the sender wrote a
    10-hour Expires. A 12-entry cache is filled by two sessions (6 each, within the quota);
    new messages are accepted once the expired entries (about 2 s) make room."""
    settings = {
        "replay_cache_size": 12,
        "replay_quota_per_session": 6,
        "replay_window": 1,
        "max_clock_skew": 1,
    }
    with Dedicated(start_server, *serve_args(binding, mode), settings=settings) as srv:
        clients = [Client.from_wsdl(srv.wsdl_url), Client.from_wsdl(srv.wsdl_url)]
        try:
            for c in clients:
                c.open()  # the RST is one entry
            sent = 0
            for c in clients:
                for i in range(5):
                    r = post(srv, valid_message(c, f"fill {i}", time.time() + 36_000))
                    assert r.status_code == 200, describe(r)
                    sent += 1
            over = post(srv, valid_message(clients[0], "one too many"))
            print(f"\n[replay cache] full after {sent} messages + 2 RSTs: next one got {describe(over)}")
            # The entries expire about 2 s after they were made, inside the running server:
            # poll until each client's new message is accepted (deadline 15 s, far below the
            # 10 h its sender's Expires would have kept the entries).
            for c in clients:
                deadline = time.monotonic() + 15
                while True:
                    r = post(srv, valid_message(c, "after expiry"))
                    if r.status_code == 200 or time.monotonic() > deadline:
                        break
                    time.sleep(0.2)
                assert r.status_code == 200, (
                    f"expired entries were not evicted (their sender's Expires was 10 h ahead): {describe(r)}"
                )
        finally:
            for c in clients:
                c.close()


@pytest.mark.parametrize("mode", ["session", "cookie"])
def test_replay_to_another_node_sharing_redis_is_refused(
    start_server: Callable[..., Server], redis_server: tuple[str, int], mode: str
) -> None:
    host, port = redis_server
    store = f"redis://{host}:{port}/3"
    # Two nodes of one farm: the same store, the farm's public address (the To they accept).
    farm = "http://farm.example/svc"
    a = start_server(*serve_args("wshttp", mode, "--store", store, "--address", farm))
    b = start_server(*serve_args("wshttp", mode, "--store", store, "--address", farm))
    victim, rec = client_via(a, farm)
    with victim:
        assert victim.Echo(text="once") == "once"
        captured = last(rec, "Echo").request
        mark = log_mark(b)
        again_b = post(b, captured)
        assert again_b.status_code != 200, (
            "node B accepted a message node A had already accepted (the replay cache is not "
            "shared through Redis)"
        )
        assert_refused_by(b, again_b, REPLAY, since=mark, what="replay to another node")
        mark = log_mark(a)
        assert_refused_by(a, post(a, captured), REPLAY, since=mark, what="replay to the same node")
        # Node B does serve the session (the store is shared): only the replay was refused.
        c, _ = client_via(b, farm)
        with c:
            c.session = victim.session
            assert c.Echo(text="fresh") == "fresh"
