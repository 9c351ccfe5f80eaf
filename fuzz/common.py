"""Shared set-up of the fuzz harnesses: the fixed clock, the service under test, the oracle.

Every harness is a libFuzzer target run by atheris (``python fuzz/fuzz_<target>.py [libFuzzer
flags] CORPUS SEEDS``). The oracle is the same everywhere: the code under test may succeed or
raise a :class:`wssc.errors.WsscError` subclass (a typed refusal). Any other exception escapes
the harness and atheris reports it as a crash; an input that runs longer than libFuzzer's
``-timeout`` is reported as a hang.

The work directory (``WSSC_FUZZ_WORK``, default ``fuzz/work``) holds what the seed generator
(``fuzz/seeds.py``) made and the harnesses need: the service certificate and the session keys
the secured seed messages were made with.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import atheris

#: The fixed "now" of every seed and every verification: 2027-01-15T08:00:00Z.
T0 = 1_800_000_000.0
HERE = Path(__file__).resolve().parent
WORK = Path(os.environ.get("WSSC_FUZZ_WORK", str(HERE / "work")))
#: The WSS4J peer's saved vectors (a fixed secret and SCT identifier, see their manifest).
WSS4J_VECTORS = HERE.parent.parent / "shared" / "peers" / "wss4j" / "vectors"

#: Set by fuzz/coverage_report.py, which measures line coverage with coverage.py instead.
_INSTRUMENT = not os.environ.get("WSSC_FUZZ_NO_INSTRUMENT")

with atheris.instrument_imports(include=["wssc"]) if _INSTRUMENT else contextlib.nullcontext():
    import wssc.bootstrap
    import wssc.certs
    import wssc.errors
    import wssc.policy
    import wssc.security
    import wssc.security.inbound
    import wssc.security.replay
    import wssc.service.engine
    import wssc.settings
    import wssc.store.cookie
    import wssc.store.record
    import wssc.trust
    import wssc.trust.parse
    import wssc.xml.parse
    import wssc.xml.soap  # noqa: F401 - instrumented for the harnesses

from wssc.errors import WsscError  # noqa: E402


def keys() -> dict[str, bytes]:
    """ "identifier|instance" of an SCT -> session key, for the secured seed messages."""
    path = WORK / "keys.json"
    table = json.loads(path.read_text()) if path.exists() else {}
    return {k: bytes.fromhex(v) for k, v in table.items()}


def typed(fn: Callable[[bytes], object]) -> Callable[[bytes], None]:
    """Wrap a target: a WsscError is an accepted outcome; anything else propagates."""

    def one_input(data: bytes) -> None:
        try:
            fn(data)
        except WsscError:
            pass

    return one_input


def main(fn: Callable[[bytes], object]) -> None:
    atheris.Setup(sys.argv, typed(fn))
    atheris.Fuzz()
