"""``wssc serve``, ``wssc call`` and ``wssc inspect``."""

from __future__ import annotations

import argparse
import base64
import binascii
import errno
import logging
import os
import re
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wssc.bootstrap.registry import BOOTSTRAPS, ClientCredentials, ServiceCredentials, bootstrap_kind
from wssc.errors import ConfigurationError, TransportError, WsscError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from wssc.cli.waiting import Waiting
    from wssc.contract import OperationSpec
    from wssc.policy.wsdl_resolve import WsdlAssembler
    from wssc.security.x509_validation import CertificateValidator
    from wssc.service.asgi import AsgiApp, Message, Receive, Scope, Send
    from wssc.settings import SecureConversationSettings

log = logging.getLogger("wssc.cli")

DEMO_USERS = {"alice": "secret"}
#: ``wssc inspect``'s exit status when it explained the endpoint with a warning: an address
#: clients refuse as published, or documents it could not (or would not) read.
INSPECTED_WITH_WARNINGS = 4
#: WCF's MessageProtectionOrder values wssc serves -> encrypt the signature?
PROTECTION_ORDERS = {"SignBeforeEncryptAndEncryptSignature": True, "SignBeforeEncrypt": False}


def wssc_home() -> Path:
    return Path(os.environ.get("WSSC_HOME") or Path.home() / ".wssc")


def default_keyring_name(address: str) -> str:
    """One key ring per endpoint by default: ``keyring-http_127.0.0.1_8000_svc.json``."""
    slug = re.sub(r"[^A-Za-z0-9.-]+", "_", address).strip("_")[:100]
    return f"keyring-{slug}.json"


