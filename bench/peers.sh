#!/usr/bin/env bash
# Build the reference peers used by interop tests and side-by-side benchmarks:
#
#   otelcol       OpenTelemetry Collector (core components only), built with the
#                 OpenTelemetry Collector Builder (ocb) from the Go module proxy
#   telemetrygen  load generator from opentelemetry-collector-contrib
#   victoria-logs VictoriaLogs, the Loki push API the loki exporter's tests write to
#   otelcol-contrib  Collector v0.161.0 with the contrib fluentforward receiver, filter/transform/attributes/
#                 sampling processors, spanmetrics/count connectors and file/PRW exporters
#                 (differential tests of OTTL and the processors built on it)
#   prometheus3   Prometheus 3.x, only with `bash bench/peers.sh prometheus3` (remote write 2.0)
#
# Everything (binaries, generated Go sources, Go build and module caches) lives in a
# cache directory OUTSIDE the repository; nothing here is ever committed.
#
#   TFO_PEERS_DIR    cache directory            (default: $HOME/.cache/tfo-peers)
#   TFO_PEERS_JOBS   Go build parallelism -p    (default: 1; the build is CPU-bound)
#   TFO_PEERS_FORCE  1 = rebuild even if the version stamps match
#
# Re-running is cheap: a peer is skipped when its binary exists and its stamp file
# records the same version/manifest. The last lines of output are KEY=path pairs:
#   OTELCOL=/.../bin/otelcol
#   TELEMETRYGEN=/.../bin/telemetrygen
#   OTELCOL_CONTRIB=/.../bin/otelcol-contrib
#   VICTORIA_LOGS=/.../bin/victoria-logs
set -euo pipefail

# --- pinned versions -------------------------------------------------------------
# Core components are released as v0.X (unstable modules) + v1.Y (stable modules);
# 0.162.0 pairs with 1.68.0 (see cmd/builder/internal/config/default.yaml@v0.162.0).
# Why not the newest core (0.164.0)? From 0.163.0 on, the otlp receiver/exporters
# import go.opentelemetry.io/collector/internal/statusutil, which the module proxy
# reachable from here refuses (403 "This module version is not available").
readonly OTELCOL_VERSION="0.162.0"
readonly OTELCOL_STABLE_VERSION="1.68.0"
readonly BUILDER_VERSION="${OTELCOL_VERSION}"
# Contrib release train; the newest the proxy serves in full (0.162.0 lists .info but
# its .zip is 403, 0.163.0+ are 403). Talks plain OTLP, so the one-minor skew is moot.
readonly TELEMETRYGEN_VERSION="0.161.0"
readonly GO_MIN_VERSION="1.26" # builder/collector 0.162.0 + telemetrygen 0.161.0: `go 1.26.0`

readonly BUILDER_MOD="go.opentelemetry.io/collector/cmd/builder"
readonly TELEMETRYGEN_MOD="github.com/open-telemetry/opentelemetry-collector-contrib/cmd/telemetrygen"

PEERS_DIR="${TFO_PEERS_DIR:-$HOME/.cache/tfo-peers}"
JOBS="${TFO_PEERS_JOBS:-1}"
FORCE="${TFO_PEERS_FORCE:-0}"

die() {
  echo "peers.sh: error: $*" >&2
  exit 1
}
log() { echo "peers.sh: $*" >&2; }

# --- preflight -------------------------------------------------------------------
command -v go >/dev/null 2>&1 ||
  die "Go toolchain not found in PATH (need go >= ${GO_MIN_VERSION}). Install Go from https://go.dev/dl/ or skip building peers."

GO_VERSION="$(go env GOVERSION 2>/dev/null || true)" # e.g. go1.26.8
[[ "$GO_VERSION" =~ ^go([0-9]+)\.([0-9]+) ]] || die "cannot determine Go version (go env GOVERSION -> '${GO_VERSION}')"
go_major="${BASH_REMATCH[1]}" go_minor="${BASH_REMATCH[2]}"
min_major="${GO_MIN_VERSION%%.*}" min_minor="${GO_MIN_VERSION#*.}"
if ((go_major < min_major || (go_major == min_major && go_minor < min_minor))); then
  die "${GO_VERSION} is too old: collector v${OTELCOL_VERSION} needs go >= ${GO_MIN_VERSION}"
