#!/usr/bin/env bash
# Installs the Kafka broker the kafka exporter's and receiver's tests and benchmark start themselves:
#
#   - Java 17 and Maven (Debian's openjdk-17-jre-headless and maven) when missing;
#   - Apache Kafka 4.1.1 (org.apache.kafka:kafka_2.13 and its runtime dependencies from Maven
#     Central, plus log4j's SLF4J binding), copied once into $TFO_KAFKA_HOME/libs (default
#     ~/.cache/tfo-peers/kafka-4.1.1), outside the repository. Tests run it in KRaft mode
#     (`kafka.Kafka` as broker and controller in one process) on loopback ports of their own.
#
# Re-running is cheap: it is skipped when already done. The last line is
#   KAFKA_HOME=/.../kafka-4.1.1
set -euo pipefail

readonly KAFKA_VERSION="4.1.1"
readonly LOG4J_VERSION="2.24.3"
HOME_DIR="${TFO_KAFKA_HOME:-${HOME}/.cache/tfo-peers/kafka-${KAFKA_VERSION}}"

log() { echo "kafka_peer.sh: $*" >&2; }
die() {
  log "error: $*"
  exit 1
}

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
case "$(realpath -m -- "$HOME_DIR")/" in
"$REPO_ROOT"/*) die "TFO_KAFKA_HOME (${HOME_DIR}) must be outside the repository" ;;
esac

missing=()
ls /usr/lib/jvm/java-17-openjdk-*/bin/java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
if ((${#missing[@]} > 0)); then
  log "installing ${missing[*]} ..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    die "apt-get install ${missing[*]} failed"
fi

if [[ -f "$HOME_DIR/.tfo-version" && "$(cat "$HOME_DIR/.tfo-version")" == "$KAFKA_VERSION" ]]; then
  log "kafka ${KAFKA_VERSION}: up to date, skipping"
else
  log "fetching org.apache.kafka:kafka_2.13:${KAFKA_VERSION} and its dependencies ..."
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  cat >"$tmp/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>tfo</groupId><artifactId>kafka-peer</artifactId><version>1</version>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId>
      <version>${KAFKA_VERSION}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId>
      <version>${LOG4J_VERSION}</version>
    </dependency>
  </dependencies>
</project>
POM
  (cd "$tmp" && mvn -q -B dependency:copy-dependencies -DincludeScope=runtime \
    "-DoutputDirectory=${tmp}/libs") || die "mvn dependency:copy-dependencies failed"
  rm -rf "$HOME_DIR"
  mkdir -p "$HOME_DIR"
  mv "$tmp/libs" "$HOME_DIR/libs"
  printf '%s\n' "$KAFKA_VERSION" >"$HOME_DIR/.tfo-version"
  log "kafka ${KAFKA_VERSION} installed into ${HOME_DIR}"
fi

echo "KAFKA_HOME=${HOME_DIR}"