def port_number(text: str) -> int:
    """argparse type for --port: an integer in 1..65535 (0 would pick a random port)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a TCP port (use 1-65535)")
    return value


def _positive(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number")
    return value


def _seconds(text: str) -> float:
    """argparse type for --timeout: a positive number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= 86400:
        raise argparse.ArgumentTypeError(f"{value:g} is not a timeout (use 0 < SECONDS <= 86400)")
    return value


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    s = sub.add_parser(
        "serve",
        help="run the demo secure-session service (Add, Echo)",
        description="Run the demo service (contract ICalculator: Add(a, b) -> int, "
        "Echo(text) -> str) with WCF-style secure sessions. On first run a development "
        "certificate is generated in --cert-dir. Metadata: http://HOST:PORT/svc?wsdl",
    )
    s.add_argument(
        "--bootstrap",
        default=next(iter(BOOTSTRAPS.values())).cli_name,
        choices=[k.cli_name for k in BOOTSTRAPS.values()],
        help="how clients prove themselves before the SCT exists (the registry's "
        "kinds; a transport-mode bootstrap serves HTTPS)",
    )
    s.add_argument(
        "--binding",
        choices=["wshttp", "ws2007", "wshttp-wss10", "ws2007-wss10"],
        default="wshttp",
        help="version family: wshttp = WS-Trust/SC Feb 2005 + SP 1.1 (WSHttpBinding), "
        "ws2007 = 1.3 + SP 1.2 (WS2007HttpBinding); -wss10: the same with WS-Security 1.0 "
        "(WCF's WSSecurity10… versions: their bootstraps take WS-Security 1.0's shape)",
    )
    s.add_argument(
        "--require-cancellation",
        dest="require_cancellation",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="session mode (default); --no-require-cancellation = cookie mode, MustNotSendCancel in the WSDL",
    )
    s.add_argument(
        "--no-derived-keys",
        action="store_true",
        help="require_derived_keys=False: the SCT key signs directly",
    )
    s.add_argument(
        "--protection-order",
        choices=list(PROTECTION_ORDERS),
        default="SignBeforeEncryptAndEncryptSignature",
        help="WCF's messageProtectionOrder (message security): the default also "
        "encrypts the signature (sp:EncryptSignature); SignBeforeEncrypt leaves it "
        "in the clear",
    )
    s.add_argument("--no-renew", action="store_true", help="can_renew_session=False")
    s.add_argument(
        "--no-secure-context",
        action="store_true",
        help="establish_security_context=False: per-message bootstrap security",
    )
    s.add_argument("--suite", default="Basic256", help="algorithm suite (default Basic256)")
    s.add_argument(
        "--suite-signatures",
        choices=["wcf", "ws-sp"],
        default="wcf",
        help="whose reading of the suite's signature algorithms: wcf (default; HMAC-SHA256 "
        "under the Sha256 suites) or ws-sp (HMAC-SHA1 in every suite, as Metro and CXF "
        "sign); sent and required, never both",
    )
    s.add_argument(
        "--spnego-dialect",
        choices=["wcf", "cxf"],
        default="wcf",
        help="spnego: whose wire format the negotiation accepts: wcf (default) or cxf, which "
        "also accepts Apache CXF's departures (no authenticator, no mutual authentication, "
        "its Trust 1.3 ValueType); a weakening, for a CXF peer only",
    )
    s.add_argument("--soap", choices=["1.1", "1.2"], default="1.2", help="SOAP version")
    s.add_argument(
        "--store", default="memory", help="session store: memory (default) or redis://HOST:PORT/DB"
    )
    s.add_argument(
        "--keyring",
        type=Path,
        help="cookie-mode key ring file (JSON); created if missing. Default: one "
        "per endpoint, CERT_DIR/keyring-<address>.json; give every node of a farm "
        "the same file (and the same --address) to share one",
    )
    s.add_argument(
        "--address",
        default=None,
        metavar="URL",
        help="the endpoint's public address: published in the WSDL, compared with "
        "each message's wsa:To, named in cookies (default SCHEME://HOST:PORT/svc; "
        "set it behind a proxy and on every node of a farm)",
    )
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=port_number, default=8000, help="TCP port, 1-65535 (default 8000)")
    s.add_argument(
        "--cert-dir",
        type=Path,
        default=None,
        help="where the development certificate lives (default $WSSC_HOME or ~/.wssc)",
    )
    s.add_argument(
        "--user",
        action="append",
        default=[],
        metavar="NAME:PASSWORD",
        help="accepted user for the bootstraps that sign in with a username (default alice:secret)",
    )
    s.add_argument(
        "--issuer-cert",
        action="append",
        default=[],
        type=Path,
        metavar="PEM",
        help="issued-token: trust SAML assertions signed by this STS certificate; repeatable",
    )
    s.add_argument("--sts-address", metavar="URL", help="issued-token: the STS the policy names (sp:Issuer)")
    s.add_argument(
        "--sts-metadata", metavar="URL", help="issued-token: the STS's mex/WSDL address (IssuerMetadata)"
    )
    s.add_argument(
        "--issued-token-type",
        choices=("saml20", "saml11"),
        default="saml20",
        help="issued-token: the SAML version the policy asks the STS for (RequestSecurityTokenTemplate"
        "'s TokenType; default saml20). The service accepts either",
    )
    s.add_argument(
        "--detect-replayed-tokens",
        action="store_true",
        help="issued-token: accept each assertion ID once (WIF's DetectReplayedTokens; off by default; "
        "always on for bearer tokens: bearer-token-over-transport)",
    )
    s.add_argument(
        "--issuer-sha1",
        action="store_true",
        help="issued-token: also accept assertions signed with RSA-SHA1/SHA-1 digests (Metro's STS "
        "signs only so; default: SHA-256 or better)",
    )
    s.add_argument(
        "--audience",
        action="append",
        default=[],
        metavar="URI",
        help="issued-token: an audience URI the assertions must name (default: the endpoint's address)",
    )
    s.add_argument(
        "--trust-client-cert",
        action="append",
        default=[],
        type=Path,
        metavar="PEM",
        help="trust this client certificate (PeerTrust) for certificate-over-transport, "
        "mutual-certificate and mutual-tlsnego; repeatable. Without it or --client-ca no "
        "client certificate is trusted",
    )
    s.add_argument(
        "--client-ca",
        action="append",
        default=[],
        type=Path,
        metavar="PEM",
        help="trust client certificates issued by this CA (ChainTrust: chain, validity, "
        "KeyUsage) for certificate-over-transport, mutual-certificate and mutual-tlsnego; "
        "repeatable",
    )
    s.add_argument(
        "--key-renewal",
        type=float,
        default=None,
        metavar="SECONDS",
        help="session_key_renewal_interval (default 15 h); small values show Renew",
    )
    s.add_argument(
        "--max-pending-sessions",
        type=int,
        default=None,
        metavar="N",
        help="max_pending_sessions (default 128)",
    )
    s.add_argument(
        "--cookie-lifetime",
        type=float,
        default=None,
        metavar="SECONDS",
        help="issued_cookie_lifetime (default 10 h)",
    )
    s.add_argument(
        "--max-pending-sessions-per-peer",
        type=int,
        default=None,
        metavar="N",
        help="pending sessions one peer address may hold (default 16; 0 = off)",
    )
    s.add_argument(
        "--replay-quota-per-session",
        type=int,
        default=None,
        metavar="N",
        help="live replay-cache entries one session may hold (default 60000)",
    )
    s.add_argument(
        "--replay-quota-per-peer",
        type=int,
        default=None,
        metavar="N",
        help="live replay-cache entries one client address may hold over all of its "
        "sessions (default 90000; 0 = off)",
    )
    s.add_argument(
        "--max-failed-authentications",
        type=int,
        default=None,
        metavar="N",
        help="failed logins per username and address before that pair backs off "
        "(growing delays, 1 s doubling up to 5 min; default 5; 0 = off); backstops "
        "for never-used pairs: 4 x N per username, 20 x N per address",
    )
    s.add_argument(
        "--max-received-message-size",
        type=_positive,
        default=65536,
        metavar="BYTES",
        help="largest request accepted, in bytes (WCF's MaxReceivedMessageSize; "
        "default 65536); a bigger one gets HTTP 413 before it is read or parsed",
    )
    s.add_argument(
        "--max-string-content-length",
        type=_positive,
        default=65536,
        metavar="CHARS",
        help="longest text of one value in a request body, in characters (WCF's readerQuotas "
        "MaxStringContentLength, whose default is 8192; wssc's is 65536); a longer one gets "
        "WCF's DeserializationFailed fault naming the quota",
    )
    s.add_argument(
        "--security-threads",
        type=_positive,
        default=None,
        metavar="N",
        help="threads that run synchronous operations, and the whole of the calls that are "
        "not verified on the event loop (see --loop-security-limit) (default 4). Their verify "
        "and secure steps take turns under one lock (they hold the GIL anyway); the operations "
        "run side by side, so raise it if operations block for long",
    )
    s.add_argument(
        "--loop-security-limit",
        type=int,
        default=65536,
        metavar="BYTES",
        help="verify application messages up to this size, and secure their replies, on the "
        "event loop, with no hand-over to a thread (default 65536; 0: on the threads). Never "
        "with a Redis store (its round trips would stop the loop); Issue, Renew, Cancel and "
        "negotiation go to the threads",
    )
    s.add_argument(
        "--inline-limit",
        type=int,
        default=0,
        metavar="BYTES",
        help="handle requests up to this size on the event loop itself (default 0: none); "
        "only for operations that never block",
    )
    s.add_argument(
        "--forwarded-allow-ips",
        default=None,
        metavar="IPS",
        help="comma-separated proxy addresses whose X-Forwarded-*/Forwarded headers "
        "are trusted (default: none; a request carrying them is never taken as "
        "HTTPS)",
    )
    s.add_argument(
        "--log-level",
        dest="serve_log_level",
        default=None,
        metavar="LEVEL",
        help="DEBUG, INFO (session events: issued, renewed, cancelled, faults), "
        "WARNING (default) or ERROR; the same as wssc --log-level",
    )
    s.add_argument(
        "--keytab",
        metavar="PATH",
        help="spnego, kerberos: the service's Kerberos keytab (default: KRB5_KTNAME)",
    )
    s.add_argument(
        "--ntlm-users",
        metavar="PATH",
        help="spnego: NTLM accounts, DOMAIN:USER:PASSWORD per line (default: NTLM_USER_FILE)",
    )
    s.add_argument(
        "--spn",
        metavar="SPN",
        help="spnego, kerberos: the service principal the WSDL publishes as its identity (wsid:Spn), "
        "e.g. HTTP/host.example.com; clients built from the WSDL target it",
    )
    s.add_argument(
        "--max-stateful-negotiations",
        type=_positive,
        default=None,
        metavar="N",
        help="negotiations (spnego legs) in progress at once (default 128, WCF's)",
    )
    s.add_argument(
        "--max-cached-cookies",
        type=_positive,
        default=None,
        metavar="N",
        help="tokens finished negotiations issued, cached until their RST/SCT or (with "
        "--no-secure-context) their 15-minute Lifetime (default 1000, WCF's MaxCachedCookies; "
        "one address holds at most --max-cached-cookies-per-peer, default 100)",
    )
    s.add_argument("--max-cached-cookies-per-peer", type=int, default=None, metavar="N", help="0 = off")
    s.add_argument(
        "--negotiated-token-lifetime",
        type=_positive,
        default=None,
        metavar="SECONDS",
        help="spnego, tlsnego: the Lifetime of the SCT a negotiation issues (default 900, WCF's)",
    )
    s.add_argument(
        "--wsgi",
        action="store_true",
        help="serve the WSGI app with a threaded wsgiref server (development only) instead of ASGI/uvicorn",
    )
    s.set_defaults(func=run_serve)

    c = sub.add_parser(
        "call",
        help="call an operation through a secure session",
        description="Fetch URL?wsdl, take the security settings from its policy, open a "
        "secure session, call OPERATION, print the result and close (Cancel, unless the "
        "policy says MustNotSendCancel). ARGS are positional or name=value.",
    )
    c.add_argument("url", metavar="URL", help="service address, e.g. http://127.0.0.1:8000/svc")
    c.add_argument("operation", metavar="OPERATION")
    c.add_argument(
        "args",
        nargs="*",
        metavar="ARGS",
        help="positional values, or NAME=VALUE for a parameter by name (a NAME "
        "the operation does not have is refused; pass a text that contains '=' "
        "by name: text=a=b)",
    )
    c.add_argument(
        "-v", "--verbose", action="store_true", help="show the session's life: issue, calls, renew, cancel"
    )
    c.add_argument("--repeat", type=int, default=1, help="call N times in one session")
    c.add_argument("--username", default=os.environ.get("WSSC_USERNAME"))
    c.add_argument("--password", default=os.environ.get("WSSC_PASSWORD"))
    c.add_argument("--cafile", help="CA/certificate file to trust for HTTPS")
    c.add_argument(
        "--insecure",
        action="store_true",
        help="do not verify the HTTPS certificate (warns: whoever answers is trusted, and gets the password)",
    )
    c.add_argument(
        "--cert-dir", type=Path, default=None, help="trust the development certificate found here for HTTPS"
    )
    c.add_argument(
        "--service-cert",
        type=Path,
        default=None,
        metavar="PEM",
        help="the service's certificate (PEM) for AnonymousForCertificate and the tlsnego "
        "bootstraps (pinned), when the WSDL has no wsid:Identity; it overrides the WSDL's",
    )
    c.add_argument(
        "--client-cert",
        type=Path,
        default=None,
        metavar="PEM",
        help="the client's certificate (PEM) for certificate-over-transport, mutual-certificate "
        "and mutual-tlsnego; with --client-key",
    )
    c.add_argument(
        "--sts",
        metavar="URL",
        help="issued-token: obtain the token from this security token service (RST/Issue over "
        "HTTPS, signing in with --username/--password; AppliesTo: the service's URL). Without "
        "it, the STS the service's policy names (sp:Issuer) is used, found through its metadata",
    )
    c.add_argument("--sts-cafile", metavar="PEM", help="CA/certificate file to trust for the STS's HTTPS")
    c.add_argument(
        "--sts-cert",
        metavar="PEM",
        help="with --sts: sign in to it with the username and password signed and encrypted to "
        "this, the STS's certificate (http:// allowed), instead of over HTTPS",
    )
    c.add_argument(
        "--sts-client-cert",
        metavar="PEM",
        help="sign in to the STS with this client certificate over HTTPS (it endorses the "
        "Timestamp; ADFS's certificatemixed, wssc sts --client-ca at URL/certificatemixed) instead "
        "of --username/--password; with --sts-client-key. Without --sts, the certificate port of "
        "the STS the service's policy names is used",
    )
    c.add_argument("--sts-client-key", metavar="PEM", help="the private key of --sts-client-cert (PEM)")
    c.add_argument(
        "--dns-identity",
        metavar="NAME",
        help="tlsnego: the DNS name the service's TLS certificate must carry (WCF's <dns> identity)",
    )
    c.add_argument(
        "--client-key",
        type=Path,
        default=None,
        metavar="PEM",
        help="the client certificate's private key (PEM, unencrypted)",
    )
    c.add_argument(
        "--spn",
        metavar="SPN",
        help="spnego, kerberos: the service's principal name, e.g. HTTP/host.example.com "
        "(default host/<the URL's host>)",
    )
    c.add_argument("--keytab", metavar="PATH", help="spnego, kerberos: log on with this client keytab")
    c.add_argument(
        "--ccache",
        metavar="PATH",
        help="spnego, kerberos: use this Kerberos ticket cache (default: KRB5CCNAME)",
    )
    c.add_argument(
        "--timeout",
        type=_seconds,
        default=60.0,
        metavar="SECONDS",
        help="how long to wait for each answer (default 60, WCF's sendTimeout); "
        "a slow answer is reported on stderr after a few seconds",
    )
    c.add_argument(
        "--max-received-message-size",
        type=_positive,
        default=65536,
        metavar="BYTES",
        help="largest reply read, in bytes (WCF's MaxReceivedMessageSize; default 65536), the "
        "STS's too (--sts); a bigger request is refused before it is sent, as this client would "
        "not read it back",
    )
    c.add_argument(
        "--max-string-content-length",
        type=_positive,
        default=65536,
        metavar="CHARS",
        help="longest text of one value read, in characters (WCF's MaxStringContentLength; "
        "default 65536, WCF's 8192); an argument longer than it is refused before it is sent",
    )
    c.set_defaults(func=run_call)

    i = sub.add_parser(
        "inspect",
        help="explain an endpoint's security policy in plain words",
        description="Read a WSDL (URL or file) and explain its policy: bootstrap, suite, "
        "derived keys, session or cookie mode, and whether a Cancel will be sent and why. "
        "Exit status 4, with a warning on stderr, when the endpoint cannot be used as "
        "published: a bootstrap that relies on TLS (UserNameOverTransport) at an address "
        "that is not https:// (clients refuse to send credentials there).",
    )
    i.add_argument("wsdl", metavar="WSDL", help="URL (…?wsdl, or a mex address with --mex) or file")
    i.add_argument(
        "--mex",
        action="store_true",
        help="WSDL is a WS-MetadataExchange (mex) address: ask it with a WS-Transfer Get "
        "(SOAP 1.2 POST), as svcutil does, and read its mex:Metadata answer",
    )
    i.add_argument("--port", help="the wsdl:port to explain (default: the first with a policy)")
    i.add_argument("--cafile", help="CA/certificate file to trust for HTTPS")
    i.add_argument("--insecure", action="store_true", help="do not verify the HTTPS certificate (warns)")
    i.set_defaults(func=run_inspect)


