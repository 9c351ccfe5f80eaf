"""What the sync and async clients share: construction from settings or a WSDL, events."""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass

from wssc.bootstrap.anonymous_for_certificate import AnonymousForCertificateClient
from wssc.bootstrap.base import BootstrapClient
from wssc.bootstrap.username_over_transport import UserNameOverTransportClient
from wssc.certs import Certificate, from_der
from wssc.errors import ConfigurationError, InvalidArgument
from wssc.service.contract import ContractSpec, OperationSpec
from wssc.settings import EndpointSettings

log = logging.getLogger("wssc.client")

#: Called with (event, detail) for "issue", "call", "renew", "cancel", "close".
EventHook = Callable[[str, str], None]


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
    boot = settings.secure_conversation.bootstrap
    if boot.over_transport:
        if username is None or password is None:
            raise ConfigurationError("UserNameOverTransport needs a username and a password")
        return UserNameOverTransportClient(username, password)
    if service_certificate is None:
        raise ConfigurationError(
            "AnonymousForCertificate needs the service certificate (from the WSDL identity "
            "or service_certificate=)"
        )
    return AnonymousForCertificateClient(service_certificate)


@dataclass(frozen=True, slots=True)
class WsdlEndpoint:
    address: str
    settings: EndpointSettings
    contract: ContractSpec
    certificate: Certificate | None


def endpoint_from_wsdl(wsdl: bytes, url: str) -> WsdlEndpoint:
    """Everything a client needs, read from a WSDL: address, policy settings, contract, the
    service certificate (endpoint identity)."""
    from wssc.policy.wsdl_import import settings_from_wsdl
    from wssc.service.wsdl import parse_wsdl_operations

    imported = settings_from_wsdl(wsdl)
    contract = parse_wsdl_operations(wsdl)
    settings = EndpointSettings(
        secure_conversation=imported.settings, soap_version=imported.soap_version
    )
    address = imported.address or url.split("?", 1)[0]
    cert = from_der(imported.service_certificate_der) if imported.service_certificate_der else None
    return WsdlEndpoint(address, settings, contract, cert)


class ClientBase:
    """What :class:`~wssc.client.Client` and :class:`~wssc.client.AsyncClient` share: the
    sans-IO :class:`~wssc.session.client.ClientSession`, the contract and the event hook."""

    def __init__(
        self,
        address: str,
        contract: ContractSpec,
        *,
        settings: EndpointSettings | None = None,
        service_certificate: Certificate | None = None,
        username: str | None = None,
        password: str | None = None,
        on_event: EventHook | None = None,
        clock: Callable[[], float] = time.time,
        local_reference_value_types: bool = True,
    ) -> None:
        from wssc.session.client import ClientSession

        self.address = address
        self.contract = contract
        self.settings = settings or EndpointSettings()
        self.session = ClientSession(
            self.settings, make_bootstrap(self.settings, service_certificate, username, password),
            address, local_reference_value_types=local_reference_value_types,
        )
        self.on_event = on_event
        self.clock = clock

    def _event(self, name: str, detail: str) -> None:
        # A call's arguments and result are application data (they may be secrets): the log
        # gets the operation's name only; the on_event hook (wssc call -v) gets the detail.
        logged = detail.split("(", 1)[0].split(" ->", 1)[0] if name == "call" else detail
        log.info("%s: %s", name, logged)
        if self.on_event:
            self.on_event(name, detail)

    def _bind(self, name: str, args: tuple[object, ...], kwargs: dict[str, object]
              ) -> tuple[OperationSpec, dict[str, object]]:
        op = find_operation(self.contract, name)
        bound = bind_args(op, args, kwargs)
        check_arguments(op, bound)
        return op, bound

    @staticmethod
    def _fetched(status: int, url: str) -> None:
        if status != 200:
            raise ConfigurationError(f"fetching the WSDL at {url} gave HTTP {status}")

    def _answered(self, status: int, content: bytes) -> bytes:
        if status not in (200, 500):
            raise ConfigurationError(f"{self.address} answered HTTP {status}")
        if not content:
            raise ConfigurationError(
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
    range): :class:`~wssc.errors.InvalidArgument`, and nothing is sent."""
    from wssc.service.contract import SerializationFailed, encode_request

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
