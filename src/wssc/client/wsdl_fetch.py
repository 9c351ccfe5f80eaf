"""Fetch WSDL documents over HTTP a chunk at a time, never past a `WsdlBudget`.

The body is read raw (``Accept-Encoding: identity`` is asked; a gzip or deflate body is decoded
by the budget's counter, a bounded output at a time) and the response is closed the moment a cap
is passed, so an endless or lying document costs at most the cap. ``on_status`` is the caller's
check of the HTTP status (its error type), made before the body is read.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from wssc.policy.wsdl_resolve import WsdlBudget

_HEADERS = {"Accept-Encoding": "identity"}


def get_capped(
    http: httpx.Client, url: str, budget: WsdlBudget, on_status: Callable[[int, str], None]
) -> bytes:
    """GET ``url`` with ``http``, counted into ``budget`` while it streams."""
    with http.stream("GET", url, headers=_HEADERS) as r:
        on_status(r.status_code, url)
        body = budget.body(url, r.headers.get("content-encoding"), r.headers.get("content-length"))
        for raw in r.iter_raw():
            body.feed(raw)
    return body.result()


def mex_get_capped(
    http: httpx.Client, url: str, budget: WsdlBudget, on_status: Callable[[int, str], None]
) -> bytes:
    """POST a WS-MetadataExchange Get (SOAP 1.2) to the mex address ``url``; its answer
    (a ``mex:Metadata`` in a SOAP envelope) counted into ``budget`` while it streams."""
    from wssc.policy.mex import GET_CONTENT_TYPE, get_request

    headers = {**_HEADERS, "Content-Type": GET_CONTENT_TYPE}
    with http.stream("POST", url, content=get_request(url), headers=headers) as r:
        on_status(r.status_code, url)
        body = budget.body(url, r.headers.get("content-encoding"), r.headers.get("content-length"))
        for raw in r.iter_raw():
            body.feed(raw)
    return body.result()


async def amex_get_capped(
    http: httpx.AsyncClient, url: str, budget: WsdlBudget, on_status: Callable[[int, str], None]
) -> bytes:
    """`mex_get_capped`, awaited."""
    from wssc.policy.mex import GET_CONTENT_TYPE, get_request

    headers = {**_HEADERS, "Content-Type": GET_CONTENT_TYPE}
    async with http.stream("POST", url, content=get_request(url), headers=headers) as r:
        on_status(r.status_code, url)
        body = budget.body(url, r.headers.get("content-encoding"), r.headers.get("content-length"))
        async for raw in r.aiter_raw():
            body.feed(raw)
    return body.result()


async def aget_capped(
    http: httpx.AsyncClient, url: str, budget: WsdlBudget, on_status: Callable[[int, str], None]
) -> bytes:
    """`get_capped`, awaited."""
    async with http.stream("GET", url, headers=_HEADERS) as r:
        on_status(r.status_code, url)
        body = budget.body(url, r.headers.get("content-encoding"), r.headers.get("content-length"))
        async for raw in r.aiter_raw():
            body.feed(raw)
    return body.result()


__all__ = ["aget_capped", "amex_get_capped", "get_capped", "mex_get_capped"]