# --- serve ----------------------------------------------------------------------------------
def _settings(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from dataclasses import replace
    from datetime import timedelta

    from wssc.bootstrap.registry import parse_bootstrap
    from wssc.settings import (
        MESSAGE_SECURITY_VERSIONS,
        WS2007_WSS10,
        WSHTTP_WSS10,
        EndpointSettings,
        LocalServiceSecuritySettings,
        SecureConversationSettings,
    )
    from wssc.xml import ns

    svc = LocalServiceSecuritySettings()
    if args.max_pending_sessions is not None:
        svc = replace(svc, max_pending_sessions=args.max_pending_sessions)
    if args.cookie_lifetime is not None:
        svc = replace(svc, issued_cookie_lifetime=timedelta(seconds=args.cookie_lifetime))
    if args.max_pending_sessions_per_peer is not None:
        svc = replace(svc, max_pending_sessions_per_peer=args.max_pending_sessions_per_peer)
    if args.replay_quota_per_session is not None:
        svc = replace(svc, replay_quota_per_session=args.replay_quota_per_session)
    if args.replay_quota_per_peer is not None:
        svc = replace(svc, replay_quota_per_peer=args.replay_quota_per_peer)
    if args.max_failed_authentications is not None:
        n = args.max_failed_authentications
        svc = replace(
            svc,
            max_failed_authentications=n,
            max_failed_authentications_per_user=4 * n,
            max_failed_authentications_per_peer=20 * n,
        )
    if getattr(args, "max_stateful_negotiations", None) is not None:
        svc = replace(svc, max_stateful_negotiations=args.max_stateful_negotiations)
    for name in ("max_cached_cookies", "max_cached_cookies_per_peer"):
        if getattr(args, name, None) is not None:
            svc = replace(svc, **{name: getattr(args, name)})
    if getattr(args, "negotiated_token_lifetime", None) is not None:
        svc = replace(svc, negotiated_token_lifetime=timedelta(seconds=args.negotiated_token_lifetime))
    if args.key_renewal is not None:
        svc = replace(
            svc,
            session_key_renewal_interval=timedelta(seconds=args.key_renewal),
            session_key_rollover_interval=timedelta(seconds=min(300.0, args.key_renewal)),
        )
    return EndpointSettings(
        secure_conversation=SecureConversationSettings(
            require_cancellation=args.require_cancellation,
            can_renew_session=not args.no_renew,
            require_derived_keys=not args.no_derived_keys,
            bootstrap=parse_bootstrap(args.bootstrap),
            algorithm_suite=args.suite,
            message_security_version={
                **MESSAGE_SECURITY_VERSIONS,
                "wshttp-wss10": WSHTTP_WSS10,
                "ws2007-wss10": WS2007_WSS10,
            }[args.binding],
            establish_security_context=not args.no_secure_context,
            encrypt_signature=PROTECTION_ORDERS[args.protection_order],
            issuer_address=args.sts_address,
            issuer_metadata=args.sts_metadata,
            issued_token_type=ns.WSS_SAML11_TOKEN_TYPE
            if args.issued_token_type == "saml11"
            else ns.WSS_SAML2_TOKEN_TYPE,
        ),
        service=svc,
        soap_version=args.soap,
        max_received_message_size=args.max_received_message_size,
        max_string_content_length=args.max_string_content_length,
    )


def _store(spec: str, replay_quota: int, peer_quota: int):  # type: ignore[no-untyped-def]
    """(session store, replay cache): None, None for memory; both in Redis for redis://."""
    if spec == "memory":
        return None, None
    if spec.startswith("redis://"):
        try:
            import redis
        except ImportError:
            raise ConfigurationError(
                "--store redis:// needs the 'redis' package (pip install 'wssc[redis]')"
            ) from None
        from wssc.store.redis import RedisReplayCache, RedisStore

        try:
            client = redis.Redis.from_url(spec, socket_connect_timeout=5, socket_timeout=5)
            client.ping()
        except (redis.RedisError, ValueError) as exc:
            raise ConfigurationError(
                f"--store {spec}: cannot reach Redis ({type(exc).__name__}: {exc}); start it, "
                "fix the URL, or use --store memory (one process) or cookie mode "
                "(--no-require-cancellation)"
            ) from None
        return RedisStore(client), RedisReplayCache(
            client, quota_per_partition=replay_quota, quota_per_peer=peer_quota
        )
    raise ConfigurationError(f"unknown store {spec!r}: use memory or redis://HOST:PORT/DB")


def run_serve(args: argparse.Namespace) -> int:
    from wssc.cli.requires import require

    if not args.wsgi:
        require("wssc serve", "uvicorn")
    if str(args.store).startswith("redis://"):
        require("wssc serve --store redis://", "redis")
    from wssc.certs import dev_certificate
    from wssc.certs import load as load_cert
    from wssc.demo import Calculator
    from wssc.service.engine import ServiceEngine
    from wssc.settings import Compatibility
    from wssc.store.cookie import KeyRing

    settings = _settings(args)
    home = args.cert_dir or wssc_home()
    cert, cert_path, key_path = dev_certificate(home)
    kind = bootstrap_kind(settings.secure_conversation.bootstrap)
    over_tls = kind.security_mode == "transport"
    scheme = "https" if over_tls else "http"
    address = args.address or f"{scheme}://{args.host}:{args.port}/svc"
    users = dict(DEMO_USERS)
    for u in args.user:
        name, sep, pw = u.partition(":")
        if not sep:
            raise ConfigurationError("--user takes NAME:PASSWORD")
        users[name] = pw
    keyring = None
    if not settings.secure_conversation.require_cancellation:
        path = args.keyring or home / default_keyring_name(address)
        if path.exists():
            keyring = KeyRing.from_file(path)
        else:
            keyring = KeyRing.generate()
            keyring.to_file(path)

    def validate(user: str, password: str) -> bool:
        import hmac

        expected = users.get(user)
        return expected is not None and hmac.compare_digest(expected, password)

    store, replay_cache = _store(
        args.store, settings.service.replay_quota_per_session, settings.service.replay_quota_per_peer
    )
    engine = ServiceEngine(
        Calculator(),
        settings=settings,
        address=address,
        certificate=cert,
        store=store,
        keyring=keyring,
        username_validator=validate,
        replay_cache=replay_cache,
        client_certificate_validator=_client_validator(args),
        credentials=ServiceCredentials(
            kerberos_keytab=args.keytab,
            ntlm_user_file=args.ntlm_users,
            spn=args.spn,
            trusted_issuers=tuple(load_cert(p) for p in args.issuer_cert),
            audiences=tuple(args.audience) or (address,),
            detect_replayed_tokens=args.detect_replayed_tokens,
            issuer_sha1_signatures=args.issuer_sha1,
        ),
        compatibility=Compatibility(suite_signatures=args.suite_signatures, spnego=args.spnego_dialect),
    )
    proxies = [p.strip() for p in (args.forwarded_allow_ips or "").split(",") if p.strip()]
    sc = settings.secure_conversation
    banner = [
        f"wssc demo service at {address}  (WSDL: {address}?wsdl)",
        f"  bootstrap {sc.bootstrap.value}, binding {sc.message_security_version.name}, "
        f"{_mode(sc)}, derived keys "
        f"{'on' if kind.derived_keys(sc) else 'off'}, certificate {cert_path}",
    ]
    if over_tls:
        banner.append("  users: " + ", ".join(users))
    if args.wsgi:
        if over_tls:
            raise ConfigurationError("--wsgi serves plain HTTP only; use ASGI for HTTPS")
        from wssc.service.wsgi import WsgiApp, make_threaded_server

        try:
            httpd = make_threaded_server(args.host, args.port, WsgiApp(engine, forwarded_allow_ips=proxies))
        except OSError as exc:
            raise ConfigurationError(_cannot_listen(args.host, args.port, exc)) from None
        with httpd:  # listening: only now say where
            print("\n".join(banner), flush=True)
            print(
                "  WSGI: threaded wsgiref server, for development only (deploy the WSGI app "
                "under gunicorn or similar)",
                flush=True,
            )
            httpd.serve_forever()
        return 0
    try:
        import uvicorn
    except ImportError:
        raise ConfigurationError("wssc serve needs uvicorn (pip install 'wssc[service]')") from None
    from wssc.service.asgi import AsgiApp

    ssl = {"ssl_certfile": str(cert_path), "ssl_keyfile": str(key_path)} if over_tls else {}
    # uvicorn trusts X-Forwarded-* from 127.0.0.1 by default: only configured proxies here.
    config = uvicorn.Config(
        _with_banner(
            AsgiApp(
                engine,
                forwarded_allow_ips=proxies,
                security_threads=security_threads(args.security_threads, args.store),
                inline_limit=args.inline_limit,
                loop_security_limit=args.loop_security_limit,
            ),
            banner,
        ),
        host=args.host,
        port=args.port,
        proxy_headers=bool(proxies),
        forwarded_allow_ips=",".join(proxies) or None,
        log_level=logging.getLevelName(logging.getLogger().level).lower()
        if logging.getLogger().level <= logging.INFO
        else "warning",
        access_log=False,
        # WCF's hosts keep an idle connection 120 s (HTTP.sys; Kestrel 130 s), uvicorn 5 s:
        # Java's HttpClient (CXF) reuses a pooled connection the server has closed, and its
        # POST fails unsent ("header parser received no bytes"; interop/cxf/FINDINGS C19).
        timeout_keep_alive=120,
        http=_uvicorn_http(),
        **ssl,  # type: ignore[arg-type]
    )
    # Bind first, so that a busy port is an error before anything says "service at".
    sock = _listen(args.host, args.port)
    server = uvicorn.Server(config)
    with sock:
        server.run(sockets=[sock])
    if not server.started:  # the application refused to start (its log says why)
        raise SystemExit(3)
    return 0


def security_threads(given: int | None, store: str) -> int:
    """``--security-threads``: as given, else 4 whatever the store (``AsgiApp``'s default:
    their security work takes turns, so the CPU per call stays flat from 1 to 16 clients, and
    a blocking operation does not stall every other call; docs/performance.md)."""
    del store
    return 4 if given is None else given


def _client_validator(args: argparse.Namespace) -> CertificateValidator | None:
    """``--client-ca`` (ChainTrust) or ``--trust-client-cert`` (PeerTrust); None (trust no
    client certificate) without either."""
    from wssc.security.x509_validation import CertificateValidator

    if args.client_ca and args.trust_client_cert:
        raise ConfigurationError("give --client-ca (ChainTrust) or --trust-client-cert (PeerTrust), not both")
    if args.client_ca:
        return CertificateValidator.chain_trust(*args.client_ca)
    if args.trust_client_cert:
        return CertificateValidator.peer_trust(*args.trust_client_cert)
    return None


def _uvicorn_http() -> str:
    """uvicorn's HTTP protocol: its httptools one with h2c upgrades ignored (the body kept,
    `wssc.service.uvicorn_http`), or uvicorn's choice (h11) without httptools."""
    import importlib.util

    from wssc.service.asgi import UVICORN_HTTP

    return UVICORN_HTTP if importlib.util.find_spec("httptools") else "auto"


def _cannot_listen(host: str, port: int, exc: OSError) -> str:
    why = os.strerror(exc.errno) if exc.errno else str(exc)
    hint = (
        "; another process is listening there: stop it or pick another --port"
        if exc.errno == errno.EADDRINUSE
        else ""
    )
    return f"cannot listen on {host}:{port}: {why}{hint}"


def _listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (uvicorn serves on it)."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((host, port), family=family, backlog=2048)
    except OSError as exc:
        raise ConfigurationError(_cannot_listen(host, port, exc)) from None


def _mode(sc: SecureConversationSettings) -> str:
    """The banner's words for how messages are secured: no security context (each message
    under the bootstrap), session mode, or cookie mode."""
    if not sc.establish_security_context:
        return "no security context (per-message)"
    return "session mode" if sc.require_cancellation else "cookie mode"


def _with_banner(app: AsgiApp, banner: list[str]) -> Callable[..., Awaitable[None]]:
    """``app``, printing ``banner`` once its start-up (the ASGI lifespan: log set-up, worker
    checks) has completed, i.e. only when the service is about to answer."""

    async def with_banner(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            return await app(scope, receive, send)

        async def send_then_print(message: Message) -> None:
            await send(message)
            if message.get("type") == "lifespan.startup.complete":
                print("\n".join(banner), flush=True)

        return await app(scope, receive, send_then_print)

    return with_banner


# --- call -----------------------------------------------------------------------------------
def _convert(xsd: str, text: str, name: str) -> object:
    try:
        if xsd in ("int", "long", "short"):
            return int(text)
        if xsd == "double" or xsd == "float":
            return float(text)
        if xsd == "boolean":
            if text.lower() not in ("true", "false", "1", "0"):
                raise ValueError(text)
            return text.lower() in ("true", "1")
        if xsd == "base64Binary":
            return base64.b64decode(text, validate=True)
        if xsd == "element":  # raw XML (a complex type): the argument is the element's XML text
            from wssc.xml.parse import parse_xml

            return parse_xml(text.encode())
    except (ValueError, binascii.Error, WsscError):
        raise ConfigurationError(f"argument {name}: {text!r} is not a valid {xsd}") from None
    return text


def _verify_opt(args: argparse.Namespace) -> bool | str:
    if args.insecure:
        if not getattr(args, "_warned_insecure", False):
            args._warned_insecure = True
            print(
                "warning: --insecure: HTTPS certificates are not verified; whoever answers "
                "at that address is trusted (and is sent the password, if any). Use "
                "--cafile or --cert-dir instead",
                file=sys.stderr,
                flush=True,
            )
        return False
    if args.cafile:
        return str(args.cafile)
    dev = (getattr(args, "cert_dir", None) or wssc_home()) / "dev-cert.pem"
    return str(dev) if dev.exists() else True


_ACTIONS = {
    "/RST/SCT": "the session to open (RST/SCT)",
    "/RST/SCT/Renew": "the session's renewal (RST/SCT/Renew)",
    "/RST/SCT/Cancel": "the session's Cancel (RST/SCT/Cancel)",
}


def _waiting_for(request: object) -> str:
    """What a SOAP POST waits for, from its action: ``the reply to Add``, ``the session …``."""
    import httpx

    assert isinstance(request, httpx.Request)
    action = request.headers.get("soapaction", "").strip('"')
    for suffix, what in _ACTIONS.items():
        if action.endswith(suffix):
            return f"{request.url}: {what}"
    return f"{request.url}: the reply to {action.rsplit('/', 1)[-1] or 'the request'}"


def _values(op: OperationSpec, argv: list[str]) -> dict[str, object]:
    """``wssc call`` ARGS as the operation's keyword arguments, checked against its contract:
    ``NAME=VALUE`` (NAME a plain identifier) names a parameter, anything else is positional."""
    from wssc.client.common import signature
    from wssc.errors import InvalidArgument

    params = {p.name: p for p in op.parameters}
    order = list(params)
    values: dict[str, object] = {}
    positional = 0
    for a in argv:
        name, sep, text = a.partition("=")
        if sep and re.fullmatch(r"[A-Za-z_][\w.-]*", name):
            if name not in params:
                raise InvalidArgument(
                    f"{op.name} has no parameter {name!r}; it has "
                    f"{', '.join(order) or 'none'}: {signature(op)} (nothing was sent)"
                )
            p = params[name]
        else:
            if positional >= len(order):
                raise InvalidArgument(
                    f"{op.name} takes {len(order)} arguments, got more: {signature(op)} (nothing was sent)"
                )
            p, text = params[order[positional]], a
            positional += 1
        if p.name in values:
            raise InvalidArgument(f"{op.name} got {p.name!r} twice: {signature(op)}")
        values[p.name] = _convert(p.type.xsd, text, p.name)
    missing = [
        p.name for p in params.values() if p.name not in values and not (p.type.optional or p.type.is_list)
    ]
    if missing:
        raise InvalidArgument(
            f"{op.name} takes {len(order)} arguments; missing "
            f"{', '.join(missing)}: {signature(op)} (nothing was sent)"
        )
    return values


def run_call(args: argparse.Namespace) -> int:
    from wssc.cli.requires import require

    require("wssc call", "httpx")
    from wssc.cli.waiting import Waiting

    waiting = Waiting(args.timeout)
    try:
        return _call(args, waiting)
    except TransportError as exc:
        late = waiting.overdue()
        if late is not None:
            exc.add_note(f"no answer within --timeout {args.timeout:g} s: {late}")
        raise
    finally:
        waiting.close()


def _issued_token(args: argparse.Namespace, applies_to: str, wsdl_url: str) -> Any:
    """``--sts``: the token for ``applies_to`` from the STS (None without ``--sts``), of the
    type the service's policy asks for (its RequestSecurityTokenTemplate's TokenType)."""
    if not args.sts:
        return None
    import httpx

    from wssc.bootstrap.registry import settings_from_wsdl
    from wssc.client.common import tls_verify
    from wssc.client.sts import StsExchange, request_token

    client_cert = getattr(args, "sts_client_cert", None)
    if client_cert and not args.sts_client_key:
        raise ConfigurationError("--sts-client-cert needs its private key: --sts-client-key")
    if not client_cert and (not args.username or args.password is None):
        raise ConfigurationError("--sts signs in with --username and --password (or --sts-client-cert)")
    from wssc.client.wsdl_fetch import get_capped
    from wssc.policy.wsdl_resolve import WsdlBudget

    def fetched(status: int, url: str) -> None:
        if status != 200:
            raise TransportError(f"the WSDL at {url} gave HTTP {status}")

    try:  # read no further than a WSDL load's caps
        with httpx.Client(verify=tls_verify(_verify_opt(args)), timeout=args.timeout) as h:
            wsdl = get_capped(h, wsdl_url, WsdlBudget(), fetched)
    except httpx.HTTPError as exc:
        raise TransportError(f"the WSDL at {wsdl_url} could not be read: {exc}") from None
    imported = settings_from_wsdl(wsdl).settings
    from wssc.bootstrap.registry import bootstrap_kind
    from wssc.certs import load

    cert = load(args.sts_cert) if args.sts_cert else None
    bearer = bootstrap_kind(imported.bootstrap).requires("bearer")
    if client_cert:
        exchange = StsExchange.new(
            args.sts,
            applies_to,
            token_type=imported.issued_token_type,
            client_certificate=load(client_cert, args.sts_client_key),
            bearer=bearer,
        )
    else:
        exchange = StsExchange.new(
            args.sts,
            applies_to,
            args.username,
            args.password,
            imported.issued_token_type,
            sts_certificate=cert,
            bearer=bearer,
        )
    return request_token(
        exchange,
        verify=args.sts_cafile or True,
        timeout=args.timeout,
        max_received_message_size=args.max_received_message_size,  # the STS's reply too
    )


def _sts_client_certificate(args: argparse.Namespace) -> Any:
    """``--sts-client-cert`` without ``--sts``: the certificate to sign in with at the STS
    the service's policy names (its certificate port, found through its metadata)."""
    if args.sts or not args.sts_client_cert:
        return None
    if not args.sts_client_key:
        raise ConfigurationError("--sts-client-cert needs its private key: --sts-client-key")
    from wssc.certs import load

    return load(args.sts_client_cert, args.sts_client_key)


def _call(args: argparse.Namespace, waiting: Waiting) -> int:
    import httpx

    from wssc.certs import load
    from wssc.client.common import find_operation, tls_verify
    from wssc.client.sync import Client
    from wssc.errors import RemoteFault, SecurityVerificationFailed

    url = args.url
    wsdl_url = url if "?" in url else url + "?wsdl"
    verbose = bool(args.verbose)

    def event(name: str, detail: str) -> None:
        if verbose:
            print(f"[{name}] {detail}", file=sys.stderr, flush=True)

    service_cert = load(args.service_cert) if args.service_cert else None
    extra: dict[str, Any] = {} if service_cert is None else {"service_certificate": service_cert}
    if (args.client_cert is None) != (args.client_key is None):
        raise ConfigurationError("--client-cert and --client-key go together")
    extra["credentials"] = ClientCredentials(
        spn=args.spn,  # None: the WSDL's wsid:Spn, else WCF's default host/<host> (the client's)
        kerberos_keytab=args.keytab,
        kerberos_ccache=args.ccache,
        certificate=load(args.client_cert, args.client_key)
        if args.client_cert is not None
        else _sts_client_certificate(args),
        service_dns_identity=args.dns_identity,
        issued_token=_issued_token(args, url.split("?", 1)[0], wsdl_url),
    )
    verify = _verify_opt(args)
    http = httpx.Client(
        verify=tls_verify(verify),
        timeout=args.timeout,
        event_hooks={
            "request": [lambda r: waiting.begin(_waiting_for(r))],
            "response": [lambda r: waiting.end()],
        },
    )
    with http:
        waiting.begin(f"the WSDL at {wsdl_url}")
        try:
            client = Client.from_wsdl(
                wsdl_url,
                verify=verify,
                username=args.username,
                password=args.password,
                on_event=event,
                timeout=args.timeout,
                http=http,
                max_received_message_size=args.max_received_message_size,
                max_string_content_length=args.max_string_content_length,
                sts_verify=args.sts_cafile,
                **extra,
            )
        except ConfigurationError as exc:
            if service_cert is None and "needs the service certificate" in str(exc):
                exc.add_note(
                    "hint: the WSDL names no service certificate (wsid:Identity); "
                    "give it with --service-cert PEM"
                )
            raise
        waiting.end()
        try:
            with client:
                if verbose:
                    s = client.session.scs
                    print(
                        f"[policy] {s.bootstrap.value}, {s.message_security_version.name}, "
                        f"{'session mode' if s.require_cancellation else 'cookie mode (MustNotSendCancel)'}"
                        f", derived keys {'on' if bootstrap_kind(s.bootstrap).derived_keys(s) else 'off'}",
                        file=sys.stderr,
                        flush=True,
                    )
                op = find_operation(client.contract, args.operation)
                values = _values(op, list(args.args))
                result: object = None
                for _ in range(max(1, args.repeat)):
                    result = client.call(op.name, **values)
        except RemoteFault as exc:
            if (
                service_cert is not None
                and isinstance(exc, SecurityVerificationFailed)
                and client.session.sct is None
            ):
                exc.add_note(
                    f"hint: the service could not read the session request sealed "
                    f"for --service-cert {args.service_cert} ({service_cert.subject}); "
                    "is it this service's certificate?"
                )
            raise
    print(result)
    return 0


# --- inspect --------------------------------------------------------------------------------
def read_wsdl(args: argparse.Namespace) -> tuple[bytes, str | None]:
    """The WSDL bytes named by ``args.wsdl`` (a URL or a file), and its URL if any; its
    imports followed, every document's size and the total capped while read (WsdlBudget)."""
    asm, url = load_wsdl(args)
    return asm.result(), url


def load_wsdl(args: argparse.Namespace, *, lenient: bool = False) -> tuple[WsdlAssembler, str | None]:
    """`read_wsdl`'s assembler: with ``lenient``, an import that cannot be read is left out
    (``asm.unavailable`` says why). ``args.mex``: the URL is a WS-MetadataExchange endpoint,
    asked with a Get (SOAP 1.2 POST), its answer read like a WSDL under the same caps."""
    from wssc.policy.wsdl_resolve import WsdlBudget, assembler, read_local

    src, budget = args.wsdl, WsdlBudget()
    if not src.startswith(("http://", "https://")):  # imports: relative files under its folder
        return assembler(read_local(src, budget), src, budget=budget, lenient=lenient), None
    from wssc.cli.requires import require

    require(f"wssc {args.command} URL", "httpx")
    import httpx

    from wssc.client.common import tls_verify
    from wssc.client.wsdl_fetch import get_capped, mex_get_capped

    def status(code: int, url: str) -> None:
        if code != 200:
            raise ConfigurationError(f"{url} answered HTTP {code}")

    mex = getattr(args, "mex", False)
    url = src if ("?" in src or mex) else src + "?wsdl"
    with httpx.Client(verify=tls_verify(_verify_opt(args)), timeout=30) as h:

        def fetch(u: str) -> bytes:  # WCF's multi-file ?wsdl=wsdl0 / ?xsd=xsd0 imports
            try:
                return get_capped(h, u, budget, status)
            except httpx.HTTPError as exc:
                raise ConfigurationError(f"cannot fetch {u}: {exc}") from None

        try:
            first = mex_get_capped(h, url, budget, status) if mex else fetch(url)
        except httpx.HTTPError as exc:
            raise ConfigurationError(f"cannot fetch {url}: {exc}") from None
        return assembler(first, url, fetch, budget=budget, lenient=lenient), url


def run_inspect(args: argparse.Namespace) -> int:
    from wssc.bootstrap.registry import bootstrap_kind, explain, settings_from_wsdl

    asm, _ = load_wsdl(args, lenient=True)
    missing = [f"not read: {k}: {why}" for k, why in asm.unavailable.items()]
    try:
        endpoint = settings_from_wsdl(asm.result(), port=args.port)
    except ConfigurationError as exc:
        if missing and "unknown binding" in str(exc):
            exc.add_note("the binding is in a document that could not be read")
        for line in missing:
            exc.add_note(line)
        raise
    print(explain(endpoint))
    for line in missing:
        print(f"warning: {line}; what it holds (operations, types) is not shown", file=sys.stderr)
    status = INSPECTED_WITH_WARNINGS if missing else 0
    address = endpoint.address
    why = bootstrap_kind(endpoint.settings.bootstrap).insecure_address(address) if address else None
    if why is not None:
        print(
            f"warning: {why}: a client (wssc's, WCF's) refuses to send its credentials "
            "there; the service must publish its https:// address",
            file=sys.stderr,
        )
        return INSPECTED_WITH_WARNINGS
    return status
