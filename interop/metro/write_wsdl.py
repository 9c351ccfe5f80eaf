"""Write the demo service's WSDL to a file, for wsimport at build time (no server needed).

    .venv/bin/python interop/metro/write_wsdl.py OUT.wsdl

Only the contract (types, portType, binding and service names) matters to wsimport; at run
time the Metro client reads the policy from the LIVE ``?wsdl`` of the service it calls.
"""

from __future__ import annotations

import sys
from pathlib import Path

from lxml import etree

from wssc.certs import generate_self_signed
from wssc.demo import Calculator
from wssc.service.engine import ServiceEngine
from wssc.xml import ns


def main(out: str) -> None:
    engine = ServiceEngine(
        Calculator(), address="http://127.0.0.1:8000/svc", certificate=generate_self_signed()
    )
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    root = etree.fromstring(engine.wsdl())
    # The identity certificate is generated afresh here; leave it out so the file (and the
    # build stamp of scripts/setup.sh) only changes when the contract does.
    for epr in root.iter(f"{{{ns.WSA10}}}EndpointReference"):
        parent = epr.getparent()
        assert parent is not None
        parent.remove(epr)
    path.write_bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))


if __name__ == "__main__":
    main(sys.argv[1])
