"""The e2e fixtures (``wssc serve`` in a subprocess), shared with the integration tests."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_path = Path(__file__).resolve().parent.parent / "e2e" / "conftest.py"
_spec = importlib.util.spec_from_file_location("wssc_e2e_conftest", _path)
assert _spec is not None and _spec.loader is not None
e2e = importlib.util.module_from_spec(_spec)
sys.modules["wssc_e2e_conftest"] = e2e
_spec.loader.exec_module(e2e)

Server = e2e.Server
wssc_home = e2e.wssc_home
start_server = e2e.start_server
server = e2e.server
