"""A Redis round trip made while a host's security turn is held gives the turn back for the
wait (`wssc.turn.outside_turn`), so other calls verify meanwhile; the turn is held again
after it."""

from __future__ import annotations

import threading

from wssc.store.redis import RedisReplayCache, RedisStore
from wssc.turn import Turn, outside_turn


class StubRedis:
    """Enough of a redis-py client: records whether the turn was held during each call."""

    def __init__(self, turn: Turn) -> None:
        self.turn = turn
        self.held_during: list[bool] = []

    def register_script(self, script: str) -> object:
        def run(keys: list[str], args: list[object]) -> list[int]:
            self.held_during.append(self.turn.lock.locked())  # type: ignore[attr-defined]
            return [0]

        return run

    def get(self, key: str) -> None:
        self.held_during.append(self.turn.lock.locked())  # type: ignore[attr-defined]


def test_a_store_round_trip_steps_out_of_the_turn() -> None:
    turn = Turn()
    stub = StubRedis(turn)
    store = RedisStore(stub)  # type: ignore[arg-type]
    after: list[bool] = []

    def call() -> None:
        assert store.get("urn:uuid:x") is None
        after.append(turn.lock.locked())  # type: ignore[attr-defined]

    turn.run(call)
    assert stub.held_during == [False]  # given back for the round trip
    assert after == [True]  # and held again after it
    assert not turn.lock.locked()  # type: ignore[attr-defined]


def test_the_replay_cache_steps_out_too() -> None:
    turn = Turn()
    stub = StubRedis(turn)
    cache = RedisReplayCache(stub)  # type: ignore[arg-type]
    turn.run(cache.check_and_add, b"nonce", 100.0, 50.0)
    assert stub.held_during == [False]


def test_outside_a_turn_nothing_is_given_back() -> None:
    turn = Turn()
    with outside_turn():
        assert not turn.lock.locked()  # type: ignore[attr-defined]
    stub = StubRedis(turn)
    RedisStore(stub).get("urn:uuid:x")  # type: ignore[arg-type]
    assert stub.held_during == [False]


def test_another_thread_runs_in_the_turn_during_the_wait() -> None:
    """While one thread waits on the store, another takes the turn and finishes."""
    turn = Turn()
    waiting, other_done = threading.Event(), threading.Event()

    class SlowRedis(StubRedis):
        def get(self, key: str) -> None:
            waiting.set()
            if not other_done.wait(20):
                raise RuntimeError("the other thread never got the turn")

    store = RedisStore(SlowRedis(turn))  # type: ignore[arg-type]
    t = threading.Thread(target=turn.run, args=(store.get, "urn:uuid:x"))
    t.start()
    assert waiting.wait(20)
    got = turn.lock.acquire(timeout=20)  # type: ignore[call-arg]
    if got:
        turn.lock.release()
    other_done.set()
    t.join(20)
    assert got, "the turn was not given back during the store's wait"
    assert not t.is_alive()
