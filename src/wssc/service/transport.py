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
FORWARDED_HEADERS = frozenset(
    {
        "forwarded",
        "x-forwarded-proto",
        "x-forwarded-for",
        "x-forwarded-host",
        "x-forwarded-port",
        "x-forwarded-ssl",
        "x-forwarded-scheme",
        "x-url-scheme",
        "front-end-https",
    }
)


def transport_info(
    *, secure: bool, peer: str, headers: Mapping[str, str], forwarded_allow_ips: Sequence[str]
) -> TransportInfo:
    """``secure``/``peer`` as the server computed them; distrusted when forwarded headers are
    present and no proxy is configured. With a configured proxy, ``origin`` is the
    ``scheme://host[:port]`` it says the client used (for the address filter)."""
    forwarded = any(h in FORWARDED_HEADERS for h in headers)
    if not forwarded_allow_ips:
        return TransportInfo(secure=False if forwarded else secure, peer=peer)
    return TransportInfo(
        secure=secure, peer=peer, origin=forwarded_origin(headers, secure) if forwarded else None
    )


def _first(value: str) -> str:
    """The first (client-side) entry of a comma-separated forwarded header."""
    return value.split(",", 1)[0].strip()


def forwarded_origin(headers: Mapping[str, str], secure: bool) -> str | None:
    """``scheme://host[:port]`` from ``Forwarded`` (RFC 7239: ``proto=``, ``host=``) or the
    ``X-Forwarded-Proto/-Host/-Port`` headers, the ``Host`` header filling in; None when no
    host is named. Only for requests from a declared proxy."""
    proto = host = port = ""
    if "forwarded" in headers:
        for pair in _first(headers["forwarded"]).split(";"):
            name, _, value = pair.partition("=")
            name, value = name.strip().lower(), value.strip().strip('"')
            if name == "proto":
                proto = value
            elif name == "host":
                host = value
    proto = proto or _first(headers.get("x-forwarded-proto", ""))
    host = host or _first(headers.get("x-forwarded-host", "")) or headers.get("host", "")
    port = _first(headers.get("x-forwarded-port", ""))
    proto = proto.lower() or ("https" if secure else "http")
    if not host or any(c in host for c in "/?#@ \t") or proto not in ("http", "https"):
        return None
    if port.isdigit() and not host.endswith("]") and ":" not in host:
        host = f"{host}:{port}"
    return f"{proto}://{host}"


__all__ = ["FORWARDED_HEADERS", "forwarded_origin", "transport_info"]
