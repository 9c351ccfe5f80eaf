"""Bootstraps: how the client proves itself before the SCT exists."""

from wssc.bootstrap.anonymous_for_certificate import (
    AnonymousForCertificateClient,
    AnonymousForCertificateService,
)
from wssc.bootstrap.base import (
    BootstrapClient,
    BootstrapService,
    ClientContext,
    ServiceResult,
    TransportInfo,
    UsernameValidator,
)
from wssc.bootstrap.username_over_transport import (
    UserNameOverTransportClient,
    UserNameOverTransportService,
)

__all__ = [
    "AnonymousForCertificateClient", "AnonymousForCertificateService", "BootstrapClient",
    "BootstrapService", "ClientContext", "ServiceResult", "TransportInfo",
    "UserNameOverTransportClient", "UserNameOverTransportService", "UsernameValidator",
]
