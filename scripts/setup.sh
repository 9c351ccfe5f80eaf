#!/usr/bin/env bash
# Set up everything the checks need; safe to run again (each step is skipped when done).
#
#   .venv/                   python3 -m venv, then pip install -e '.[dev]'
#   WSS4J interop peer       Java + Debian's libwss4j-java, compiled by the peer's own build.sh
#                            into .wssc/peer-build (or $WSS4J_PEER_BUILD when set)
#   Metro (WSIT) peer        Maven + JDK; mvn package in interop/metro (into interop/metro/target)
#   CXF peer                 Maven + JDK; mvn package in interop/cxf (into interop/cxf/target)
#   .wssc/cds/metro.jsa      an AppCDS archive of the Metro peer's classes (tests/java_launch.py)
#   redis-server             apt-get install redis-server, when not on PATH
#   MIT Kerberos             apt-get install krb5-kdc krb5-admin-server libkrb5-dev krb5-user gcc
#                            (the SPNEGO tests' KDC; headers for pip's gssapi, in the dev extra)
#   mermaid.min.js           npm pack mermaid@$MERMAID_VERSION (checked against its sha256) into the
#                            git-ignored docs/assets/vendor/, so the built docs draw diagrams offline
#   chromium                 apt-get install chromium: the docs test looks at the built pages in it
#   .wssc/env                the resolved peer paths, for scripts/test.sh (sourced there)
#
# The peer lives beside the repository in ../shared/peers/wss4j (override: WSSC_WSS4J_PEER).
# Under CI (CI=true, 1 or yes) a step that cannot be done is an error; otherwise it is a loud warning.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

say() { echo "setup: $*" >&2; }
# The same rule as tests/peers.py: in_ci(): CI = true, 1 or yes, in any case.
in_ci() { case "$(printf %s "${CI:-}" | tr '[:upper:]' '[:lower:]' | tr -d '[:space:]')" in true|1|yes) return 0;; *) return 1;; esac; }
problem() {
  if in_ci; then say "ERROR: $*"; exit 1; fi
  say "!!! WARNING: $* !!!"
}

APT_UPDATED=""
apt_install() {
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || { problem "need root or sudo to apt-get install $*"; return 1; }
    sudo="sudo"
  fi
  if [ -z "$APT_UPDATED" ]; then
    $sudo apt-get -o DPkg::Lock::Timeout=600 update -qq
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq "$@"
}

# --- MIT Kerberos: the KDC the SPNEGO tests start (tests/kdc.py), and the headers gssapi builds
# against (pip's gssapi and krb5 have no Linux wheels): before the Python step ----------------
if [ ! -x /usr/sbin/krb5kdc ] || [ ! -x /usr/sbin/kadmin.local ] || ! command -v kinit >/dev/null 2>&1 \
  || ! command -v krb5-config >/dev/null 2>&1 || ! command -v gcc >/dev/null 2>&1; then
  say "installing the MIT Kerberos KDC and development headers"
  apt_install krb5-kdc krb5-admin-server libkrb5-dev krb5-user gcc \
    || problem "the MIT Kerberos KDC could not be installed; SPNEGO tests will NOT run"
fi

# --- Python: .venv with the package and its dev extras ----------------------------------------
if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  if ! python3 -m venv .venv; then
    rm -rf .venv
    py="python$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
    apt_install "$py-venv" || apt_install python3-venv
    python3 -m venv .venv
  fi
fi
mkdir -p .wssc
stamp=".wssc/pip-stamp"
want="$(sha256sum pyproject.toml | cut -d' ' -f1) $(.venv/bin/python -c 'import sys; print(sys.version)' | head -1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ] || ! .venv/bin/python -c 'import wssc' 2>/dev/null; then
  say "pip install -e '.[dev]'"
  .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
  printf '%s\n' "$want" > "$stamp"
fi

if [ "${1:-}" = "--python-only" ]; then
  exit 0
fi