fi
[[ "$JOBS" =~ ^[1-9][0-9]*$ ]] || die "TFO_PEERS_JOBS must be a positive integer (got '${JOBS}')"

# Refuse (before creating anything) a cache dir inside the repository.
PEERS_DIR="$(realpath -m -- "$PEERS_DIR")" || die "cannot resolve TFO_PEERS_DIR '${PEERS_DIR}'"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
case "$PEERS_DIR/" in
"$REPO_ROOT"/*) die "TFO_PEERS_DIR (${PEERS_DIR}) must be outside the repository (${REPO_ROOT})" ;;
esac

BIN_DIR="$PEERS_DIR/bin"
TOOLS_DIR="$PEERS_DIR/tools"
BUILD_DIR="$PEERS_DIR/build"
mkdir -p "$BIN_DIR" "$TOOLS_DIR" "$BUILD_DIR"

# One run at a time per cache dir.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$PEERS_DIR/.lock"
  flock 9 || die "cannot lock ${PEERS_DIR}/.lock"
fi

# Isolated, self-contained Go environment: deleting $PEERS_DIR resets everything.
export GOTOOLCHAIN=local # never download another toolchain; fail loudly instead
export GOCACHE="$PEERS_DIR/go/build-cache"
export GOMODCACHE="$PEERS_DIR/go/mod-cache"
export GOPATH="$PEERS_DIR/go/path"
export GOFLAGS="-modcacherw -p=${JOBS}" # -modcacherw: cache stays rm -rf-able
export GOMAXPROCS="$JOBS"               # also caps the compiler's own backend threads
export CGO_ENABLED=0                     # static binaries, no C toolchain needed
export GOWORK=off
unset GOBIN GOOS GOARCH

stamp_ok() { # stamp_ok <binary> <expected stamp>
  [[ "$FORCE" != 1 && -x "$1" && -f "$1.version" && "$(cat "$1.version")" == "$2" ]]
}

fmt_secs() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

# --- otelcol via ocb -------------------------------------------------------------
OTELCOL_BIN="$BIN_DIR/otelcol"
BUILDER_BIN="$TOOLS_DIR/builder-v${BUILDER_VERSION}/builder"

manifest() {
  local v="v${OTELCOL_VERSION}" s="v${OTELCOL_STABLE_VERSION}" c="go.opentelemetry.io/collector"
  cat <<EOF
# Generated by tfo bench/peers.sh - do not edit.
dist:
  module: github.com/telemetryflow/tfo-peers/otelcol
  name: otelcol
  description: Reference OpenTelemetry Collector (core components) for tfo interop/bench
  version: "${OTELCOL_VERSION}-tfo"
  output_path: ${BUILD_DIR}/otelcol

receivers:
  - gomod: ${c}/receiver/otlpreceiver ${v}
processors:
  - gomod: ${c}/processor/batchprocessor ${v}
  - gomod: ${c}/processor/memorylimiterprocessor ${v}
exporters:
  - gomod: ${c}/exporter/otlpexporter ${v}
  - gomod: ${c}/exporter/otlphttpexporter ${v}
  - gomod: ${c}/exporter/debugexporter ${v}
  - gomod: ${c}/exporter/nopexporter ${v}
extensions:
  - gomod: ${c}/extension/zpagesextension ${v}

providers:
  - gomod: ${c}/confmap/provider/envprovider ${s}
  - gomod: ${c}/confmap/provider/fileprovider ${s}
  - gomod: ${c}/confmap/provider/yamlprovider ${s}

telemetry:
  gomod: ${c}/service ${v}
  import: ${c}/service/telemetry/otelconftelemetry
EOF
}

build_otelcol() {
  local manifest_text manifest_sum stamp t0
  manifest_text="$(manifest)"
  manifest_sum="$(printf '%s\n' "$manifest_text" | sha256sum | cut -c1-16)"
  stamp="otelcol-core v${OTELCOL_VERSION} builder v${BUILDER_VERSION} manifest ${manifest_sum}"
  if stamp_ok "$OTELCOL_BIN" "$stamp"; then
    log "otelcol v${OTELCOL_VERSION}: up to date, skipping"
    return
  fi

  if [[ ! -x "$BUILDER_BIN" ]]; then
    t0=$SECONDS
    log "installing builder (ocb) v${BUILDER_VERSION} ..."
    GOBIN="$(dirname "$BUILDER_BIN")" go install "${BUILDER_MOD}@v${BUILDER_VERSION}" ||
      die "go install ${BUILDER_MOD}@v${BUILDER_VERSION} failed"
    log "builder installed in $(fmt_secs $((SECONDS - t0)))"
  fi

  t0=$SECONDS
  log "building otelcol v${OTELCOL_VERSION} (-p ${JOBS}; a cold build takes several minutes) ..."
  rm -rf "$BUILD_DIR/otelcol"
  mkdir -p "$BUILD_DIR/otelcol"
  printf '%s\n' "$manifest_text" >"$BUILD_DIR/manifest.yaml"
  "$BUILDER_BIN" --config "$BUILD_DIR/manifest.yaml" ||
    die "ocb failed; generated sources are in ${BUILD_DIR}/otelcol"
  [[ -x "$BUILD_DIR/otelcol/otelcol" ]] || die "ocb succeeded but ${BUILD_DIR}/otelcol/otelcol is missing"
  mv -f "$BUILD_DIR/otelcol/otelcol" "$OTELCOL_BIN" # generated sources stay, for debugging
  printf '%s\n' "$stamp" >"$OTELCOL_BIN.version"
  log "otelcol built in $(fmt_secs $((SECONDS - t0)))"
}

# --- telemetrygen ----------------------------------------------------------------
TELEMETRYGEN_BIN="$BIN_DIR/telemetrygen"

build_telemetrygen() {
  local stamp="telemetrygen v${TELEMETRYGEN_VERSION}" t0 tmp
  if stamp_ok "$TELEMETRYGEN_BIN" "$stamp"; then
    log "telemetrygen v${TELEMETRYGEN_VERSION}: up to date, skipping"
    return
  fi
  t0=$SECONDS
  log "building telemetrygen v${TELEMETRYGEN_VERSION} ..."
  tmp="$(mktemp -d "$BUILD_DIR/telemetrygen.XXXXXX")"
  GOBIN="$tmp" go install -trimpath -ldflags='-s -w' "${TELEMETRYGEN_MOD}@v${TELEMETRYGEN_VERSION}" ||
    {
      rm -rf "$tmp"
      die "go install ${TELEMETRYGEN_MOD}@v${TELEMETRYGEN_VERSION} failed"
    }
  mv -f "$tmp/telemetrygen" "$TELEMETRYGEN_BIN"
  rm -rf "$tmp"
  printf '%s\n' "$stamp" >"$TELEMETRYGEN_BIN.version"
  log "telemetrygen built in $(fmt_secs $((SECONDS - t0)))"
}

# --- otelcol-contrib via ocb ----------------------------------------------------
# Contrib components at v0.161.0 (newer contrib is refused by the proxy) need the core
# they were released with: v0.161.0 / v1.67.0, built by the matching builder.
readonly CONTRIB_VERSION="0.161.0"
readonly CONTRIB_CORE_STABLE_VERSION="1.67.0"
OTELCOL_CONTRIB_BIN="$BIN_DIR/otelcol-contrib"
CONTRIB_BUILDER_BIN="$TOOLS_DIR/builder-v${CONTRIB_VERSION}/builder"

contrib_manifest() {
  local v="v${CONTRIB_VERSION}" s="v${CONTRIB_CORE_STABLE_VERSION}" c="go.opentelemetry.io/collector"
  local x="github.com/open-telemetry/opentelemetry-collector-contrib"
  cat <<EOF
# Generated by tfo bench/peers.sh - do not edit.
dist:
  module: github.com/telemetryflow/tfo-peers/otelcol-contrib
  name: otelcol-contrib
  description: Reference OpenTelemetry Collector with the contrib components of tfo's differential tests
  version: "${CONTRIB_VERSION}-tfo"
  output_path: ${BUILD_DIR}/otelcol-contrib

receivers:
  - gomod: ${c}/receiver/otlpreceiver ${v}
  - gomod: ${x}/receiver/fluentforwardreceiver ${v}
processors:
  - gomod: ${c}/processor/batchprocessor ${v}
  - gomod: ${x}/processor/filterprocessor ${v}
  - gomod: ${x}/processor/transformprocessor ${v}
  - gomod: ${x}/processor/attributesprocessor ${v}
  - gomod: ${x}/processor/tailsamplingprocessor ${v}
  - gomod: ${x}/processor/probabilisticsamplerprocessor ${v}
connectors:
  - gomod: ${x}/connector/spanmetricsconnector ${v}
  - gomod: ${x}/connector/countconnector ${v}
exporters:
  - gomod: ${c}/exporter/otlpexporter ${v}
  - gomod: ${c}/exporter/otlphttpexporter ${v}
  - gomod: ${c}/exporter/debugexporter ${v}
  - gomod: ${x}/exporter/fileexporter ${v}
  - gomod: ${x}/exporter/prometheusexporter ${v}
  - gomod: ${x}/exporter/prometheusremotewriteexporter ${v}

providers:
  - gomod: ${c}/confmap/provider/envprovider ${s}
  - gomod: ${c}/confmap/provider/fileprovider ${s}
  - gomod: ${c}/confmap/provider/yamlprovider ${s}

telemetry:
  gomod: ${c}/service ${v}
  import: ${c}/service/telemetry/otelconftelemetry
EOF
}

build_otelcol_contrib() {
  local manifest_text manifest_sum stamp t0
  manifest_text="$(contrib_manifest)"
  manifest_sum="$(printf '%s\n' "$manifest_text" | sha256sum | cut -c1-16)"
  stamp="otelcol-contrib v${CONTRIB_VERSION} manifest ${manifest_sum}"
  if stamp_ok "$OTELCOL_CONTRIB_BIN" "$stamp"; then
    log "otelcol-contrib v${CONTRIB_VERSION}: up to date, skipping"
    return
  fi
  if [[ ! -x "$CONTRIB_BUILDER_BIN" ]]; then
    t0=$SECONDS
    log "installing builder (ocb) v${CONTRIB_VERSION} ..."
    GOBIN="$(dirname "$CONTRIB_BUILDER_BIN")" go install "${BUILDER_MOD}@v${CONTRIB_VERSION}" ||
      die "go install ${BUILDER_MOD}@v${CONTRIB_VERSION} failed"
    log "builder installed in $(fmt_secs $((SECONDS - t0)))"
  fi
  t0=$SECONDS
  log "building otelcol-contrib v${CONTRIB_VERSION} (-p ${JOBS}; a cold build takes many minutes) ..."
  rm -rf "$BUILD_DIR/otelcol-contrib"
  mkdir -p "$BUILD_DIR/otelcol-contrib"
  printf '%s\n' "$manifest_text" >"$BUILD_DIR/manifest-contrib.yaml"
  "$CONTRIB_BUILDER_BIN" --config "$BUILD_DIR/manifest-contrib.yaml" ||
    die "ocb failed; generated sources are in ${BUILD_DIR}/otelcol-contrib"
  [[ -x "$BUILD_DIR/otelcol-contrib/otelcol-contrib" ]] ||
    die "ocb succeeded but ${BUILD_DIR}/otelcol-contrib/otelcol-contrib is missing"
  mv -f "$BUILD_DIR/otelcol-contrib/otelcol-contrib" "$OTELCOL_CONTRIB_BIN"
  printf '%s\n' "$stamp" >"$OTELCOL_CONTRIB_BIN.version"
  log "otelcol-contrib built in $(fmt_secs $((SECONDS - t0)))"
}

# --- VictoriaLogs ------------------------------------------------------------------
# The loki exporter's real peer: it takes Loki's push API (protobuf and JSON) and answers LogsQL.
readonly VICTORIALOGS_VERSION="1.52.1"
readonly VICTORIALOGS_MOD="github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs"
VICTORIALOGS_BIN="$BIN_DIR/victoria-logs"

build_victorialogs() {
  local stamp="victoria-logs v${VICTORIALOGS_VERSION}" t0 tmp
  if stamp_ok "$VICTORIALOGS_BIN" "$stamp"; then
    log "victoria-logs v${VICTORIALOGS_VERSION}: up to date, skipping"
    return
  fi
  t0=$SECONDS
  log "building victoria-logs v${VICTORIALOGS_VERSION} ..."
  tmp="$(mktemp -d "$BUILD_DIR/victoria-logs.XXXXXX")"
  GOBIN="$tmp" go install -trimpath -ldflags='-s -w' "${VICTORIALOGS_MOD}@v${VICTORIALOGS_VERSION}" ||
    {
      rm -rf "$tmp"
      die "go install ${VICTORIALOGS_MOD}@v${VICTORIALOGS_VERSION} failed"
    }
  mv -f "$tmp/victoria-logs" "$VICTORIALOGS_BIN"
  rm -rf "$tmp"
  printf '%s\n' "$stamp" >"$VICTORIALOGS_BIN.version"
  log "victoria-logs built in $(fmt_secs $((SECONDS - t0)))"
}

# --- prometheus3 (extra: `bash bench/peers.sh prometheus3`) -----------------------
# Prometheus 3.x, the remote write 2.0 receiver of the prometheus_remote_write exporter's tests
# (Debian's 2.42 speaks only 1.0). A large build (about 16 CPU-minutes), so it is not part of the
# default set: CI runs it as its own bounded step. The web UI's assets are not embedded (the
# `builtinassets` tag is off); the HTTP API the tests query works without them.
readonly PROMETHEUS3_VERSION="0.316.0"
readonly PROMETHEUS3_MOD="github.com/prometheus/prometheus/cmd/prometheus"
PROMETHEUS3_BIN="$BIN_DIR/prometheus3"

build_prometheus3() {
  local stamp="prometheus v${PROMETHEUS3_VERSION}" t0 tmp
  if stamp_ok "$PROMETHEUS3_BIN" "$stamp"; then
    log "prometheus3 v${PROMETHEUS3_VERSION}: up to date, skipping"
    return
  fi
  t0=$SECONDS
  log "building prometheus v${PROMETHEUS3_VERSION} (-p ${JOBS}; a cold build takes many minutes) ..."
  tmp="$(mktemp -d "$BUILD_DIR/prometheus3.XXXXXX")"
  GOBIN="$tmp" go install -trimpath -ldflags='-s -w' "${PROMETHEUS3_MOD}@v${PROMETHEUS3_VERSION}" ||
    {
      rm -rf "$tmp"
      die "go install ${PROMETHEUS3_MOD}@v${PROMETHEUS3_VERSION} failed"
    }
  mv -f "$tmp/prometheus" "$PROMETHEUS3_BIN"
  rm -rf "$tmp"
  printf '%s\n' "$stamp" >"$PROMETHEUS3_BIN.version"
  log "prometheus3 built in $(fmt_secs $((SECONDS - t0)))"
}

T_START=$SECONDS
log "cache dir: ${PEERS_DIR} (${GO_VERSION}, -p ${JOBS})"
if [[ "${1:-}" == "prometheus3" ]]; then
  build_prometheus3
  log "done in $(fmt_secs $((SECONDS - T_START)))"
  echo "PROMETHEUS3=${PROMETHEUS3_BIN}"
  exit 0
fi
[[ $# -eq 0 ]] || die "unknown argument '$1' (the only extra peer is prometheus3)"
build_otelcol
build_telemetrygen
build_otelcol_contrib
build_victorialogs
log "done in $(fmt_secs $((SECONDS - T_START)))"

echo "OTELCOL=${OTELCOL_BIN}"
echo "TELEMETRYGEN=${TELEMETRYGEN_BIN}"
echo "OTELCOL_CONTRIB=${OTELCOL_CONTRIB_BIN}"
echo "VICTORIA_LOGS=${VICTORIALOGS_BIN}"
