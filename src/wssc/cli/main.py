"""``wssc`` (also ``python -m wssc``): secure sessions for SOAP services.

Every failure exits non-zero with one line on stderr (then, indented, its details or a hint
when there are any): ``FAULT {namespace}Code: reason`` for a
fault the service sent (and for ``wssc message verify``'s verdict: the fault a service would
send), ``error: …`` for anything else: a local mistake (exit 2), the network or a check of the
reply on this side (exit 1). Never a traceback (set ``WSSC_DEBUG=1`` to see one). A reader that
closes the pipe early (``wssc inspect … | head``) ends the command quietly, with the status of
a process killed by SIGPIPE (141), as ``yes | head`` does.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from wssc.errors import ConfigurationError, QuotaExceeded, RemoteFault, TransportError, WsscError
from wssc.logs import printable

#: The exit status of a command whose reader went away (128 + SIGPIPE), as the shell reports
#: for ``yes | head``.
CLOSED_PIPE = 141


def _line(exc: BaseException, text: str) -> str:
    """``text`` on one line, then each note of the error (``exc.add_note``: a fault's parts,
    a hint) on an indented line of its own; each line escaped (it may quote a hostile peer)."""
    notes = [str(n) for n in getattr(exc, "__notes__", ())][:8]
    return "\n".join([printable(text, 2000), *("  " + printable(n, 500) for n in notes)])


def _closed_pipe() -> int:
    """stdout's reader is gone: point stdout at /dev/null so that the interpreter's last
    flush cannot fail again, and end quietly."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # pragma: no cover - stdout is not a file descriptor
        pass
    return CLOSED_PIPE


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    return {
        name: sub
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
        for name, sub in action.choices.items()
    }


def _every_parser(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    out = [parser]
    for sub in _subcommands(parser).values():
        out += _every_parser(sub)
    return out


def _unrecognized(parser: argparse.ArgumentParser, tokens: list[str], extra: list[str]) -> None:
    """Refuse unknown arguments with the usage of the command they were given to (argparse
    would show the top-level one), and name the command an unknown option belongs to."""
    leaf = parser
    for tok in tokens:
        leaf = _subcommands(leaf).get(tok, leaf)
    notes = []
    for opt in (e.split("=", 1)[0] for e in extra if e.startswith("--")):
        owners = [p.prog for p in _every_parser(parser) if p is not leaf and opt in p._option_string_actions]
        if owners:
            notes.append(f"{opt} is an option of: {', '.join(owners)}")
    leaf.error(f"unrecognized arguments: {' '.join(extra)}" + "".join(f"\n  ({n})" for n in notes))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wssc",
        description="WS-SecureConversation (WCF secure sessions) for Python: serve, call, "
        "inspect endpoints, and protect or verify single messages.",
    )
    parser.add_argument(
        "--log-level",
        default=os.environ.get("WSSC_LOG", "WARNING"),
        help="logging level (DEBUG, INFO, WARNING…); env WSSC_LOG",
    )
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
        from wssc.cli import sts

        sts.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    tokens = list(sys.argv[1:] if argv is None else argv)
    args, extra = parser.parse_known_args(tokens)
    if extra:
        _unrecognized(parser, tokens, extra)
    level_name = getattr(args, "serve_log_level", None) or args.log_level
    logging.basicConfig(
        level=getattr(logging, str(level_name).upper(), logging.WARNING),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        rc: int = args.func(args)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's last flush
        return rc
    except BrokenPipeError:
        return _closed_pipe()
    except ConfigurationError as exc:
        # The detail may quote a hostile WSDL or peer: one line, control characters escaped.
        print(f"error: {_line(exc, str(exc))}", file=sys.stderr)
        return 2
    except WsscError as exc:
        # FAULT only for what came off the wire (or message verify's documented verdict);
        # the network and this side's checks of a reply are errors, not faults.
        if isinstance(exc, RemoteFault) or args.command == "message":
            print(f"FAULT {_line(exc, exc.describe())}", file=sys.stderr)
        else:
            text = (
                str(exc)
                if isinstance(exc, TransportError | QuotaExceeded)
                else f"{exc.reason} ({exc.detail})"
                if exc.detail
                else exc.reason
            )
            if exc.security_failure and args.command == "call":
                text = f"the service's reply was refused here: {text}"
            print(f"error: {_line(exc, text)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if os.environ.get("WSSC_DEBUG"):
            raise
        print(f"error: unexpected {type(exc).__name__}: {printable(exc, 2000)}", file=sys.stderr)
        return 3
