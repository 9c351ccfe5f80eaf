"""Who called: the identity the service authenticated, as an operation sees it.

The engine runs each operation with the caller's identity set (the principal a SPNEGO or
Kerberos negotiation authenticated, ``alice@REALM``; a UserName; a certificate's subject; ''
for an anonymous caller)::

    from wssc.service.caller import caller_identity

    class Service:
        def WhoAmI(self) -> str:
            return caller_identity() or "anonymous"

`caller_claims` gives what the service knows of the caller as claims (WCF's
``ServiceSecurityContext.AuthorizationContext`` claim sets): for an issued token (federation),
its subject as the name claim and each SAML attribute value as a claim of that attribute's type,
each with the STS as issuer; for every other bootstrap, the identity as the name claim only::

    from wssc.service.caller import caller_claims

    class Service:
        def Roles(self) -> list[str]:
            role = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"
            return [c.value for c in caller_claims() if c.type == role]

A secure session keeps the claims its bootstrap gave (`wssc.claims`), so every message of the
session sees them.

Both are context variables set around the call, so they hold in sync and async operations
alike and in no other code.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from wssc.claims import Claim, identity_claims

_identity: ContextVar[str | None] = ContextVar("wssc_caller_identity", default=None)
_claims: ContextVar[tuple[Claim, ...]] = ContextVar("wssc_caller_claims", default=())


def caller_identity() -> str | None:
    """The identity of the caller of the running operation; None outside an operation."""
    return _identity.get()


def caller_claims() -> tuple[Claim, ...]:
    """The claims of the caller of the running operation; () outside an operation (and for
    an anonymous caller of a bootstrap that gives no claims)."""
    return _claims.get()


def with_caller(
    method: Callable[..., Any],
    identity: str,
    claims: tuple[Claim, ...] = (),
    *,
    is_async: bool | None = None,
) -> Callable[..., Any]:
    """``method`` run with `caller_identity` returning ``identity`` and `caller_claims`
    returning ``claims`` (when empty: the identity's name claim). ``is_async``: whether
    ``method`` is a coroutine function, when the caller knows (the engine: the operation's
    ``is_async``, by which it dispatches the call); None: found out by inspecting it.
    The wrapper's ``__wrapped__`` is ``method`` (`inspect.signature` and `inspect.unwrap`
    see it); its name and docstring are the wrapper's own, which saves the engine a
    `functools.wraps` per call."""
    held = claims or identity_claims(identity)
    if is_async is None:
        is_async = inspect.iscoroutinefunction(method)
    if is_async:

        async def run_async(*args: Any, **kwargs: Any) -> Any:
            token, ctoken = _identity.set(identity), _claims.set(held)
            try:
                return await method(*args, **kwargs)
            finally:
                _claims.reset(ctoken)
                _identity.reset(token)

        run_async.__wrapped__ = method  # type: ignore[attr-defined]
        return run_async

    def run(*args: Any, **kwargs: Any) -> Any:
        token, ctoken = _identity.set(identity), _claims.set(held)
        try:
            return method(*args, **kwargs)
        finally:
            _claims.reset(ctoken)
            _identity.reset(token)

    run.__wrapped__ = method  # type: ignore[attr-defined]
    return run


__all__ = ["Claim", "caller_claims", "caller_identity", "with_caller"]
