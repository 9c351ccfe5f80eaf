#!/usr/bin/env bash
# The main job: a demo secure-session service and a client, on loopback.
#
#   1. sets up .venv (scripts/setup.sh --python-only: no Java or Redis needed for the demo)
#   2. starts `wssc serve` (WSHttpBinding, AnonymousForCertificate, session mode) on a free port
#   3. `wssc call -v` opens a session, calls Add and Echo, and cancels, printing each step
#   4. the same in cookie mode (--no-require-cancellation): the client never sends a Cancel
#   5. stops the services
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
bash scripts/setup.sh --python-only
export WSSC_HOME="$REPO/.wssc/demo-home"
mkdir -p "$WSSC_HOME"
WSSC=(.venv/bin/python -m wssc)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

free_port() { .venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start() {  # start ARGS... ; sets URL
  local port; port="$(free_port)"
  "${WSSC[@]}" --log-level INFO serve --port "$port" "$@" > "$WSSC_HOME/serve-$port.log" 2>&1 &
  pids+=($!)
  URL="http://127.0.0.1:$port/svc"
  for _ in $(seq 100); do
    if .venv/bin/python -c "import httpx,sys; sys.exit(httpx.get('$URL?wsdl').status_code != 200)" 2>/dev/null; then
      sed -n '1,2p' "$WSSC_HOME/serve-$port.log"; return 0
    fi
    sleep 0.2
  done
  echo "demo: the service did not start:"; cat "$WSSC_HOME/serve-$port.log"; exit 1
}

echo "== 1. session mode (require_cancellation=True, the WCF default)"
start --binding wshttp
"${WSSC[@]}" inspect "$URL" | grep -E '^(Bootstrap|Mode|Cancel):'
echo "-- wssc call -v $URL Add 2 3"
"${WSSC[@]}" call -v "$URL" Add 2 3
echo "-- wssc call -v --repeat 2 $URL Echo 'hello, secure session'"
"${WSSC[@]}" call -v --repeat 2 "$URL" Echo "hello, secure session"
echo "-- service log (the other side of the same sessions)"
grep -hE 'issued|cancelled|fault' "$WSSC_HOME"/serve-*.log | sed 's/^[0-9-]* [0-9:,]* //' | tail -4

echo
echo "== 2. cookie mode (--no-require-cancellation: mssp:MustNotSendCancel, no server state)"
start --binding wshttp --no-require-cancellation
"${WSSC[@]}" inspect "$URL" | grep -E '^(Mode|Cancel):'
"${WSSC[@]}" call -v "$URL" Add 40 2
echo
echo "demo: done (services stopped)"
