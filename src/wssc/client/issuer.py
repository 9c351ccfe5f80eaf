"""Follow an ``sp:IssuedToken`` policy's ``Issuer`` to its security token service, as svcutil
and WCF's ``IssuedSecurityTokenProvider`` do.

The service's policy names the STS (``sp:Issuer/wsa:Address``) and, optionally, its metadata
(``sp:Issuer/wsa:Metadata``, WCF's ``IssuerMetadataAddress``: a mex endpoint, or a WSDL).
`IssuerPlan.urls` lists where the STS's metadata is looked for, in order: a WS-MetadataExchange
Get to the metadata address, a GET of that address (a WSDL), then ``{issuer}?wsdl``. Each fetch
is capped in size (one `WsdlBudget` for all of them) and in time (the caller's timeout).
`exchange_from_metadata` imports the STS's policy with the client's own importer and picks its
endpoint: the port at the issuer's address (else any) whose binding wssc can sign in to
(UserNameOverTransport without a security context, as ADFS's ``usernamemixed``; with a client
certificate for the STS, the certificate over HTTPS, as ADFS's ``certificatemixed``, at its own
address); anything else is refused, named in WCF's words. The token is then requested with the
credentials given (`wssc.client.sts`), for the relying party's address (``AppliesTo``).
A client certificate in the credentials (``ClientCredentials(certificate=…)``) of an endpoint
whose own bootstrap takes none is the STS's sign-in.

Sans-IO except `follow_issuer`/`afollow_issuer`, which do the fetches and the RST over httpx.
"""

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit, urlunsplit

from lxml import etree

from wssc.bootstrap.registry import (
    ClientCredentials,
    bootstrap_kind,
    certificate_over_tls,
    settings_from_wsdl,
    username_over_tls,
)
from wssc.certs import Certificate
from wssc.client.sts import StsExchange, rstr_reader
from wssc.errors import (
    ConfigurationError,
    IssuerBindingUnsupported,
    IssuerMetadataUnavailable,
    IssuerNotTrusted,
    IssuerUnknown,
    TransportError,
    WsscError,
)
from wssc.federation.token import IssuedToken
from wssc.http_body import IDENTITY
from wssc.logs import printable
from wssc.policy.model import ImportedEndpoint
from wssc.policy.wsdl_resolve import WsdlAssembler, WsdlBudget
from wssc.settings import SecureConversationSettings
from wssc.trust.issued import IssuedTokenRequest
from wssc.xml import ns
from wssc.xml.soap import SOAP_11, SOAP_12

if TYPE_CHECKING:
    import httpx

#: Ports of an STS's WSDL that are considered (ADFS publishes about twenty).
MAX_PORTS: Final = 64
#: Metadata an STS may answer: the WSDL budget's per-document cap, and a total for all tries.
METADATA_BUDGET_BYTES: Final = 4 * 1024 * 1024


def needs_issued_token(settings: SecureConversationSettings) -> bool:
    """Does the endpoint's bootstrap take its credential from an STS?"""
    return bootstrap_kind(settings.bootstrap).uses("issued_token")


@dataclass(frozen=True, slots=True)
class IssuerPlan:
    """Where the STS is (``address``), where its metadata is (``metadata``, or None), the
    relying party the token is for (``applies_to``), and the token type the service's
    ``RequestSecurityTokenTemplate`` asks for (``token_type``); ``client_certificate``: the
    client's certificate (with its key) to sign in to the STS with, instead of a username."""

    address: str
    metadata: str | None
    applies_to: str
    token_type: str = ns.WSS_SAML2_TOKEN_TYPE
    client_certificate: Certificate | None = field(default=None, repr=False)
    #: The endpoint takes a bearer token: ask for KeyType Bearer.
    bearer: bool = False

    @classmethod
    def of(cls, settings: SecureConversationSettings, applies_to: str, sts: str | None = None) -> IssuerPlan:
        """The plan for an endpoint's settings; ``sts`` overrides the policy's issuer."""
        bearer = bootstrap_kind(settings.bootstrap).requires("bearer")
        if sts is not None:
            return cls(sts, None, applies_to, settings.issued_token_type, bearer=bearer)
        if settings.issuer_address is None:
            raise IssuerUnknown(
                "the service's policy (sp:IssuedToken) names no issuer (sp:Issuer) and none "
                "was given: pass sts='https://sts.example/…' (wssc call --sts URL), or an "
                "issued token (credentials=ClientCredentials(issued_token=…))"
            )
        return cls(
            settings.issuer_address,
            settings.issuer_metadata,
            applies_to,
            settings.issued_token_type,
            bearer=bearer,
        )

    def urls(self) -> list[tuple[str, bool]]:
        """(url, is a mex Get) in the order they are tried."""
        tried: list[tuple[str, bool]] = []
        if self.metadata is not None:
            tried += [(self.metadata, True), (self.metadata, False)]
        parts = urlsplit(self.address)
        wsdl = urlunsplit(parts._replace(query="wsdl", fragment=""))
        if (wsdl, False) not in tried:
            tried.append((wsdl, False))
        return tried


