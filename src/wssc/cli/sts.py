"""``wssc sts``: a small security token service issuing SAML 1.1 and 2.0 assertions (`wssc.service.sts`)."""

from __future__ import annotations

import argparse
import hmac
import logging
import socket
from pathlib import Path

from wssc.errors import ConfigurationError
from wssc.federation.saml2 import SamlAttribute


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "sts",
        help="run a small security token service (WS-Trust Issue of SAML 1.1 and 2.0 tokens)",
        description="A security token service for federated (IssuedToken) endpoints: it signs in "
        "users with a username and password over HTTPS (as ADFS's usernamemixed endpoint) and "
        "issues holder-of-key SAML 1.1 or 2.0 assertions signed with RSA-SHA256, their proof keys "
        "encrypted to the relying party's certificate. With --client-ca or --trust-client-cert "
        "it also signs users in with a client certificate over HTTPS (the certificate endorses "
        "the Timestamp; as ADFS's certificatemixed endpoint) at PATH/certificatemixed, published "
        "as a second port in its metadata; the user is the certificate's subject. For tests and "
        "small deployments.",
    )
    p.add_argument(
        "--cert", required=True, help="the STS's certificate (PEM): signs the assertions, serves HTTPS"
    )
    p.add_argument("--key", required=True, help="its private key (PEM)")
    p.add_argument(
        "--users",
        required=True,
        help="file of accepted users, one NAME:PASSWORD a line (# comments allowed)",
    )
    p.add_argument(
        "--relying-party-cert",
        action="append",
        default=[],
        metavar="ADDRESS=CERT.pem",
        required=True,
        help="a relying party the STS issues tokens for: its address (the RST's AppliesTo) and the "
        "certificate its proof keys are encrypted to; repeat for several",
    )
    p.add_argument(
        "--issuer", default=None, help="the assertions' saml:Issuer (default: the STS's https:// address)"
    )
    p.add_argument(
        "--lifetime",
        type=float,
        default=3600.0,
        help="token lifetime in seconds (default 3600, ADFS's 60 minutes)",
    )
    p.add_argument(
        "--token-type",
        choices=("saml11", "saml20"),
        default="saml11",
        help="what an RST that names no wst:TokenType gets (an RST naming SAML 1.1 or 2.0 gets "
        "that). Default saml11: WCF's IssuedSecurityTokenParameters.TokenType is null by default, "
        "so WCF sends no TokenType, and WIF's and ADFS's STS then issue SAML 1.1",
    )
    p.add_argument(
        "--claim",
        action="append",
        default=[],
        metavar="TYPE=VALUE",
        help="a claim every issued token carries as a SAML attribute (TYPE a claim-type URI, e.g. "
        "http://schemas.microsoft.com/ws/2008/06/identity/claims/role=admin); repeat for several",
    )
    p.add_argument(
        "--trust",
        choices=("1.3", "feb2005"),
        default="1.3",
        help="WS-Trust version of the endpoint and its metadata: 1.3 (ws2007FederationHttpBinding's; "
        "default) or feb2005 (wsFederationHttpBinding's, WS-SecurityPolicy 1.1)",
    )
    p.add_argument(
        "--client-ca",
        action="append",
        default=[],
        type=Path,
        metavar="PEM",
        help="also accept a certificate sign-in (at PATH/certificatemixed) with client "
        "certificates issued by this CA (ChainTrust: chain, validity, KeyUsage); repeatable. "
        "Without it or --trust-client-cert no certificate sign-in is accepted",
    )
    p.add_argument(
        "--trust-client-cert",
        action="append",
        default=[],
        type=Path,
        metavar="PEM",
        help="also accept a certificate sign-in (at PATH/certificatemixed) with this client "
        "certificate (PeerTrust); repeatable",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8443, help="port (default 8443)")
    p.add_argument("--path", default="/sts", help="URL path of the STS endpoint (default /sts)")
    p.set_defaults(func=run)


def _read_users(path: str) -> dict[str, str]:
    users: dict[str, str] = {}
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigurationError(f"cannot read --users {path}: {exc.strerror}") from None
    for n, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, pw = line.partition(":")
        if not sep or not name:
            raise ConfigurationError(f"--users {path}:{n}: expected NAME:PASSWORD")
        users[name] = pw
    if not users:
        raise ConfigurationError(f"--users {path} names no user")
    return users


def _claims(specs: list[str]) -> tuple[SamlAttribute, ...]:
    """``--claim TYPE=VALUE`` options as attributes, a repeated type's values together."""
    values: dict[str, list[str]] = {}
    for spec in specs:
        kind, sep, value = spec.partition("=")
        if not sep or not kind:
            raise ConfigurationError(f"--claim takes TYPE=VALUE, not {spec!r}")
        values.setdefault(kind, []).append(value)
    return tuple(SamlAttribute(k, tuple(v)) for k, v in values.items())


def run(args: argparse.Namespace) -> int:
    from wssc.certs import load
    from wssc.security.x509_validation import CertificateValidator
    from wssc.service.sts import SecurityTokenService, sts_app
    from wssc.service.sts_metadata import CERTIFICATE_SUFFIX
    from wssc.xml import ns

    try:
        import uvicorn
    except ImportError:
        raise ConfigurationError("wssc sts needs uvicorn (pip install 'wssc[service]')") from None
    signer = load(args.cert, args.key)
    users = _read_users(args.users)
    parties = {}
    for spec in args.relying_party_cert:
        address, sep, path = spec.partition("=")
        if not sep or not address or not path:
            raise ConfigurationError("--relying-party-cert takes ADDRESS=CERT.pem")
        parties[address] = load(path)

    def validate(user: str, password: str) -> bool:
        expected = users.get(user)
        return expected is not None and hmac.compare_digest(expected.encode(), password.encode())

    if args.client_ca and args.trust_client_cert:
        raise ConfigurationError("give --client-ca (ChainTrust) or --trust-client-cert (PeerTrust), not both")
    validator = None
    if args.client_ca:
        validator = CertificateValidator.chain_trust(*args.client_ca)
    elif args.trust_client_cert:
        validator = CertificateValidator.peer_trust(*args.trust_client_cert)
    url = f"https://{args.host}:{args.port}{args.path}"
    claims = _claims(args.claim)
    sts = SecurityTokenService(
        signer=signer,
        issuer=args.issuer or url,
        relying_parties=parties,
        validator=validate,
        lifetime=args.lifetime,
        token_type=ns.WSS_SAML11_TOKEN_TYPE if args.token_type == "saml11" else ns.WSS_SAML2_TOKEN_TYPE,
        claims=(lambda user: claims) if claims else None,
        trust=ns.TRUST_FEB2005 if args.trust == "feb2005" else ns.TRUST_V13,
        client_certificate_validator=validator,
    )
    config = uvicorn.Config(
        sts_app(sts, address=url),
        host=args.host,
        port=args.port,
        ssl_certfile=args.cert,
        ssl_keyfile=args.key,
        access_log=False,
        log_level="warning",
    )
    try:
        sock = socket.create_server((args.host, args.port))
    except OSError as exc:
        raise ConfigurationError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
    logging.getLogger("wssc.service").info("STS %s for %s", url, ", ".join(parties))
    print(f"wssc sts at {url} (issuer {sts.issuer}); relying parties: {', '.join(parties)}", flush=True)
    if validator is not None:
        print(f"certificate sign-in at {url}{CERTIFICATE_SUFFIX}", flush=True)
    print(f"metadata: {url}?wsdl, and WS-MetadataExchange Get at {url}", flush=True)
    server = uvicorn.Server(config)
    with sock:
        server.run(sockets=[sock])
    return 0
