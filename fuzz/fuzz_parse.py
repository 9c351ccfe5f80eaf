"""Fuzz target: the hardened parser, ``wssc.xml.parse.parse_xml``, and the SOAP envelope
reader every inbound message goes through next (``wssc.xml.soap.Envelope``)."""

from __future__ import annotations

import common

from wssc.xml.parse import parse_xml
from wssc.xml.soap import Envelope


def target(data: bytes) -> None:
    root = parse_xml(data)
    env = Envelope(root)
    _ = (env.action, env.message_id, env.payload)


if __name__ == "__main__":
    common.main(target)