# --- WSS4J peer (Java + libwss4j-java), built by its own build.sh ------------------------------
PEER_DIR="${WSSC_WSS4J_PEER:-$REPO/../shared/peers/wss4j}"
PEER_BUILD="${WSS4J_PEER_BUILD:-$REPO/.wssc/peer-build}"
peer_ready() {
  [ -f "$PEER_BUILD/classes/WssPeer.class" ] && [ -f "$PEER_BUILD/classpath" ] || return 1
  [ "$PEER_DIR/WssPeer.java" -nt "$PEER_BUILD/classes/WssPeer.class" ] && return 1
  command -v java >/dev/null 2>&1 || return 1
  local jar
  for jar in $(tr ':' ' ' < "$PEER_BUILD/classpath"); do [ -f "$jar" ] || return 1; done
  return 0
}
if [ ! -f "$PEER_DIR/build.sh" ] || [ ! -f "$PEER_DIR/WssPeer.java" ]; then
  problem "WSS4J peer not found at $PEER_DIR (set WSSC_WSS4J_PEER); interop tests will NOT run"
else
  PEER_DIR="$(cd "$PEER_DIR" && pwd)"
  mkdir -p "$PEER_BUILD"
  PEER_BUILD="$(cd "$PEER_BUILD" && pwd)"
  if ! peer_ready; then
    say "building the WSS4J peer into $PEER_BUILD (installs Java/libwss4j-java when missing)"
    WSS4J_PEER_BUILD="$PEER_BUILD" bash "$PEER_DIR/build.sh" >&2 \
      || problem "the WSS4J peer did not build; interop tests will NOT run"
  fi
  if ! command -v java >/dev/null 2>&1; then
    # build.sh installs a JDK only when javac is missing
    apt_install default-jre-headless || problem "java is missing; interop tests will NOT run"
  fi
fi
{
  printf 'export WSSC_WSS4J_PEER=%q\n' "$PEER_DIR"
  printf 'export WSS4J_PEER_BUILD=%q\n' "$PEER_BUILD"
} > .wssc/env

# --- Metro (Eclipse WSIT) peer: interop/metro, built with Maven from Maven Central ---------------
# Rebuilt only when its inputs change (pom.xml, its sources, or the WSDL wssc writes for
# wsimport); Maven's ~/.m2 is the download cache (CI: cache ~/.m2/repository).
METRO_DIR="$REPO/interop/metro"
METRO_BUILD="$METRO_DIR/target"
metro_build() {
  local wsdl="$METRO_BUILD/wssc-wsdl/Service.wsdl" stamp="$METRO_BUILD/wssc-build-stamp" want
  mkdir -p "$METRO_BUILD/wssc-wsdl"
  .venv/bin/python "$METRO_DIR/write_wsdl.py" "$wsdl.new" || return 1
  want="$( (cd "$METRO_DIR" && find pom.xml write_wsdl.py src -type f | LC_ALL=C sort | xargs sha256sum
           sha256sum < "$wsdl.new" | cut -d' ' -f1) | sha256sum | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] \
     && [ -f "$METRO_BUILD/classes/wssc/metro/MetroClient.class" ] \
     && compgen -G "$METRO_BUILD/lib/webservices-rt-*.jar" >/dev/null; then
    rm -f "$wsdl.new"
    return 0
  fi
  mv "$wsdl.new" "$wsdl"
  say "building the Metro peer (mvn package in interop/metro; first run downloads ~30 MB)"
  local t0=$SECONDS
  (cd "$METRO_DIR" && mvn -q -B package) >&2 || return 1
  printf '%s\n' "$want" > "$stamp"
  say "Metro peer built in $((SECONDS - t0)) s"
}
if ! command -v mvn >/dev/null 2>&1 || ! command -v javac >/dev/null 2>&1; then
  say "installing Maven and a JDK for the Metro peer"
  apt_install maven default-jdk-headless || problem "Maven/JDK could not be installed; Metro interop tests will NOT run"
fi
if command -v mvn >/dev/null 2>&1; then
  metro_build || problem "the Metro peer did not build (interop/metro); Metro interop tests will NOT run"
fi
printf 'export WSSC_METRO_BUILD=%q\n' "$METRO_BUILD" >> .wssc/env

# --- curl (tests/service/test_h2c.py: curl --http2 on plain HTTP; Java runs there with the JDK above)
if ! command -v curl >/dev/null 2>&1; then
  say "installing curl"
  apt_install curl || problem "curl could not be installed; the h2c tests will fail under CI"
fi

