"""wssc: WCF secure sessions (WS-SecureConversation) for Python.

The front door; everything a service or a client needs::

    from wssc import AsgiApp, Client, ServiceEngine, operation, service_contract

    @service_contract(namespace="http://tempuri.org/", name="ICalculator")
    class Calculator:
        @operation
        def Add(self, a: int, b: int) -> int:
            return a + b

    app = AsgiApp(ServiceEngine(Calculator(), address="http://127.0.0.1:8000/svc",
                                certificate=load_certificate("cert.pem", "key.pem")))

    with Client.from_wsdl("http://127.0.0.1:8000/svc?wsdl") as c:
        c.Add(a=2, b=3)

Names are imported on first use, so ``import wssc`` stays light and the optional extras
(httpx for the clients, uvicorn for serving) are needed only by what uses them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wssc.bootstrap.bindings import WS2007HttpBinding, WSHttpBinding
    from wssc.bootstrap.federation_bindings import WS2007FederationHttpBinding, WSFederationHttpBinding
    from wssc.bootstrap.registry import ClientCredentials, ServiceCredentials
    from wssc.certs import Certificate, dev_certificate, generate_self_signed
    from wssc.certs import load as load_certificate
    from wssc.client.async_ import AsyncClient
    from wssc.client.sync import Client
    from wssc.contract import ContractSpec, get_contract, operation, service_contract
    from wssc.errors import (
        ConfigurationError,
        QuotaExceeded,
        RemoteFault,
        SecurityVerificationFailed,
        TransportError,
        WsscError,
    )
    from wssc.security.replay import MemoryReplayCache
    from wssc.service.asgi import AsgiApp
    from wssc.service.engine import ServiceEngine
    from wssc.service.wsgi import WsgiApp
    from wssc.settings import (
        CXF_SPNEGO,
        MONO_COMPATIBLE,
        WCF_COMPATIBLE,
        WS2007,
        WS_SP_SUITES,
        WSHTTP,
        Bootstrap,
        Compatibility,
        EndpointSettings,
        KeyEntropyMode,
        LocalClientSecuritySettings,
        LocalServiceSecuritySettings,
        SecureConversationSettings,
    )
    from wssc.store import MemoryStore, SessionStore
    from wssc.store.cookie import KeyRing
    from wssc.store.redis import RedisReplayCache, RedisStore

_WHERE: dict[str, tuple[str, str]] = {
    "WSHttpBinding": ("wssc.bootstrap.bindings", "WSHttpBinding"),
    "WS2007HttpBinding": ("wssc.bootstrap.bindings", "WS2007HttpBinding"),
    "WSFederationHttpBinding": ("wssc.bootstrap.federation_bindings", "WSFederationHttpBinding"),
    "WS2007FederationHttpBinding": ("wssc.bootstrap.federation_bindings", "WS2007FederationHttpBinding"),
    "ClientCredentials": ("wssc.bootstrap.registry", "ClientCredentials"),
    "ServiceCredentials": ("wssc.bootstrap.registry", "ServiceCredentials"),
    "Certificate": ("wssc.certs", "Certificate"),
    "dev_certificate": ("wssc.certs", "dev_certificate"),
    "generate_self_signed": ("wssc.certs", "generate_self_signed"),
    "load_certificate": ("wssc.certs", "load"),
    "AsyncClient": ("wssc.client.async_", "AsyncClient"),
    "Client": ("wssc.client.sync", "Client"),
    "ContractSpec": ("wssc.contract", "ContractSpec"),
    "get_contract": ("wssc.contract", "get_contract"),
    "operation": ("wssc.contract", "operation"),
    "service_contract": ("wssc.contract", "service_contract"),
    "ConfigurationError": ("wssc.errors", "ConfigurationError"),
    "QuotaExceeded": ("wssc.errors", "QuotaExceeded"),
    "RemoteFault": ("wssc.errors", "RemoteFault"),
    "SecurityVerificationFailed": ("wssc.errors", "SecurityVerificationFailed"),
    "TransportError": ("wssc.errors", "TransportError"),
    "WsscError": ("wssc.errors", "WsscError"),
    "MemoryReplayCache": ("wssc.security.replay", "MemoryReplayCache"),
    "AsgiApp": ("wssc.service.asgi", "AsgiApp"),
    "ServiceEngine": ("wssc.service.engine", "ServiceEngine"),
    "WsgiApp": ("wssc.service.wsgi", "WsgiApp"),
    "MONO_COMPATIBLE": ("wssc.settings", "MONO_COMPATIBLE"),
    "CXF_SPNEGO": ("wssc.settings", "CXF_SPNEGO"),
    "WCF_COMPATIBLE": ("wssc.settings", "WCF_COMPATIBLE"),
    "WS_SP_SUITES": ("wssc.settings", "WS_SP_SUITES"),
    "WS2007": ("wssc.settings", "WS2007"),
    "WSHTTP": ("wssc.settings", "WSHTTP"),
    "Bootstrap": ("wssc.settings", "Bootstrap"),
    "Compatibility": ("wssc.settings", "Compatibility"),
    "EndpointSettings": ("wssc.settings", "EndpointSettings"),
    "KeyEntropyMode": ("wssc.settings", "KeyEntropyMode"),
    "LocalClientSecuritySettings": ("wssc.settings", "LocalClientSecuritySettings"),
    "LocalServiceSecuritySettings": ("wssc.settings", "LocalServiceSecuritySettings"),
    "SecureConversationSettings": ("wssc.settings", "SecureConversationSettings"),
    "MemoryStore": ("wssc.store", "MemoryStore"),
    "SessionStore": ("wssc.store", "SessionStore"),
    "KeyRing": ("wssc.store.cookie", "KeyRing"),
    "RedisReplayCache": ("wssc.store.redis", "RedisReplayCache"),
    "RedisStore": ("wssc.store.redis", "RedisStore"),
}

__all__ = [
    "CXF_SPNEGO",
    "MONO_COMPATIBLE",
    "WCF_COMPATIBLE",
    "WS2007",
    "WSHTTP",
    "WS_SP_SUITES",
    "AsgiApp",
    "AsyncClient",
    "Bootstrap",
    "Certificate",
    "Client",
    "ClientCredentials",
    "Compatibility",
    "ConfigurationError",
    "ContractSpec",
    "EndpointSettings",
    "KeyEntropyMode",
    "KeyRing",
    "LocalClientSecuritySettings",
    "LocalServiceSecuritySettings",
    "MemoryReplayCache",
    "MemoryStore",
    "QuotaExceeded",
    "RedisReplayCache",
    "RedisStore",
    "RemoteFault",
    "SecureConversationSettings",
    "SecurityVerificationFailed",
    "ServiceCredentials",
    "ServiceEngine",
    "SessionStore",
    "TransportError",
    "WS2007FederationHttpBinding",
    "WS2007HttpBinding",
    "WSFederationHttpBinding",
    "WSHttpBinding",
    "WsgiApp",
    "WsscError",
    "dev_certificate",
    "generate_self_signed",
    "get_contract",
    "load_certificate",
    "operation",
    "service_contract",
]

__version__ = "0.1.0"


#: subpackages reachable as attributes after a plain ``import wssc`` (``wssc.integrations.zeep``)
_SUBPACKAGES = frozenset({"integrations"})


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:
        return importlib.import_module(f"wssc.{name}")
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'wssc' has no attribute {name!r}")
    value = getattr(importlib.import_module(where[0]), where[1])
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])
