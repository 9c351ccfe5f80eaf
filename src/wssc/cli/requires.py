"""Optional dependencies of the commands, checked before a command starts."""

from __future__ import annotations

import importlib.util
import sys

from wssc.errors import ConfigurationError

#: module -> the extra that installs it
EXTRAS = {"uvicorn": "service", "httpx": "client", "redis": "redis", "zeep": "zeep"}


def available(module: str) -> bool:
    if module in sys.modules:
        return sys.modules[module] is not None
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def require(what: str, *modules: str) -> None:
    """Raise a `ConfigurationError` naming the extra(s) to install when one of
    ``modules`` is missing, e.g. ``wssc serve needs uvicorn: pip install 'wssc[service]'``."""
    missing = [m for m in modules if not available(m)]
    if missing:
        extras = ",".join(sorted({EXTRAS.get(m, m) for m in missing}))
        raise ConfigurationError(
            f"{what} needs {' and '.join(missing)}, which is not installed: pip install 'wssc[{extras}]'"
        )
