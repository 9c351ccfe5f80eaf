"""The zeep how-to's steps, as a new user takes them: the ``zeep`` extra brings zeep's async
extras (the AsyncClient example needs them), a transport whose construction failed half-way
is finalized without an "Exception ignored" traceback, and ``wssc.integrations.zeep`` is
reachable after a plain ``import wssc``."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=dict(os.environ, PYTHONWARNINGS="default"),
    )


def test_the_zeep_extra_pulls_in_zeeps_async_extras() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(req.replace(" ", "").startswith("zeep[async]") for req in extras["zeep"]), extras["zeep"]
    # what zeep's AsyncTransport checks before it starts (the "install zeep with the async
    # extras" error): both are importable where the extra is installed
    r = _python(
        "import zeep.transports as t; print(t.httpx is not None, t.HTTPX_PROXY_KWARG_NAME is not None)"
    )
    assert r.returncode == 0 and r.stdout.split() == ["True", "True"], r.stdout + r.stderr


def test_a_half_built_transport_is_finalized_quietly() -> None:
    code = """
import gc
from wssc.integrations.zeep import AsyncTransport, Transport
for cls in (Transport, AsyncTransport):
    try:
        cls()                      # no endpoint: fails before zeep's __init__ ran
    except TypeError as exc:
        print("refused:", cls.__name__, exc)
    t = cls.__new__(cls)           # and a bare object, finalized
    del t
    gc.collect()
print("done")
"""
    r = _python(code)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("refused:") == 2 and r.stdout.strip().endswith("done"), r.stdout
    assert "Exception ignored" not in r.stderr and "AttributeError" not in r.stderr, r.stderr


def test_integrations_are_reachable_after_a_plain_import_wssc() -> None:
    r = _python(
        "import sys, wssc\n"
        "assert 'zeep' not in sys.modules, 'import wssc imported zeep'\n"
        "print(wssc.integrations.zeep.secure_session.__name__, "
        "wssc.integrations.zeep.async_secure_session.__name__)"
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["secure_session", "async_secure_session"]
    r = _python("import wssc; wssc.integrations.nosuch")
    assert r.returncode == 1 and "has no attribute 'nosuch'" in r.stderr, r.stderr