def pending(
    settings: SecureConversationSettings,
    applies_to: str,
    kw: dict[str, Any],
    sts: str | None,
    *,
    metadata_url: str,
    sts_pinned: bool,
) -> tuple[IssuerPlan, str | None, str | None] | None:
    """The plan, username and password when the endpoint needs an issued token and the
    client's keywords (``credentials``, ``username``, ``password``) hold none; else None.

    The policy's issuer is followed only when it can be trusted with the password: the
    service's metadata came over HTTPS (``metadata_url``), or the caller pinned the STS's
    HTTPS trust (``sts_pinned``: ``sts_verify`` given), or named the STS (``sts``). Else
    `IssuerNotTrusted`, before anything is fetched: whoever can rewrite a plain-HTTP WSDL could
    name an STS of theirs, with a publicly trusted certificate, and collect the password."""
    if not needs_issued_token(settings):
        return None
    creds = ClientCredentials.of(
        kw.get("credentials"), username=kw.get("username"), password=kw.get("password")
    )
    if creds.issued_token is not None:
        return None
    plan = IssuerPlan.of(settings, applies_to, sts)
    if creds.certificate is not None and not bootstrap_kind(settings.bootstrap).uses("certificate"):
        plan = replace(plan, client_certificate=creds.certificate)
    secure = urlsplit(metadata_url).scheme.lower() == "https"
    if sts is None and not secure and not sts_pinned:
        raise IssuerNotTrusted(
            f"the service's metadata came over plain HTTP ({printable(metadata_url, 200)}) and names "
            f"the STS {printable(plan.address, 200)}: anyone on the path could have named their "
            "own. Pin the STS's certificate or CA (sts_verify='sts-ca.pem'; wssc call "
            "--sts-cafile), name the STS (sts=…; --sts), or fetch the metadata over HTTPS"
        )
    return plan, creds.username, creds.password


def with_token(kw: dict[str, Any], token: IssuedToken) -> dict[str, Any]:
    """The client's keywords with ``token`` in its credentials."""
    creds = ClientCredentials.of(kw.get("credentials"))
    return {**kw, "credentials": replace(creds, issued_token=token)}


def _ports(root: etree._Element) -> list[tuple[str, str | None]]:
    """(name, address) of the WSDL's ports, at most `MAX_PORTS`."""
    out: list[tuple[str, str | None]] = []
    for port in root.iter(ns.qn(ns.WSDL, "port")):
        if len(out) == MAX_PORTS:
            break
        address = None
        for soap in (ns.WSDL_SOAP12, ns.WSDL_SOAP11):
            a = port.find(ns.qn(soap, "address"))
            if a is not None and a.get("location"):
                address = a.get("location")
                break
        out.append((str(port.get("name") or ""), address))
    return out


def _speakable(ep: ImportedEndpoint, *, certificate: bool = False) -> str | None:
    """Why wssc cannot sign in to this STS endpoint (None: it can); ``certificate``: with a
    client certificate (else a username)."""
    s = ep.settings
    kind = certificate_over_tls() if certificate else username_over_tls()
    if s.bootstrap != kind.key:
        given = "a client certificate" if certificate else "a username"
        return f"{s.bootstrap.value} (wssc signs in to an STS with {given} by {kind.key.value})"
    if s.establish_security_context:
        return (
            f"{s.bootstrap.value} with EstablishSecurityContext=true "
            "(wssc sends the RST/Issue under the bootstrap alone)"
        )
    return None


