"""What the HTTP driver may believe about a connection: TLS or not, and the peer's address.

Forwarded headers (``Forwarded``, ``X-Forwarded-Proto``, ``X-Forwarded-For``…) are set by
whoever sends the request. They are honoured only when the operator configured the proxies
that may send them (``forwarded_allow_ips``, as in uvicorn and gunicorn). Without that, a
request that carries one is treated as **not** secure, whatever the server computed from it:
uvicorn, by default, already rewrites the scheme from ``X-Forwarded-Proto`` for requests from
127.0.0.1, and an attacker on the same host (or behind a careless proxy) could otherwise pass
the HTTPS requirement of UserNameOverTransport over plain HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from wssc.bootstrap.base import TransportInfo

#: Request headers (lower-case) by which a proxy describes the original connection.
FORWARDED_HEADERS = frozenset({
    "forwarded", "x-forwarded-proto", "x-forwarded-for", "x-forwarded-host",
    "x-forwarded-port", "x-forwarded-ssl", "x-forwarded-scheme", "x-url-scheme",
    "front-end-https",
})


def transport_info(
    *, secure: bool, peer: str, headers: Mapping[str, str], forwarded_allow_ips: Sequence[str]
) -> TransportInfo:
    """``secure``/``peer`` as the server computed them; distrusted when forwarded headers are
    present and no proxy is configured."""
    if not forwarded_allow_ips and any(h in FORWARDED_HEADERS for h in headers):
        return TransportInfo(secure=False, peer=peer)
    return TransportInfo(secure=secure, peer=peer)


__all__ = ["FORWARDED_HEADERS", "transport_info"]