# --- Apache CXF peer: interop/cxf, built with Maven from Maven Central ----------------------------
# Rebuilt only when pom.xml or its sources change. Cold (empty ~/.m2): ~25 s; warm: ~14 s.
CXF_DIR="$REPO/interop/cxf"
CXF_BUILD="$CXF_DIR/target"
cxf_build() {
  local stamp="$CXF_BUILD/wssc-build-stamp" want
  want="$(cd "$CXF_DIR" && find pom.xml src -type f | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] \
     && [ -f "$CXF_BUILD/classes/wssc/cxf/CxfClient.class" ] \
     && compgen -G "$CXF_BUILD/lib/cxf-rt-ws-security-*.jar" >/dev/null; then
    return 0
  fi
  say "building the CXF peer (mvn package in interop/cxf; first run downloads ~40 MB)"
  local t0=$SECONDS
  (cd "$CXF_DIR" && mvn -q -B package) >&2 || return 1
  mkdir -p "$CXF_BUILD" && printf '%s\n' "$want" > "$stamp"
  say "CXF peer built in $((SECONDS - t0)) s"
}
if command -v mvn >/dev/null 2>&1; then
  cxf_build || problem "the CXF peer did not build (interop/cxf); CXF interop tests will NOT run"
fi
printf 'export WSSC_CXF_BUILD=%q\n' "$CXF_BUILD" >> .wssc/env

# --- AppCDS archive of the Metro peer's classes (tests/java_launch.py): its JVMs start faster ---
# Redone only when the peer's build stamp, its jars or the JVM change (~1 min, two sample
# interop tests). Optional: without it the peer's JVMs only start slower (a loud warning here).
if command -v java >/dev/null 2>&1 && [ -f "$METRO_BUILD/classes/wssc/metro/MetroClient.class" ]; then
  WSSC_METRO_BUILD="$METRO_BUILD" WSSC_CXF_BUILD="$CXF_BUILD" .venv/bin/python tests/java_launch.py archive \
    || say "!!! WARNING: no CDS archive for the Metro peer; its tests run, slower !!!"
fi

# --- redis-server (RedisStore tests start their own instance) ----------------------------------
if ! command -v redis-server >/dev/null 2>&1; then
  say "installing redis-server"
  apt_install redis-server || problem "redis-server could not be installed; Redis tests will NOT run"
fi

# --- Mono (System.ServiceModel) for the live Mono interop tests ---------------------------------
if ! command -v mono >/dev/null 2>&1 || ! command -v mcs >/dev/null 2>&1; then
  say "installing mono-complete (Mono's WCF, the second interop peer)"
  apt_install mono-complete || problem "mono-complete could not be installed; live Mono tests will NOT run"
fi

# --- Docs: mermaid bundled with the site (offline diagrams), Chromium for the docs test ---------
# The theme loads mermaid from a CDN only when the page has none; the built site carries this one.
MERMAID_VERSION=11.17.2
MERMAID_SHA256=581ed7d74bd9048d0e3a91363927d72ef22942d7722546b27f7cc29e35390eb8
MERMAID_JS="$REPO/docs/assets/vendor/mermaid.min.js"
mermaid_fetch() {
  local tmp
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "mermaid@$MERMAID_VERSION" >/dev/null \
     && tar xzf "mermaid-$MERMAID_VERSION.tgz" package/dist/mermaid.min.js) || { rm -rf "$tmp"; return 1; }
  if [ "$(sha256sum < "$tmp/package/dist/mermaid.min.js" | cut -d' ' -f1)" != "$MERMAID_SHA256" ]; then
    say "mermaid@$MERMAID_VERSION from npm does not match its pinned sha256"
    rm -rf "$tmp"; return 1
  fi
  mkdir -p "$(dirname "$MERMAID_JS")"
  mv "$tmp/package/dist/mermaid.min.js" "$MERMAID_JS"
  rm -rf "$tmp"
}
if [ "$(sha256sum 2>/dev/null < "$MERMAID_JS" | cut -d' ' -f1)" != "$MERMAID_SHA256" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    say "installing npm (to fetch mermaid for the docs)"
    apt_install npm || problem "npm could not be installed; the built docs will load mermaid from a CDN"
  fi
  if command -v npm >/dev/null 2>&1; then
    say "fetching mermaid@$MERMAID_VERSION for the docs (npm pack, ~18 MB once)"
    mermaid_fetch || problem "mermaid could not be fetched; the built docs will load it from a CDN"
  fi
fi
if ! command -v chromium >/dev/null 2>&1; then
  say "installing chromium (the docs test renders the built pages in it)"
  apt_install chromium || problem "chromium could not be installed; the docs browser tests will NOT run"
fi

say "ready (peer build: $PEER_BUILD)"
