"""`with_caller`: the identity and claims hold inside the operation only, whether the engine
says how to call it (``is_async``) or it is found out; the wrapper unwraps to the method."""

from __future__ import annotations

import asyncio
import inspect

from wssc.claims import Claim
from wssc.service.caller import caller_claims, caller_identity, with_caller
from wssc.xml import ns


def seen() -> tuple[str | None, tuple[Claim, ...]]:
    return caller_identity(), caller_claims()


async def seen_async() -> tuple[str | None, tuple[Claim, ...]]:
    await asyncio.sleep(0)  # sleep-ok: a yield to the loop, not a wait
    return caller_identity(), caller_claims()


def test_sync_and_async_with_and_without_the_hint() -> None:
    alice = (Claim(ns.CLAIM_NAME, "alice"),)
    for hint in (None, False):
        run = with_caller(seen, "alice", is_async=hint)
        assert run() == ("alice", alice)
        assert inspect.unwrap(run) is seen
    for hint in (None, True):
        run_async = with_caller(seen_async, "bob", (Claim("urn:role", "admin"),), is_async=hint)
        assert inspect.iscoroutinefunction(run_async)
        assert asyncio.run(run_async()) == ("bob", (Claim("urn:role", "admin"),))
        assert inspect.unwrap(run_async) is seen_async
    assert seen() == (None, ())  # nothing leaks out of the call
