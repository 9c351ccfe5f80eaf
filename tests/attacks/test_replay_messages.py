"""Replays on ``verify`` itself (moved from ``tests/core/test_security.py``): the same
signature twice is refused, whatever else changed around it; a full cache fails closed.
Only the replay cache raises `ReplayDetected` (its type is the check's reason). The
HTTP-level replay attacks are in ``test_replay_window.py`` and ``test_replay_cache.py``."""

from __future__ import annotations

import pytest
from lxml import etree

from core.helpers import T0, drop_reference, message, ok, policy, reject, resign, tree
from wssc.errors import MessageExpired, ReplayDetected
from wssc.security import MemoryReplayCache
from wssc.xml import ns


def test_replay_detected_second_time_only() -> None:
    cache = MemoryReplayCache()
    data = message()
    ok(data, replay_cache=cache)
    ok(message(), replay_cache=cache)  # another message is fine
    exc = reject(ReplayDetected, data, replay_cache=cache, now=T0 + 2)
    assert exc.code.clark == f"{{{ns.WSSE}}}InvalidSecurity"
    reject(ReplayDetected, data, replay_cache=cache, now=T0 + 3)


def test_replay_after_reserialization() -> None:
    cache = MemoryReplayCache()
    data = message(encrypt=False)
    ok(data, replay_cache=cache)
    pretty = etree.tostring(tree(data), pretty_print=False, xml_declaration=True, encoding="utf-8")
    reject(ReplayDetected, pretty, replay_cache=cache)


def test_replay_of_long_lived_message() -> None:
    cache = MemoryReplayCache()
    data = message(timestamp_validity=3600)
    ok(data, replay_cache=cache)
    # Its Expires (an hour) does not stretch the window: 700 s on, the Timestamp refuses it.
    exc = reject(MessageExpired, data, replay_cache=cache, now=T0 + 700)
    assert exc.detail == "the message is older than the replay window"
    # Within the window, the cache does.
    reject(ReplayDetected, data, replay_cache=cache, now=T0 + 500)


@pytest.mark.parametrize("change", ["rewrite", "remove"])
def test_replay_with_unsigned_message_id(change: str) -> None:
    root = tree(message(derived=False, encrypt=False))
    drop_reference(root, "MessageID")  # a peer that signs only Timestamp, Body, To, Action
    resign(root)
    cache = MemoryReplayCache()
    ok(etree.tostring(root), policy(derived=False), replay_cache=cache)
    mid = root.find(f".//{{{ns.WSA10}}}MessageID")
    if change == "rewrite":
        mid.text = "urn:uuid:00000000-0000-0000-0000-000000000001"
    else:
        mid.getparent().remove(mid)
    reject(ReplayDetected, root, policy(derived=False), replay_cache=cache)


def test_replay_cache_full_fails_closed() -> None:
    from wssc.errors import ServerTooBusy

    cache = MemoryReplayCache(max_entries=1)
    ok(message(), replay_cache=cache)
    assert reject(ServerTooBusy, message(), replay_cache=cache).detail == "the replay cache is full"
