"""The synchronous client, over httpx::

    with Client.from_wsdl("http://127.0.0.1:8000/svc?wsdl") as c:
        c.Add(a=2, b=3)        # opens the session on the first call
    # on exit: RST/SCT/Cancel, unless the policy says MustNotSendCancel

It renews by itself at 60 % of the key lifetime and again after a ``RenewNeeded`` fault, and in
cookie mode re-issues at 60 % of the cookie lifetime.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable
from typing import Any

import httpx

from wssc.certs import Certificate
from wssc.client.common import (
    ClientBase,
    EventHook,
    endpoint_from_wsdl,
    find_operation,
    log,
    tls_verify,
)
from wssc.errors import ConfigurationError, RenewNeeded, WsscError
from wssc.service.contract import ContractSpec
from wssc.session.client import Outgoing
from wssc.settings import EndpointSettings


class Client(ClientBase):
    """A synchronous WS-SecureConversation client over httpx.

    Build it with :meth:`from_wsdl` (everything from the service's WSDL and policy) or from an
    address, a contract and :class:`~wssc.settings.EndpointSettings`. Operations are methods
    (``client.Add(a=1, b=2)``) or :meth:`call`. The session opens on the first call, renews
    on time, and :meth:`close` (or leaving a ``with`` block) sends the Cancel unless the policy
    says MustNotSendCancel. Arguments that do not fit the contract raise
    :class:`~wssc.errors.InvalidArgument` before anything is sent.
    """

    def __init__(
        self,
        address: str,
        contract: ContractSpec,
        *,
        settings: EndpointSettings | None = None,
        service_certificate: Certificate | None = None,
        username: str | None = None,
        password: str | None = None,
        verify: bool | str | ssl.SSLContext = True,
        timeout: float = 60.0,
        http: httpx.Client | None = None,
        on_event: EventHook | None = None,
        clock: Callable[[], float] = time.time,
        local_reference_value_types: bool = True,
    ) -> None:
        super().__init__(
            address, contract, settings=settings, service_certificate=service_certificate,
            username=username, password=password, on_event=on_event, clock=clock,
            local_reference_value_types=local_reference_value_types,
        )
        self._http = http or httpx.Client(verify=tls_verify(verify), timeout=timeout)
        self._own_http = http is None

    @classmethod
    def from_wsdl(
        cls, url: str, *, verify: bool | str | ssl.SSLContext = True, timeout: float = 60.0, **kw: Any
    ) -> Client:
        try:
            r = httpx.get(url, verify=tls_verify(verify), timeout=timeout)
        except httpx.HTTPError as exc:
            raise ConfigurationError(f"cannot fetch the WSDL at {url}: {exc}") from None
        ClientBase._fetched(r.status_code, url)

        def fetch(doc_url: str) -> bytes:  # WCF's multi-file ?wsdl=wsdl0 / ?xsd=xsd0 imports
            try:
                d = httpx.get(doc_url, verify=tls_verify(verify), timeout=timeout)
            except httpx.HTTPError as exc:
                raise ConfigurationError(f"cannot fetch {doc_url}: {exc}") from None
            ClientBase._fetched(d.status_code, doc_url)
            return d.content

        from wssc.policy.wsdl_resolve import assemble

        ep = endpoint_from_wsdl(assemble(r.content, url, fetch), url)
        kw.setdefault("service_certificate", ep.certificate)
        return cls(ep.address, ep.contract, settings=ep.settings, verify=verify,
                   timeout=timeout, **kw)

    def _post(self, out: Outgoing) -> bytes:
        try:
            r = self._http.post(self.address, content=out.body, headers={
                "content-type": out.content_type, "soapaction": f'"{out.action}"'})
        except httpx.HTTPError as exc:
            raise ConfigurationError(f"cannot reach {self.address}: {exc}") from None
        return self._answered(r.status_code, r.content)

    # --- session life ---------------------------------------------------------------------
    def open(self) -> None:
        s = self.session
        if not s.scs.establish_security_context:
            return
        now = self.clock()
        if s.issue_due(now):
            reissue = s.is_open
            out = s.issue_request(now)
            sct = s.issue_response(self._post(out), out, now)
            self._event("issue" if not reissue else "reissue",
                        f"SCT {sct.identifier}{' (cookie)' if sct.cookie else ''}")
        elif s.renew_due(now):
            self.renew()

    def renew(self) -> None:
        now = self.clock()
        out = self.session.renew_request(now)
        sct = self.session.renew_response(self._post(out), out, now)
        self._event("renew", f"SCT {sct.identifier} instance {sct.instance}")

    def call(self, name: str, *args: object, **kwargs: object) -> object:
        op, bound = self._bind(name, args, kwargs)
        for attempt in (1, 2):
            self.open()
            now = self.clock()
            out = self.session.app_request(op, bound, now)
            try:
                value = self.session.app_response(self._post(out), out, now)
            except RenewNeeded:
                if attempt == 2 or not self.session.scs.can_renew_session:
                    raise
                self._event("renew-needed", "the service asked for a new key")
                continue
            self._event("call", f"{name}({', '.join(f'{k}={v!r}' for k, v in bound.items())})"
                        f" -> {value!r}")
            return value
        raise AssertionError("unreachable")

    def __getattr__(self, name: str) -> Callable[..., object]:
        if name.startswith("_"):
            raise AttributeError(name)
        find_operation(self.contract, name)
        return lambda *a, **k: self.call(name, *a, **k)

    def close(self) -> None:
        s = self.session
        try:
            out = s.cancel_request(self.clock())
            if out is not None:
                s.cancel_response(self._post(out), out, self.clock())
                self._event("cancel", "session cancelled")
            elif s.is_open:
                self._event("close", "no Cancel sent (MustNotSendCancel: cookie mode)")
                s.closed_without_cancel()
        except WsscError as exc:
            log.warning("cancel failed: %s", exc.describe())
            s.closed_without_cancel()
        finally:
            if self._own_http:
                self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
