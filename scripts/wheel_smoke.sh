#!/usr/bin/env bash
# Build the sdist and the wheel, check their metadata, install the wheel with the service and
# client extras into a clean venv (no dev tools), and make one secured call between a service
# and a client started from that venv; then, in another clean venv with the zeep extra, the
# zeep AsyncClient example of docs/howto/zeep.md against the same service.
#   bash scripts/wheel_smoke.sh          (scripts/test.sh runs it)
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
say() { echo "wheel-smoke: $*" >&2; }

WORK="$REPO/.wssc/wheel-smoke"
rm -rf "$WORK"
mkdir -p "$WORK"
DIST="$WORK/dist"

say "python -m build (sdist + wheel)"
.venv/bin/python -m build --outdir "$DIST" . > "$WORK/build.log" 2>&1 \
  || { tail -30 "$WORK/build.log" >&2; say "build FAILED"; exit 1; }
say "twine check"
.venv/bin/python -m twine check --strict "$DIST"/*

WHEEL="$(ls "$DIST"/wssc-*.whl)"
SDIST="$(ls "$DIST"/wssc-*.tar.gz)"
# The wheel carries the package and its typing marker; the sdist carries the sources.
.venv/bin/python - "$WHEEL" "$SDIST" <<'PY'
import sys, tarfile, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
for need in ("wssc/__init__.py", "wssc/py.typed", "wssc/integrations/zeep.py", "wssc/cli/main.py"):
    assert need in names, f"the wheel lacks {need}"
assert not any(n.startswith("tests/") for n in names), "tests leaked into the wheel"
sdist = tarfile.open(sys.argv[2]).getnames()
assert any(n.endswith("/pyproject.toml") for n in sdist) and any(n.endswith("/README.md") for n in sdist)
PY

say "core-only venv: the commands name the extra they miss, before starting"
python3 -m venv "$WORK/core-venv"
"$WORK/core-venv/bin/python" -m pip install -q --disable-pip-version-check "$WHEEL"
set +e
serve_out="$(cd "$WORK" && "$WORK/core-venv/bin/wssc" serve --port 1 2>&1)"; serve_rc=$?
call_out="$(cd "$WORK" && "$WORK/core-venv/bin/wssc" call http://127.0.0.1:1/svc Add 1 2 2>&1)"; call_rc=$?
set -e
[ "$serve_rc" = 2 ] && [[ "$serve_out" == *"pip install 'wssc[service]'"* ]] && [[ "$serve_out" != *"demo service at"* ]] \
  || { say "core-only wssc serve: rc=$serve_rc: $serve_out"; exit 1; }
[ "$call_rc" = 2 ] && [[ "$call_out" == *"pip install 'wssc[client]'"* ]] \
  || { say "core-only wssc call: rc=$call_rc: $call_out"; exit 1; }

say "clean venv with $(basename "$WHEEL")[service,client]"
python3 -m venv "$WORK/venv"
V="$WORK/venv/bin"
"$V/python" -m pip install -q --disable-pip-version-check "$WHEEL[service,client]"
# no dev tools came along
for tool in pytest mypy ruff zeep; do
  if "$V/python" -c "import $tool" 2>/dev/null; then say "$tool is installed in the clean venv"; exit 1; fi
done

PORT="$("$V/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export WSSC_HOME="$WORK/home"
cd "$WORK"   # not the repository: the venv must not pick up src/
"$V/wssc" --log-level INFO serve --port "$PORT" > "$WORK/serve.log" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true' EXIT
"$V/python" - "$PORT" <<'PY'
import sys, time, httpx
url = f"http://127.0.0.1:{sys.argv[1]}/svc?wsdl"
deadline = time.monotonic() + 30
while True:
    try:
        if httpx.get(url, timeout=2).status_code == 200:
            break
    except httpx.HTTPError:
        pass
    if time.monotonic() > deadline:
        sys.exit("the service did not start")
    time.sleep(0.2)
PY
got="$("$V/wssc" call "http://127.0.0.1:$PORT/svc" Add 2 3)"
[ "$got" = 5 ] || { say "wssc call gave '$got'"; cat "$WORK/serve.log" >&2; exit 1; }
"$V/python" - "$PORT" <<'PY'
import sys
import wssc
assert "/site-packages/" in wssc.__file__, wssc.__file__
from wssc.client import Client
with Client.from_wsdl(f"http://127.0.0.1:{sys.argv[1]}/svc?wsdl") as c:
    assert c.Add(a=20, b=22) == 42
    assert c.session.sct is not None
print("wheel-smoke: secured calls from the installed wheel: ok")
PY

say "clean venv with $(basename "$WHEEL")[zeep]: the zeep AsyncClient example of docs/howto/zeep.md"
python3 -m venv "$WORK/zeep-venv"
Z="$WORK/zeep-venv/bin"
"$Z/python" -m pip install -q --disable-pip-version-check "$WHEEL[zeep]"
# the example as the page shows it (the second python block), on this service's port
"$V/python" - "$REPO/docs/howto/zeep.md" "$PORT" > "$WORK/zeep_async.py" <<'PY'
import re, sys
blocks = re.findall(r"^```python\n(.*?)^```", open(sys.argv[1]).read(), re.S | re.M)
example = [b for b in blocks if "zeep.AsyncClient" in b]
assert len(example) == 1, "docs/howto/zeep.md has one AsyncClient example"
print(example[0].replace("127.0.0.1:8000", f"127.0.0.1:{sys.argv[2]}"))
PY
zeep_out="$("$Z/python" -W error::RuntimeWarning "$WORK/zeep_async.py" 2>"$WORK/zeep_async.err")" \
  || { say "the zeep AsyncClient example failed:"; cat "$WORK/zeep_async.err" >&2; exit 1; }
[ "$zeep_out" = 5 ] || { say "the zeep AsyncClient example printed '$zeep_out'"; exit 1; }
if grep -q "Exception ignored\|Traceback" "$WORK/zeep_async.err"; then
  say "the zeep AsyncClient example printed a traceback:"; cat "$WORK/zeep_async.err" >&2; exit 1
fi
say "zeep AsyncClient example from the installed wheel: ok"

kill "$SERVER"
wait "$SERVER" 2>/dev/null || true
trap - EXIT
grep -q "cancelled SCT" "$WORK/serve.log" || { say "no Cancel in the service log"; exit 1; }
say "passed"
