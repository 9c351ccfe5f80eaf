"""The address filter: is a message's (signed) ``wsa:To`` this endpoint's address?

A message secured for one endpoint must not run at another that happens to accept its
security (two services sharing a key ring, a farm's wrong pool…). WCF stops it with the
EndpointDispatcher's address filter (``EndpointAddressMessageFilter``), which answers a
mismatch with ``wsa:DestinationUnreachable``. Its comparison (``EndpointAddress.UriEquals``)
is followed here:

* the scheme must be equal, and the port, an absent port being the scheme's default
  (``http://h/svc`` is ``http://h:80/svc``);
* the host is compared (case-insensitively) only under ``HostNameComparisonMode.Exact``.
  WCF's default, ``StrongWildcard``, ignores it: the listener already took the request for
  whatever name the client used (``localhost``, an IP, a DNS alias);
* the path is compared case-insensitively and percent-decoded, a trailing ``/`` ignored;
* user info, query and fragment are ignored (``…/svc?wsdl`` is ``…/svc``).

Behind a reverse proxy the client addresses the proxy (``https://public.example/svc``), not
the address the service listens on. A request that a *declared* proxy forwarded
(``forwarded_allow_ips``) carries the origin the client used (``X-Forwarded-Proto/-Host/-Port``
or ``Forwarded``), `origin`; the To may match that
origin with the endpoint's path as well. Forwarded headers from anyone else are ignored
(`wssc.service.transport`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import SplitResult, unquote, urlsplit

from wssc.errors import ConfigurationError

HostNameComparison = Literal["StrongWildcard", "Exact"]
DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class _Parts:
    scheme: str
    host: str
    port: int
    path: str


def _parts(uri: str) -> _Parts | None:
    """The compared parts of an absolute http(s) URI, or None when it is not one."""
    try:
        u: SplitResult = urlsplit(uri.strip())
        port = u.port
    except ValueError:
        return None
    scheme = u.scheme.lower()
    if scheme not in DEFAULT_PORTS or not u.hostname:
        return None
    path = unquote(u.path).casefold()
    if path.endswith("/"):
        path = path[:-1]
    return _Parts(scheme, u.hostname.lower(), port or DEFAULT_PORTS[scheme], path)


class AddressFilter:
    """Matches ``wsa:To`` values against one endpoint address (see the module docstring)."""

    __slots__ = ("_own", "address", "host_name_comparison")

    def __init__(
        self, address: str, host_name_comparison: HostNameComparison | str = "StrongWildcard"
    ) -> None:
        own = _parts(address)
        if own is None:
            raise ConfigurationError(
                f"the endpoint address {address!r} is not an absolute http:// or https:// URL"
            )
        if host_name_comparison not in ("StrongWildcard", "Exact"):
            raise ConfigurationError("host_name_comparison is StrongWildcard or Exact")
        self.address = address
        self.host_name_comparison = host_name_comparison
        self._own = own

    def __repr__(self) -> str:
        return f"AddressFilter({self.address!r}, {self.host_name_comparison})"

    def _same(self, a: _Parts, b: _Parts) -> bool:
        return (
            a.scheme == b.scheme
            and a.port == b.port
            and a.path == b.path
            and (self.host_name_comparison != "Exact" or a.host == b.host)
        )

    def matches(self, to: str, origin: str | None = None) -> bool:
        """True when ``to`` names this endpoint: its configured address, or (``origin``, the
        ``scheme://host[:port]`` a declared proxy reported) the same path at that origin.
        The configured address itself matches without parsing it again (its parts are
        ``_own``): the usual case, a client that took the address from the WSDL."""
        if to == self.address:
            return True
        parts = _parts(to)
        if parts is None:
            return False
        if self._same(parts, self._own):
            return True
        if origin is None:
            return False
        seen = _parts(origin)
        return seen is not None and self._same(
            parts, _Parts(seen.scheme, seen.host, seen.port, self._own.path)
        )


__all__ = ["DEFAULT_PORTS", "AddressFilter", "HostNameComparison"]
