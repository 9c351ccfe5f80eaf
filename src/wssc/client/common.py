"""What the sync and async clients share: construction from settings or a WSDL, events."""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from wssc.bootstrap.base import BootstrapClient
from wssc.bootstrap.registry import ClientCredentials, bootstrap_kind, settings_from_wsdl
from wssc.certs import Certificate, from_der
from wssc.contract import ContractSpec, OperationSpec
from wssc.errors import ConfigurationError, InvalidArgument, TransportError
from wssc.session.client import ClientSession, Outgoing
from wssc.session.flow import ClientFlow, EventHook
from wssc.settings import WCF_COMPATIBLE, Compatibility, EndpointSettings

log = logging.getLogger("wssc.client")
H = TypeVar("H")
L = TypeVar("L")



def tls_verify(verify: bool | str | ssl.SSLContext) -> bool | ssl.SSLContext:
    """httpx's ``verify``: a CA file path becomes an SSL context."""
    if isinstance(verify, str):
        return ssl.create_default_context(cafile=verify)
    return verify


def make_bootstrap(
    settings: EndpointSettings,
    service_certificate: Certificate | None,
    username: str | None,
    password: str | None,
) -> BootstrapClient:
    """The client half of the endpoint's bootstrap, from the registry."""
    kind = bootstrap_kind(settings.secure_conversation.bootstrap)
    return kind.client_half(ClientCredentials(service_certificate, username, password))


@dataclass(frozen=True, slots=True)
class WsdlEndpoint:
    address: str
    settings: EndpointSettings
    contract: ContractSpec
    certificate: Certificate | None


def endpoint_from_wsdl(wsdl: bytes, url: str) -> WsdlEndpoint:
    """Everything a client needs, read from a WSDL: address, policy settings, contract, the
    service certificate (endpoint identity). The document is parsed once, under one set of
    limits (`wssc.contract.wsdl.WSDL_LIMITS`), for both the contract and the policy."""
    from wssc.contract.wsdl import parse_wsdl, parse_wsdl_operations

    root = parse_wsdl(wsdl)
    imported = settings_from_wsdl(root)
    contract = parse_wsdl_operations(root)
    settings = EndpointSettings(
        secure_conversation=imported.settings, soap_version=imported.soap_version
    )
    address = imported.address or url.split("?", 1)[0]
    cert = from_der(imported.service_certificate_der) if imported.service_certificate_der else None
    return WsdlEndpoint(address, settings, contract, cert)


class ClientBase(Generic[H, L]):
    """What `Client` and `AsyncClient` share: the
    constructor, the sans-IO `ClientSession` and its
    `ClientFlow`, the contract, argument checks, and HTTP status
    handling. The subclasses only drive the flow over httpx (``H``: their httpx client type;
    ``L``: their lock type).

    ``verify``: ``True``, ``False``, a CA file or an SSL context (HTTPS); ``http``: an httpx
    client of your own (then not closed by `close`); ``compatibility``: peer quirks."""

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
        http: H | None = None,
        on_event: EventHook | None = None,
        clock: Callable[[], float] = time.time,
        compatibility: Compatibility = WCF_COMPATIBLE,
    ) -> None:
        self.address = address
        self.contract = contract
        self.settings = settings or EndpointSettings()
        session = ClientSession(
            self.settings, make_bootstrap(self.settings, service_certificate, username, password),
            address, compatibility=compatibility,
        )
        self.flow = ClientFlow(session, clock=clock, on_event=on_event)
        self.clock = clock
        self._http: H = http if http is not None else self._new_http(tls_verify(verify), timeout)
        self._own_http = http is None
        self._lock: L = self._new_lock()

    @property
    def session(self) -> ClientSession:
        """The sans-IO session the flow drives (state, SCT, keys)."""
        return self.flow.session

    @session.setter
    def session(self, session: ClientSession) -> None:
        self.flow.session = session

    def _new_http(self, verify: bool | ssl.SSLContext, timeout: float) -> H:
        raise NotImplementedError

    def _new_lock(self) -> L:
        raise NotImplementedError

    def _bind(self, name: str, args: tuple[object, ...], kwargs: dict[str, object]
              ) -> tuple[OperationSpec, dict[str, object]]:
        op = find_operation(self.contract, name)
        bound = bind_args(op, args, kwargs)
        check_arguments(op, bound)
        return op, bound

    @staticmethod
    def _headers(out: Outgoing) -> dict[str, str]:
        return {"content-type": out.content_type, "soapaction": f'"{out.action}"'}

    @staticmethod
    def _fetched(status: int, url: str) -> None:
        if status != 200:
            raise TransportError(f"fetching the WSDL at {url} gave HTTP {status}")

    def _answered(self, status: int, content: bytes) -> bytes:
        if status not in (200, 500):
            raise TransportError(f"{self.address} answered HTTP {status}")
        if not content:
            raise TransportError(
                f"{self.address} answered HTTP {status} with an empty body (the service failed "
                "without sending a SOAP fault)"
            )
        return content


def find_operation(contract: ContractSpec, name: str) -> OperationSpec:
    try:
        return contract.operation(name)
    except Exception:
        raise ConfigurationError(
            f"the contract has no operation {name!r}; it has: "
            + ", ".join(contract.operation_names)
        ) from None


def signature(op: OperationSpec) -> str:
    """``Add(a: int, b: int) -> int``, for messages."""
    params = ", ".join(f"{p.name}: {p.type.annotation}" for p in op.parameters)
    result = op.result.annotation if op.result is not None else "None"
    return f"{op.name}({params}) -> {result}"


def check_arguments(op: OperationSpec, bound: dict[str, object]) -> None:
    """Refuse, locally, arguments that do not fit the contract (missing, wrong type, out of
    range): `InvalidArgument`, and nothing is sent."""
    from wssc.contract import SerializationFailed, encode_request

    try:
        encode_request(op, bound)
    except SerializationFailed as exc:
        raise InvalidArgument(
            f"{exc.detail}; the contract says {signature(op)} (nothing was sent)"
        ) from None


def bind_args(op: OperationSpec, args: tuple[object, ...], kwargs: dict[str, object]
              ) -> dict[str, object]:
    names = [p.name for p in op.parameters]
    if len(args) > len(names):
        raise InvalidArgument(f"{op.name} takes {len(names)} arguments, got {len(args)}: "
                              f"{signature(op)}")
    bound = dict(zip(names, args, strict=False))
    for k, v in kwargs.items():
        if k not in names:
            raise InvalidArgument(f"{op.name} has no parameter {k!r}: {signature(op)}")
        if k in bound:
            raise InvalidArgument(f"{op.name} got {k!r} twice")
        bound[k] = v
    return bound
