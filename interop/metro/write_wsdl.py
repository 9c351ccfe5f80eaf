"""Write the demo service's WSDL to a file, for wsimport at build time (no server needed).

    .venv/bin/python interop/metro/write_wsdl.py OUT.wsdl

Only the contract (types, portType, binding and service names) matters to wsimport; at run
time the Metro client reads the policy from the LIVE ``?wsdl`` of the service it calls.
"""

from __future__ import annotations

import sys
from pathlib import Path

from wssc.certs import generate_self_signed
from wssc.demo import Calculator
from wssc.service.engine import ServiceEngine


def main(out: str) -> None:
    engine = ServiceEngine(Calculator(), address="http://127.0.0.1:8000/svc",
                           certificate=generate_self_signed())
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(engine.wsdl())


if __name__ == "__main__":
    main(sys.argv[1])
