#!/usr/bin/env bash
# The checks CI runs: setup, then ruff, mypy and pytest. Extra arguments go to pytest.
#   bash scripts/test.sh                 everything
#   bash scripts/test.sh -m peer -x      only the WSS4J interop tests, stop at the first failure
# Every check runs even when an earlier one fails; the exit code is non-zero if any failed.
set -uo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

bash scripts/setup.sh || { echo "test: setup failed" >&2; exit 1; }
# WSSC_WSS4J_PEER and WSS4J_PEER_BUILD, as resolved by setup.sh, for the interop tests
# shellcheck source=/dev/null
source .wssc/env

BIN=.venv/bin
failed=()

lint_paths=()
for d in src tests bench fuzz interop; do [ -e "$d" ] && lint_paths+=("$d"); done
echo "== ruff check ${lint_paths[*]}"
"$BIN/ruff" check "${lint_paths[@]}" || failed+=(ruff)
echo "== ruff format --check ${lint_paths[*]} scripts"
"$BIN/ruff" format --check "${lint_paths[@]}" scripts || failed+=(ruff-format)

echo "== mypy"
"$BIN/mypy" || failed+=(mypy)

echo "== wheel smoke (sdist + wheel, twine check, clean venv, secured call)"
bash scripts/wheel_smoke.sh || failed+=(wheel-smoke)

if [ -f mkdocs.yml ]; then
  echo "== mkdocs build --strict"
  NO_MKDOCS_2_WARNING=1 "$BIN/mkdocs" build --strict --quiet --site-dir .wssc/site || failed+=(docs)
fi

echo "== pytest -q --durations=30 $*"
# the slowest tests, so that the run's time (budget: well under 45 min) can be watched
"$BIN/python" -m pytest -q --durations=30 "$@" || failed+=(pytest)

if [ "${#failed[@]}" -gt 0 ]; then
  echo "test: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "test: all checks passed"
