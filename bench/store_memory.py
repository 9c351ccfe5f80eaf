"""Memory held by a MemoryStore per session, measured with tracemalloc.

    python bench/store_memory.py [N]

Builds N (default 100,000) realistic sessions, each with its own urn:uuid ids, a 32-byte key
and distinct times, and prints the traced bytes per session for a fresh session and for one
that has rolled its key over (instance, previous instance and previous key all present).
Target: <= 400 bytes/session at 100k sessions (issue 19; it was 2048 before).
"""

from __future__ import annotations

import gc
import os
import sys
import time
import tracemalloc
import uuid

from wssc.store import MemoryStore, SessionRecord


def build(n: int, rolled_over: bool) -> MemoryStore:
    store = MemoryStore()
    t0 = time.time()
    for i in range(n):
        t = t0 + i * 1e-3
        store.put(
            SessionRecord(
                context_id=f"urn:uuid:{uuid.uuid4()}",
                instance=f"urn:uuid:{uuid.uuid4()}" if rolled_over else None,
                key=os.urandom(32),
                created=t,
                expires=t + 36_000.0,
                key_effective=t,
                key_expires=t + 54_000.0,
                identity=f"user{i}@example.org",
                activated=True,
                previous_key=os.urandom(32) if rolled_over else None,
                previous_instance=f"urn:uuid:{uuid.uuid4()}" if rolled_over else None,
                previous_key_expires=t + 300.0 if rolled_over else 0.0,
                last_used=t + 1.0,
            )
        )
    return store


def measure(n: int, rolled_over: bool) -> float:
    gc.collect()
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    store = build(n, rolled_over)
    gc.collect()
    used, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(store) == n
    return (used - base) / n


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    for label, rolled in (("fresh session", False), ("after key rollover", True)):
        per = measure(n, rolled)
        verdict = "OK" if per <= 400 else "OVER TARGET"
        print(f"{label:>20}: {per:7.0f} bytes/session over {n:,} sessions  [{verdict}]")


if __name__ == "__main__":
    main()
