"""Fuzz target: WS-Policy import from a WSDL, ``wssc.policy.settings_from_wsdl``, and the
explanation a user sees of what was imported (``wssc.policy.explain``)."""

from __future__ import annotations

import common

from wssc.policy import explain, settings_from_wsdl


def target(data: bytes) -> None:
    imported = settings_from_wsdl(data)
    repr(imported)
    explain(imported)


if __name__ == "__main__":
    common.main(target)
