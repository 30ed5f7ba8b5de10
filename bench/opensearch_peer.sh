#!/usr/bin/env bash
# Installs the OpenSearch the opensearch exporter's tests and benchmark start themselves:
#
#   - Java 17 and Maven (Debian's openjdk-17-jre-headless and maven) when missing;
#   - OpenSearch 2.19.6, the integ-test distribution from Maven Central
#     (org.opensearch.distribution.integ-test-zip:opensearch:2.19.6:zip; no security plugin),
#     unpacked once into $TFO_OPENSEARCH_HOME (default /opt/tfo-peers/opensearch-2.19.6),
#     outside the repository and readable by every user;
#   - the unprivileged system user tfo-peer, since OpenSearch refuses to run as root.
#
# Re-running is cheap: each step is skipped when already done. The last line is
#   OPENSEARCH_HOME=/.../opensearch-2.19.6
set -euo pipefail

readonly OPENSEARCH_VERSION="2.19.6"
readonly ARTIFACT="org.opensearch.distribution.integ-test-zip:opensearch:${OPENSEARCH_VERSION}:zip"
HOME_DIR="${TFO_OPENSEARCH_HOME:-/opt/tfo-peers/opensearch-${OPENSEARCH_VERSION}}"
PEER_USER=tfo-peer

log() { echo "opensearch_peer.sh: $*" >&2; }
die() {
  log "error: $*"
  exit 1
}

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
case "$(realpath -m -- "$HOME_DIR")/" in
"$REPO_ROOT"/*) die "TFO_OPENSEARCH_HOME (${HOME_DIR}) must be outside the repository" ;;
esac

missing=()
ls /usr/lib/jvm/java-17-openjdk-*/bin/java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
command -v unzip >/dev/null 2>&1 || missing+=(unzip)
if ((${#missing[@]} > 0)); then
  log "installing ${missing[*]} ..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    die "apt-get install ${missing[*]} failed"
fi

if ! id "$PEER_USER" >/dev/null 2>&1; then
  log "creating user ${PEER_USER} ..."
  useradd --system --no-create-home --shell /usr/sbin/nologin "$PEER_USER" ||
    die "useradd ${PEER_USER} failed"
fi

if [[ -x "$HOME_DIR/bin/opensearch" && -f "$HOME_DIR/.tfo-version" &&
  "$(cat "$HOME_DIR/.tfo-version")" == "$OPENSEARCH_VERSION" ]]; then
  log "opensearch ${OPENSEARCH_VERSION}: up to date, skipping"
else
  log "fetching ${ARTIFACT} ..."
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  mvn -q -B dependency:copy "-Dartifact=${ARTIFACT}" "-DoutputDirectory=${tmp}" ||
    die "mvn dependency:copy ${ARTIFACT} failed"
  unzip -q "$tmp/opensearch-${OPENSEARCH_VERSION}.zip" -d "$tmp/unpacked" || die "unzip failed"
  rm -rf "$HOME_DIR"
  mkdir -p "$(dirname "$HOME_DIR")"
  mv "$tmp/unpacked/opensearch-${OPENSEARCH_VERSION}" "$HOME_DIR"
  printf '%s\n' "$OPENSEARCH_VERSION" >"$HOME_DIR/.tfo-version"
  chmod -R a+rX "$HOME_DIR"
  chmod a+x "$(dirname "$HOME_DIR")"
  log "opensearch ${OPENSEARCH_VERSION} unpacked into ${HOME_DIR}"
fi

echo "OPENSEARCH_HOME=${HOME_DIR}"
