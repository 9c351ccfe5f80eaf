"""Fuzz target: WS-Trust messages, ``wssc.trust.parse.parse_rst`` (service side) and
``parse_rstr`` (client side), for both WS-Trust versions.

Input: one selector byte, then the body payload (an RST or RSTR element). Selector bits::

    bit 0   0 = WS-Trust Feb 2005 (WSHttpBinding), 1 = WS-Trust 1.3 (WS2007)
    bit 1   0 = parse_rst (kind from the RequestType), 1 = parse_rstr
    bit 2   parse_rst only: take the kind from the Issue action instead of the RequestType
"""

from __future__ import annotations

import common

from wssc.trust.parse import parse_rst, parse_rstr
from wssc.xml import ns
from wssc.xml.parse import parse_xml

TRUSTS = [ns.SC_FEB2005.trust, ns.SC_V13.trust]


def target(data: bytes) -> None:
    if not data:
        return
    sel, payload = data[0], data[1:]
    trust = TRUSTS[sel & 1]
    root = parse_xml(payload)
    if sel & 2:
        parse_rstr(root, trust)
    else:
        parse_rst(root, trust, trust.rst_sct if sel & 4 else None)


if __name__ == "__main__":
    common.main(target)
