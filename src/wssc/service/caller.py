"""Who called: the identity the service authenticated, as an operation sees it.

The engine runs each operation with the caller's identity set (the principal a SPNEGO or
Kerberos negotiation authenticated, ``alice@REALM``; a UserName; a certificate's subject; ''
for an anonymous caller)::

    from wssc.service.caller import caller_identity

    class Service:
        def WhoAmI(self) -> str:
            return caller_identity() or "anonymous"

It is a context variable set around the call, so it holds in sync and async operations alike
and in no other code.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

_identity: ContextVar[str | None] = ContextVar("wssc_caller_identity", default=None)


def caller_identity() -> str | None:
    """The identity of the caller of the running operation; None outside an operation."""
    return _identity.get()


def with_caller(method: Callable[..., Any], identity: str) -> Callable[..., Any]:
    """``method`` run with `caller_identity` returning ``identity``."""
    if inspect.iscoroutinefunction(method):

        @functools.wraps(method)
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            token = _identity.set(identity)
            try:
                return await method(*args, **kwargs)
            finally:
                _identity.reset(token)

        return run_async

    @functools.wraps(method)
    def run(*args: Any, **kwargs: Any) -> Any:
        token = _identity.set(identity)
        try:
            return method(*args, **kwargs)
        finally:
            _identity.reset(token)

    return run


__all__ = ["caller_identity", "with_caller"]