def choose_endpoint(metadata: bytes, plan: IssuerPlan) -> ImportedEndpoint:
    """The STS's endpoint to ask: a port whose binding wssc can sign in to with the plan's
    credentials, at the issuer's address if there is one; a client certificate's port also
    elsewhere (ADFS's ``certificatemixed`` has its own address). `IssuerBindingUnsupported`
    names what each port offers."""
    from wssc.contract.wsdl import parse_wsdl

    root = parse_wsdl(metadata)
    ports = _ports(root)
    at_issuer = [name for name, address in ports if address == plan.address]
    candidates = at_issuer or [name for name, _ in ports]
    certificate = plan.client_certificate is not None
    if certificate:  # the issuer's address first, then the STS's other ports
        candidates += [name for name, _ in ports if name not in candidates]
    refusals: list[str] = []
    for name in candidates:
        try:
            ep = settings_from_wsdl(root, port=name)
        except ConfigurationError as exc:
            refusals.append(f"{name}: {exc}")
            continue
        why = _speakable(ep, certificate=certificate)
        if why is None:
            return ep
        refusals.append(f"{name}: {why}")
    where = "at the issuer's address" if at_issuer else "in its metadata"
    raise IssuerBindingUnsupported(
        f"the STS {printable(plan.address, 200)} offers no endpoint {where} that wssc can sign in "
        f"to: {printable('; '.join(refusals) or 'no wsdl:port', 1000)}"
    )


def exchange_for(
    ep: ImportedEndpoint, plan: IssuerPlan, username: str | None, password: str | None
) -> StsExchange:
    """The RST/Issue to the chosen STS endpoint, in its family and SOAP version."""
    trust = ep.settings.message_security_version.sc.trust
    soap = SOAP_12 if ep.soap_version == "1.2" else SOAP_11
    if plan.client_certificate is not None:
        base = StsExchange.new(
            ep.address or plan.address, plan.applies_to, token_type=plan.token_type, bearer=plan.bearer
        )
        return replace(base, trust=trust, soap=soap, client_certificate=plan.client_certificate)
    if username is None or password is None:
        raise ConfigurationError(
            f"the STS {printable(plan.address, 200)} signs in with a username and password: pass "
            "username= and password= (wssc call --username/--password), or a client "
            "certificate for its certificate sign-in (credentials=ClientCredentials(certificate=…))"
        )
    base = StsExchange.new(
        plan.address, plan.applies_to, username, password, plan.token_type, bearer=plan.bearer
    )
    return replace(base, trust=trust, soap=soap)


class _Tries:
    """The metadata answers so far: each address tried, and why it did not do."""

    def __init__(self, plan: IssuerPlan) -> None:
        self.plan = plan
        self.errors: list[str] = []
        self.budget = WsdlBudget(max_total=METADATA_BUDGET_BYTES)

    def failed(self, url: str, exc: Exception) -> None:
        from wssc.client.common import network_failure

        why = exc if isinstance(exc, WsscError) else network_failure(exc, url, "cannot fetch")
        self.errors.append(f"{url}: {why}")

    def assembler(self, url: str, data: bytes) -> WsdlAssembler | None:
        try:
            return WsdlAssembler(data, url, budget=self.budget)
        except WsscError as exc:
            self.failed(url, exc)
            return None

    def endpoint(self, url: str, asm: WsdlAssembler) -> ImportedEndpoint | None:
        """The endpoint this answer offers; None (noted) when it is not usable metadata.
        `IssuerBindingUnsupported` goes through: the STS was read, and cannot be spoken to."""
        try:
            return choose_endpoint(asm.result(), self.plan)
        except IssuerBindingUnsupported:
            raise
        except WsscError as exc:
            self.failed(url, exc)
            return None

    def give_up(self) -> IssuerMetadataUnavailable:
        return IssuerMetadataUnavailable(
            f"the metadata of the STS {printable(self.plan.address, 200)} could not be read: "
            + printable("; ".join(self.errors), 2000)
        )


