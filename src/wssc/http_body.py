"""An HTTP body read a chunk at a time and refused the moment it passes its cap.

The drivers read every body that comes from a peer through a `CappedBody`: a client's reply
(``max_received_message_size``), an STS's RSTR, a WSDL document and its imports (`WsdlBudget`).
They ask for ``Accept-Encoding: identity`` and feed the raw bytes (``iter_raw``); should the peer
compress anyway, gzip and deflate are decoded here **a bounded output at a time**, so a
compressed bomb costs no more memory than the cap (an HTTP library's own decoder inflates a
whole network read at once: a 64 KiB read of zeros is 64 MiB). A ``Content-Length`` over the cap
is refused before a byte of the body is read; any other Content-Encoding is refused.

    body = CappedBody(65536, too_large, r.headers.get("content-encoding"),
                      r.headers.get("content-length"), undecodable=bad)
    for raw in r.iter_raw():
        body.feed(raw)
    data = body.result()
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

from wssc.logs import printable

#: the most decoded bytes one decompression step may produce
_STEP = 64 * 1024

#: the Accept-Encoding the drivers send: the body is counted as it comes off the wire
IDENTITY = {"Accept-Encoding": "identity"}


class CappedBody:
    """The body's bytes, counted (decoded) against ``limit``.

    ``too_large(size, declared)`` makes the error for a body over the limit: ``size`` is the
    declared Content-Length (``declared`` True, nothing read yet) or the count when reading
    stopped (past the limit). ``undecodable(reason)`` makes the error for an encoding this
    does not decode, or a compressed body that does not decode."""

    def __init__(
        self,
        limit: int,
        too_large: Callable[[int, bool], Exception],
        content_encoding: str | None = None,
        content_length: str | None = None,
        *,
        undecodable: Callable[[str], Exception],
    ) -> None:
        self.limit = limit
        self.size = 0
        self._too_large = too_large
        self._undecodable = undecodable
        self._parts: list[bytes] = []
        self._inflate: zlib._Decompress | None = None
        encoding = (content_encoding or "identity").strip().lower()
        if encoding in ("gzip", "x-gzip", "deflate"):
            self._inflate = zlib.decompressobj(32 + zlib.MAX_WBITS)  # a gzip or zlib header
        elif encoding == "identity":
            length = (content_length or "").strip()
            if length.isdigit() and int(length) > limit:
                raise too_large(int(length), True)
        else:
            raise undecodable(
                f"it came with Content-Encoding {printable(encoding, 40)}, which is not decoded"
            )

    def _count(self, out: bytes) -> None:
        self.size += len(out)
        if self.size > self.limit:
            raise self._too_large(self.size, False)
        if out:
            self._parts.append(out)

    def _inflated(self, data: bytes) -> None:
        assert self._inflate is not None
        try:
            while True:
                out = self._inflate.decompress(data, min(self.limit - self.size + 1, _STEP))
                self._count(out)
                data = self._inflate.unconsumed_tail
                if not data and not out:
                    return
        except zlib.error:
            raise self._undecodable("its compressed body does not decode") from None

    def feed(self, raw: bytes) -> None:
        if self._inflate is None:
            self._count(raw)
        elif raw:
            self._inflated(raw)

    def result(self) -> bytes:
        if self._inflate is not None:
            self._inflated(b"")
            if not self._inflate.eof:
                raise self._undecodable("its compressed body is cut short")
        return b"".join(self._parts)


__all__ = ["IDENTITY", "CappedBody"]
