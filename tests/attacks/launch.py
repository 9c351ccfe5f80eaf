"""``python tests/attacks/launch.py ARGS`` = ``python -m wssc ARGS``, with two test seams.

* ``WSSC_TEST_SERVICE_SETTINGS``: JSON of ``LocalServiceSecuritySettings`` fields to override
  (``timedelta`` fields in seconds), for limits the command line does not expose (a tiny replay
  cache, a 1-second replay window). An unknown field is reported in the log and ignored: the
  tests assert behaviour, so a missing setting shows up as a failing attack test.
* ``WSSC_TEST_PLAIN_HTTP=1``: serve plain HTTP even for UserNameOverTransport (the TLS options
  are dropped from ``uvicorn.Config``; everything else the CLI passes, proxy-header handling
  included, is kept). That is the app behind a TLS-terminating proxy.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import fields, replace
from datetime import timedelta
from typing import Any

import wssc.cli.endpoint as endpoint
from wssc.cli.main import main

_overrides: dict[str, Any] = json.loads(os.environ.get("WSSC_TEST_SERVICE_SETTINGS") or "{}")
_settings = endpoint._settings


def _patched_settings(args: Any) -> Any:
    s = _settings(args)
    svc = s.service
    known = {f.name for f in fields(svc)}
    kw: dict[str, Any] = {}
    for name, value in _overrides.items():
        if name not in known:
            print(f"launch.py: LocalServiceSecuritySettings has no field {name!r}; ignored", flush=True)
            continue
        kw[name] = timedelta(seconds=value) if isinstance(getattr(svc, name), timedelta) else value
    return replace(s, service=replace(svc, **kw))


endpoint._settings = _patched_settings  # type: ignore[assignment]

if os.environ.get("WSSC_TEST_PLAIN_HTTP"):
    import uvicorn

    _Config = uvicorn.Config

    def _plain_config(app: Any, **kw: Any) -> Any:
        kw.pop("ssl_certfile", None)
        kw.pop("ssl_keyfile", None)
        print(f"launch.py: plain HTTP; uvicorn options {sorted(kw)}", flush=True)
        return _Config(app, **kw)

    uvicorn.Config = _plain_config  # type: ignore[misc]

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
