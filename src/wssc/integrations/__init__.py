"""Integrations of wssc with other SOAP stacks (`wssc.integrations.zeep`).

The integration modules are imported on first use, so ``import wssc`` and then
``wssc.integrations.zeep.secure_session(...)`` works without importing zeep up front.
"""

from __future__ import annotations

import importlib
from typing import Any

_MODULES = frozenset({"zeep"})


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return importlib.import_module(f"wssc.integrations.{name}")
    raise AttributeError(f"module 'wssc.integrations' has no attribute {name!r}")