def _fetch_errors() -> tuple[type[Exception], ...]:
    import httpx

    return (httpx.HTTPError, httpx.StreamError, WsscError, OSError)


def _fetch_metadata(plan: IssuerPlan, h: httpx.Client) -> ImportedEndpoint:
    from wssc.client.common import ClientBase
    from wssc.client.wsdl_fetch import get_capped, mex_get_capped

    tries = _Tries(plan)
    for url, mex in plan.urls():
        try:
            if mex:
                data = mex_get_capped(h, url, tries.budget, ClientBase._mex_answered)
            else:
                data = get_capped(h, url, tries.budget, ClientBase._fetched)
            asm = tries.assembler(url, data)
            while asm is not None and (missing := asm.missing()):
                for u in missing:
                    asm.add(u, get_capped(h, u, tries.budget, ClientBase._fetched))
        except _fetch_errors() as exc:  # network, HTTP statuses, caps: each named, the next tried
            tries.failed(url, exc)
            continue
        ep = tries.endpoint(url, asm) if asm is not None else None
        if ep is not None:
            return ep
    raise tries.give_up()


async def _afetch_metadata(plan: IssuerPlan, h: httpx.AsyncClient) -> ImportedEndpoint:
    from wssc.client.common import ClientBase
    from wssc.client.wsdl_fetch import aget_capped, amex_get_capped

    tries = _Tries(plan)
    for url, mex in plan.urls():
        try:
            if mex:
                data = await amex_get_capped(h, url, tries.budget, ClientBase._mex_answered)
            else:
                data = await aget_capped(h, url, tries.budget, ClientBase._fetched)
            asm = tries.assembler(url, data)
            while asm is not None and (missing := asm.missing()):
                for u in missing:
                    asm.add(u, await aget_capped(h, u, tries.budget, ClientBase._fetched))
        except _fetch_errors() as exc:
            tries.failed(url, exc)
            continue
        ep = tries.endpoint(url, asm) if asm is not None else None
        if ep is not None:
            return ep
    raise tries.give_up()


def _headers(exchange: StsExchange) -> dict[str, str]:
    action = IssuedTokenRequest.action(exchange.trust)
    return {"content-type": f'{exchange.soap.content_type}; charset=utf-8; action="{action}"'}


def follow_issuer(
    plan: IssuerPlan,
    username: str | None,
    password: str | None,
    *,
    verify: bool | ssl.SSLContext = True,
    timeout: float = 30.0,
) -> IssuedToken:
    """Fetch the STS's metadata, choose its endpoint and obtain the token (blocking)."""
    import httpx

    from wssc.client.sts import request_token

    with httpx.Client(verify=verify, timeout=timeout) as h:
        ep = _fetch_metadata(plan, h)
    return request_token(exchange_for(ep, plan, username, password), verify=verify, timeout=timeout)


async def afollow_issuer(
    plan: IssuerPlan,
    username: str | None,
    password: str | None,
    *,
    verify: bool | ssl.SSLContext = True,
    timeout: float = 30.0,
) -> IssuedToken:
    """`follow_issuer`, awaited (the metadata and the RST over an ``httpx.AsyncClient``)."""
    import httpx

    from wssc.client.common import aread_reply

    async with httpx.AsyncClient(verify=verify, timeout=timeout) as h:
        ep = await _afetch_metadata(plan, h)
        exchange = exchange_for(ep, plan, username, password)
        if not exchange.address.startswith("https://"):
            raise ConfigurationError("the STS is reached over HTTPS only (it is sent the password)")
        try:
            async with h.stream(
                "POST",
                exchange.address,
                content=exchange.request(time.time()),
                headers={**_headers(exchange), **IDENTITY},
            ) as r:
                data = await aread_reply(r, rstr_reader)
        except httpx.HTTPError as exc:
            raise TransportError(f"the STS at {exchange.address} could not be reached: {exc}") from None
    if not data:
        raise TransportError(f"the STS answered HTTP {r.status_code} with no body")
    return exchange.read(data, time.time())


__all__ = [
    "IssuerPlan",
    "afollow_issuer",
    "choose_endpoint",
    "exchange_for",
    "follow_issuer",
    "needs_issued_token",
    "pending",
    "with_token",
]
