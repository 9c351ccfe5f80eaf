"""Bootstraps: how the client proves itself before the SCT exists.

One module per WCF bootstrap (its client half, service half and policy shape), found through
the registry, `wssc.bootstrap.registry`, whose docstring walks through adding one in
three steps. Nothing outside this package names a bootstrap.
"""

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
from wssc.bootstrap.username_for_certificate import (
    UserNameForCertificateClient,
    UserNameForCertificateService,
)
from wssc.bootstrap.username_over_transport import (
    UserNameOverTransportClient,
    UserNameOverTransportService,
)

__all__ = [
    "AnonymousForCertificateClient",
    "AnonymousForCertificateService",
    "BootstrapClient",
    "BootstrapService",
    "ClientContext",
    "ServiceResult",
    "TransportInfo",
    "UserNameForCertificateClient",
    "UserNameForCertificateService",
    "UserNameOverTransportClient",
    "UserNameOverTransportService",
    "UsernameValidator",
]
