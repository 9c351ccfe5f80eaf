"""Say on stderr what a command is waiting for when an answer is slow (``wssc call``).

A silent command on a hung service looks like a hung command. `Waiting` is told when a
request starts (`Waiting.begin`) and when its answer arrives (`Waiting.end`); a
daemon thread prints one line when an answer is ``notice_after`` seconds late. httpx gives up
after ``timeout`` seconds; `Waiting.overdue` then names what had no answer.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

from wssc.logs import printable

#: The longest silence before the notice (WCF's sendTimeout default, 1 min, is the timeout).
NOTICE_AFTER = 5.0


class Waiting:
    def __init__(
        self, timeout: float, *, notice_after: float | None = None, out: TextIO | None = None
    ) -> None:
        self.timeout = timeout
        self.notice_after = min(NOTICE_AFTER, timeout / 3) if notice_after is None else notice_after
        self._out = out
        self._lock = threading.Lock()
        self._changed = threading.Event()
        self._what: str | None = None
        self._since = 0.0
        self._told = False
        self._closed = False
        self._thread = threading.Thread(target=self._watch, name="wssc-waiting", daemon=True)
        self._thread.start()

    def begin(self, what: str) -> None:
        with self._lock:
            self._what, self._since, self._told = what, time.monotonic(), False
        self._changed.set()

    def end(self) -> None:
        with self._lock:
            self._what = None
        self._changed.set()

    def overdue(self) -> str | None:
        """What is still unanswered after (about) the timeout, else None."""
        with self._lock:
            late = self._what is not None and time.monotonic() - self._since >= 0.9 * self.timeout
            return self._what if late else None

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self._changed.set()
        self._thread.join(1.0)

    def _watch(self) -> None:
        while True:
            with self._lock:
                if self._closed:
                    return
                what, since, told = self._what, self._since, self._told
            if what is None or told:
                self._changed.wait()
                self._changed.clear()
                continue
            remaining = since + self.notice_after - time.monotonic()
            if remaining > 0:
                self._changed.wait(remaining)
                self._changed.clear()
                continue
            with self._lock:
                if self._what != what or self._since != since or self._closed:
                    continue
                self._told = True
            elapsed = time.monotonic() - since
            print(
                f"wssc: waiting for {printable(what, 300)}: no answer after {elapsed:.1f} s "
                f"(gives up after {self.timeout:g} s; see --timeout)",
                file=self._out or sys.stderr,
                flush=True,
            )
