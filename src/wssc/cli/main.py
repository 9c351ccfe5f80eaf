"""``wssc`` (also ``python -m wssc``): secure sessions for SOAP services.

Every failure exits non-zero with one line on stderr: ``FAULT {namespace}Code: reason`` for a
security fault, ``error: …`` for a local mistake. Never a traceback (set ``WSSC_DEBUG=1`` to
see one).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from wssc.errors import ConfigurationError, WsscError
from wssc.logs import printable


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wssc",
        description="WS-SecureConversation (WCF secure sessions) for Python: serve, call, "
        "inspect endpoints, and protect or verify single messages.",
    )
    parser.add_argument("--log-level", default=os.environ.get("WSSC_LOG", "WARNING"),
                        help="logging level (DEBUG, INFO, WARNING…); env WSSC_LOG")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    from wssc.cli import message

    message.add_parser(sub)
    try:
        from wssc.cli import endpoint
    except ImportError:  # pragma: no cover - optional drivers missing
        pass
    else:
        endpoint.add_parsers(sub)
        from wssc.cli import svcutil

        svcutil.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level_name = getattr(args, "serve_log_level", None) or args.log_level
    logging.basicConfig(
        level=getattr(logging, str(level_name).upper(), logging.WARNING),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        rc: int = args.func(args)
        return rc
    except ConfigurationError as exc:
        # The detail may quote a hostile WSDL or peer: one line, control characters escaped.
        print(f"error: {printable(exc.detail or exc.reason, 2000)}", file=sys.stderr)
        return 2
    except WsscError as exc:
        print(f"FAULT {printable(exc.describe(), 2000)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if os.environ.get("WSSC_DEBUG"):
            raise
        print(f"error: unexpected {type(exc).__name__}: {printable(exc, 2000)}", file=sys.stderr)
        return 3
