"""The synchronous client, over httpx::

    with Client.from_wsdl("http://127.0.0.1:8000/svc?wsdl") as c:
        c.Add(a=2, b=3)        # opens the session on the first call
    # on exit: RST/SCT/Cancel, unless the policy says MustNotSendCancel

It renews by itself at 60 % of the key lifetime and again after a ``RenewNeeded`` fault, and in
cookie mode re-issues at 60 % of the cookie lifetime.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from wssc.client.common import (
    ClientBase,
    endpoint_from_wsdl,
    find_operation,
    first_wsdl,
    network_failure,
    policy_first,
    read_reply,
    tls_verify,
)
from wssc.client.issuer import follow_issuer, pending, with_token
from wssc.errors import ConfigurationError, TransportError, missing_extra

try:
    import httpx
except ModuleNotFoundError as exc:
    raise missing_extra(exc, "wssc.Client") from exc

from wssc.session.client import Outgoing
from wssc.session.flow import Flow, run_flow

T = TypeVar("T")


class Client(ClientBase[httpx.Client, threading.RLock]):
    """A synchronous WS-SecureConversation client over httpx.

    Build it with `from_wsdl` (everything from the service's WSDL and policy) or from an
    address, a contract and `EndpointSettings`. Operations are methods
    (``client.Add(a=1, b=2)``) or `call`. The session opens on the first call, renews
    on time, and `close` (or leaving a ``with`` block) sends the Cancel unless the policy
    says MustNotSendCancel. Arguments that do not fit the contract raise
    `InvalidArgument` before anything is sent. Thread-safe: one request
    at a time per client.
    """

    def _new_http(self, verify: bool | ssl.SSLContext, timeout: float) -> httpx.Client:
        return httpx.Client(verify=verify, timeout=timeout)

    def _new_lock(self) -> threading.RLock:
        return threading.RLock()

    @classmethod
    def from_wsdl(
        cls,
        url: str,
        *,
        verify: bool | str | ssl.SSLContext = True,
        timeout: float = 60.0,
        address: str | None = None,
        port: str | None = None,
        mex: bool = False,
        sts: str | None = None,
        sts_verify: bool | str | ssl.SSLContext | None = None,
        **kw: Any,
    ) -> Client:
        """A client configured from the WSDL at ``url`` (the service address alone works too:
        its ``?wsdl`` is tried when it answers no WSDL). ``address``: call the service there
        instead of at the WSDL's soap:address; ``port``: the ``wsdl:port`` to use (default:
        the first whose binding has a policy). ``mex=True`` (or `from_mex`): ``url`` is a
        WS-MetadataExchange endpoint, asked with a WS-Transfer Get (SOAP 1.2 POST) as svcutil
        does; its ``mex:Metadata`` answer is read like a WSDL, under the same `WsdlBudget`.

        An IssuedToken (federation) endpoint's token is obtained first, unless the credentials
        hold one: from the STS its policy names (``sp:Issuer``, its metadata found through
        ``sp:Issuer/wsa:Metadata``, else ``?wsdl``; `wssc.client.issuer`), or ``sts`` (an STS
        address, overriding the policy's), signing in with ``username``/``password``;
        ``sts_verify``: the STS's HTTPS trust (default: ``verify``)."""
        from wssc.client.wsdl_fetch import get_capped, mex_get_capped
        from wssc.policy.wsdl_resolve import WsdlAssembler, WsdlBudget

        budget = WsdlBudget()  # each document and the total capped while they stream
        with httpx.Client(verify=tls_verify(verify), timeout=timeout) as h:

            def fetch(doc_url: str) -> bytes:  # also WCF's ?wsdl=wsdl0 / ?xsd=xsd0 imports
                try:
                    return get_capped(h, doc_url, budget, ClientBase._fetched)
                except httpx.HTTPError as exc:
                    raise network_failure(exc, doc_url, "cannot fetch the WSDL at") from None

            if mex:
                try:
                    answer = mex_get_capped(h, url, budget, ClientBase._mex_answered)
                except httpx.HTTPError as exc:
                    raise network_failure(exc, url, "cannot fetch the metadata at") from None
                asm = WsdlAssembler(answer, url, budget=budget)
            else:
                url, asm = first_wsdl(url, fetch, budget)
            try:
                while urls := asm.missing():
                    for u in urls:
                        asm.add(u, fetch(u))
            except (ConfigurationError, TransportError) as exc:
                raise policy_first(asm, port, exc) from None
        ep = endpoint_from_wsdl(asm.result(), url, port)
        sts_trust = verify if sts_verify is None else sts_verify  # a CA file or context: pinned
        todo = pending(
            ep.settings.secure_conversation,
            address or ep.address,
            kw,
            sts,
            metadata_url=url,
            sts_pinned=isinstance(sts_trust, str | ssl.SSLContext),
        )
        if todo is not None:  # an IssuedToken endpoint: follow its sp:Issuer to the STS
            plan, user, pw = todo
            tls = tls_verify(sts_trust)
            token = follow_issuer(plan, user, pw, verify=tls, timeout=timeout)
            kw = with_token(kw, token)
        return cls._from_endpoint(ep, url, address, verify=verify, timeout=timeout, **kw)

    @classmethod
    def from_mex(cls, url: str, **kw: Any) -> Client:
        """``from_wsdl(url, mex=True, ...)``: a client configured from the WS-MetadataExchange
        endpoint at ``url`` (WCF's ``…/mex``; the same keywords as `from_wsdl`)."""
        return cls.from_wsdl(url, mex=True, **kw)

    def _post(self, out: Outgoing) -> bytes:
        # The reply streams, counted against max_received_message_size (`ReplyReader`).
        try:
            with self._http.stream(
                "POST", self.address, content=out.body, headers=self._headers(out), follow_redirects=False
            ) as r:
                self._status(r.status_code, len(out.body))
                data = read_reply(r, self._reader)
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from None
        return self._answered(r.status_code, data, len(out.body))

    def _run(self, flow: Flow[T]) -> T:
        with self._lock:
            return run_flow(flow, self._post)

    # --- session life ---------------------------------------------------------------------
    def open(self) -> None:
        """Issue the SCT now (else the first call does), or renew when due."""
        self._run(self.flow.open())

    def renew(self) -> None:
        self._run(self.flow.renew())

    def call(self, name: str, *args: object, **kwargs: object) -> object:
        """Call operation ``name``; ``c.call("Add", 2, 3)`` is ``c.Add(2, 3)``."""
        op, bound = self._bind(name, args, kwargs)
        return self._run(self.flow.call(op, bound))

    def __getattr__(self, name: str) -> Callable[..., object]:
        if name.startswith("_"):
            raise AttributeError(name)
        find_operation(self.contract, name)
        return lambda *a, **k: self.call(name, *a, **k)

    def close(self) -> None:
        """Cancel (unless MustNotSendCancel) and close the HTTP client."""
        try:
            self._run(self.flow.close())
        finally:
            if self._own_http:
                self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
