"""``wssc message protect`` and ``wssc message verify``: one message, one SCT secret.

These are the tools for debugging captured traffic. Outside tools drive them: keep the flags
stable.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import os
import sys

from lxml import etree

from wssc.crypto.suites import get_suite
from wssc.errors import ConfigurationError, MessageExpired
from wssc.security import MessagePolicy, SctProtection, protect, verify
from wssc.tokens import SecurityContextToken
from wssc.xml import ns
from wssc.xml.ns import ScVersion
from wssc.xml.parse import parse_xml


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    msg = sub.add_parser(
        "message",
        help="protect or verify one SOAP message with an SCT identifier and secret",
        description="Protect or verify one SOAP message secured by a SecurityContextToken.",
    )
    msub = msg.add_subparsers(dest="message_command", required=True, metavar="COMMAND")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--sct-id", required=True, metavar="URI", help="the SCT's wsc:Identifier, e.g. urn:uuid:…"
        )
        p.add_argument(
            "--secret", metavar="B64", help="the SCT secret, base64 (or set WSSC_SECRET to keep it out of ps)"
        )
        p.add_argument(
            "--suite",
            default="basic256",
            help="algorithm suite: basic256 (default), basic128, basic256sha256, …",
        )
        p.add_argument(
            "--no-derived-keys",
            action="store_true",
            help="the SCT key signs/encrypts directly (require_derived_keys=False)",
        )

    p = msub.add_parser(
        "protect",
        help="secure a plain SOAP envelope",
        description="Secure a plain SOAP 1.1/1.2 envelope with an SCT: Timestamp, SCT, "
        "derived keys, HMAC signature over Timestamp/Body/WS-Addressing headers, and by "
        "default an encrypted Body and Signature. The SOAP version is taken from the input.",
    )
    common(p)
    p.add_argument(
        "--sc-version",
        choices=["2005", "1.3"],
        default="2005",
        help="WS-SecureConversation version (default 2005, WSHttpBinding)",
    )
    p.add_argument("--no-encrypt", action="store_true", help="sign only")
    p.add_argument("--instance", metavar="URI", help="the SCT's wsc:Instance (key generation)")
    p.add_argument(
        "--transport", action="store_true", help="as over HTTPS: the SCT key endorses the Timestamp only"
    )
    p.add_argument("input", metavar="IN", help="plain envelope file, or - for stdin")
    p.add_argument("output", metavar="OUT", help="output file, or - for stdout")
    p.set_defaults(func=run_protect)

    v = msub.add_parser(
        "verify",
        help="verify and decrypt a secured SOAP envelope",
        description="Verify and decrypt a message secured with an SCT. Prints the decrypted "
        "envelope; on failure exits 1 and prints 'FAULT {namespace}Code: reason' on stderr.",
    )
    common(v)
    v.add_argument(
        "--ignore-expiry", action="store_true", help="do not check the Timestamp (for saved samples)"
    )
    v.add_argument(
        "--transport",
        action="store_true",
        help="the message came over TLS: the SCT endorses only the Timestamp, "
        "signed directly with the SCT key",
    )
    v.add_argument("--require-encrypted-body", action="store_true")
    v.add_argument(
        "--strict-algorithms",
        action="store_true",
        help="accept exactly the --suite's algorithms and key lengths, as a service "
        "does (default: any supported algorithm, to debug captured traffic)",
    )
    v.add_argument(
        "--max-clock-skew",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="allowed clock difference for the Timestamp (default 300, WCF's 5 min)",
    )
    v.add_argument(
        "-v", "--verbose", action="store_true", help="describe what was signed and encrypted, on stderr"
    )
    v.add_argument("input", metavar="IN", help="secured envelope file, or - for stdin")
    v.set_defaults(func=run_verify)


def _secret(args: argparse.Namespace) -> bytes:
    text = args.secret or os.environ.get("WSSC_SECRET")
    if not text:
        raise ConfigurationError("give the SCT secret with --secret B64 or WSSC_SECRET")
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ConfigurationError("the secret is not valid base64") from None
    if len(key) < 16:
        raise ConfigurationError("the secret must be at least 16 bytes")
    return key


def _read(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc.strerror}") from None


def _write(path: str, data: bytes) -> None:
    if path == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    try:
        with open(path, "wb") as f:
            f.write(data)
    except OSError as exc:
        raise ConfigurationError(f"cannot write {path}: {exc.strerror}") from None


def run_protect(args: argparse.Namespace) -> int:
    sc: ScVersion = ns.sc_version(args.sc_version)
    key = _secret(args)
    transport = bool(args.transport)
    policy = MessagePolicy(
        sc=sc,
        suite=get_suite(args.suite),
        derived_keys=not args.no_derived_keys and not transport,
        encrypt_body=not args.no_encrypt and not transport,
        transport=transport,
    )
    root = parse_xml(_read(args.input))
    sct = SecurityContextToken(args.sct_id, args.instance)
    out = protect(root, SctProtection(sct, key), policy)
    _write(args.output, etree.tostring(out, encoding="utf-8", xml_declaration=True))
    return 0


def run_verify(args: argparse.Namespace) -> int:
    key = _secret(args)
    transport = bool(args.transport)

    def resolve(sct: SecurityContextToken, sc: ScVersion) -> bytes | None:
        return key if sct.identifier == args.sct_id else None

    policy = MessagePolicy(
        suite=get_suite(args.suite),
        derived_keys=not args.no_derived_keys and not transport,
        transport=transport,
        check_expiry=not args.ignore_expiry,
        max_clock_skew=max(0.0, args.max_clock_skew),
        require_encrypted_body=True if args.require_encrypted_body else None,
        require_signed_body=not transport,
        strict_algorithms=bool(args.strict_algorithms),
    )
    try:
        result = verify(_read(args.input), resolver=resolve, policy=policy)
    except MessageExpired as exc:
        exc.add_note(
            "hint: the Timestamp is checked against this clock now; to verify a "
            "saved message, add --ignore-expiry"
        )
        raise
    if args.verbose:
        for line in result.describe():
            print(line, file=sys.stderr)
    _write("-", etree.tostring(result.envelope.root, encoding="utf-8", xml_declaration=True))
    if sys.stdout.isatty():
        print()
    return 0
