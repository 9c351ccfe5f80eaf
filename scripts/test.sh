#!/usr/bin/env bash
# The checks CI runs: setup, then ruff, mypy and pytest. Extra arguments go to both pytest passes.
#   bash scripts/test.sh                 everything
#   bash scripts/test.sh -m peer -x      only the WSS4J interop tests, stop at the first failure
# Every check runs even when an earlier one fails; the exit code is non-zero if any failed.
set -uo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

# Every Python process of the run (pytest and its workers, each `wssc serve` and `wssc` command
# the tests start: thousands) reads its compiled modules and pytest's rewritten test modules from
# one cache instead of compiling them again: .wssc/pycache, outside the source tree (the sdist of
# the wheel smoke stays clean), also where the environment says not to write bytecode.
unset PYTHONDONTWRITEBYTECODE
export PYTHONPYCACHEPREFIX="$REPO/.wssc/pycache"

bash scripts/setup.sh || { echo "test: setup failed" >&2; exit 1; }
# WSSC_WSS4J_PEER and WSS4J_PEER_BUILD, as resolved by setup.sh, for the interop tests
# shellcheck source=/dev/null
source .wssc/env

BIN=.venv/bin
failed=()

# The wheel smoke (mostly pip and its own clean venvs) runs beside ruff, mypy and mkdocs, on the
# other core; its output is shown when it ends.
mkdir -p .wssc
bash scripts/wheel_smoke.sh > .wssc/wheel-smoke.log 2>&1 &
smoke=$!

lint_paths=()
for d in src tests bench fuzz interop; do [ -e "$d" ] && lint_paths+=("$d"); done
echo "== ruff check ${lint_paths[*]}"
"$BIN/ruff" check "${lint_paths[@]}" || failed+=(ruff)
echo "== ruff format --check ${lint_paths[*]} scripts"
"$BIN/ruff" format --check "${lint_paths[@]}" scripts || failed+=(ruff-format)

echo "== mypy"
"$BIN/mypy" || failed+=(mypy)

if [ -f mkdocs.yml ]; then
  echo "== mkdocs build --strict"
  NO_MKDOCS_2_WARNING=1 "$BIN/mkdocs" build --strict --quiet --site-dir .wssc/site || failed+=(docs)
fi

echo "== wheel smoke (sdist + wheel, twine check, clean venv, secured call)"
wait "$smoke" || failed+=(wheel-smoke)
cat .wssc/wheel-smoke.log

# Two passes (budget for the whole run: well under 45 min, --durations lists the slowest tests):
# every test but the `serial` ones on pytest-xdist workers (WSSC_TEST_WORKERS, default one per
# core), a test file's tests on one worker (--dist loadfile: its module fixtures, servers and JVM
# peers are built once); then the `serial` ones (they measure time or CPU as ratios) alone.
workers="${WSSC_TEST_WORKERS:-auto}"
echo "== pytest -q --durations=30 -n $workers --dist loadfile --serial-tests=exclude $*"
"$BIN/python" -m pytest -q --durations=30 -n "$workers" --dist loadfile --serial-tests=exclude "$@" \
  || failed+=(pytest)
echo "== pytest -q --durations=10 --serial-tests=only $*"
"$BIN/python" -m pytest -q --durations=10 --serial-tests=only "$@"
rc=$?  # 5: the arguments selected none of them
[ "$rc" -eq 0 ] || [ "$rc" -eq 5 ] || failed+=(pytest-serial)

if [ "${#failed[@]}" -gt 0 ]; then
  echo "test: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "test: all checks passed"
