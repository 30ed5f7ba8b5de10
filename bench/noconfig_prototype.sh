#!/bin/bash
# The idle default agent with zod and yaml kept out of the running process — a PROTOTYPE for
# measurement only (issue 18), never shipped: bench/noconfig_prototype.patch makes `tfo run`
# validate in a child process (the real import map), print the resolved config as structured-clone
# bytes (node:v8 serialize; factories as kind + type), and rebuild it in the parent, which runs
# under an import map that sends zod and yaml to a stand-in module (bench/footprint_noconfig.ts's
# Proxy), so their code is never loaded there. The patch is applied to a copy of HEAD in
# /tmp/tfo-noconfig-proto-<commit>, kept so that later runs find Deno's code cache warm (a first
# run from a fresh path measured ~10 MiB more); the repository is not touched. A 5 s warm-up run
# fills the cache, then the agent bench's idle part runs on the copy (60 s window; pass more
# agent_bench flags as arguments, e.g. --idle-s 300).
#
#   bash bench/noconfig_prototype.sh [agent_bench flags]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=/tmp/tfo-noconfig-proto-$(git -C "$repo" rev-parse --short HEAD)
if [ ! -d "$work/tfo" ]; then
  mkdir -p "$work/tfo" "$work/standin"
  git -C "$repo" archive HEAD | tar -x -C "$work/tfo"
  cp "$repo/deno.lock" "$work/tfo/" 2>/dev/null || true
  (cd "$work/tfo" && patch -s -p1 < "$repo/bench/noconfig_prototype.patch")
fi
cp "$repo/bench/_config_libs_stand_in.js" "$work/standin/stand_in.js"
# The repository's deno.json with zod and yaml sent to the stand-in (outside the copy, so that the
# copy's own deno.json does not take over as its workspace).
python3 - "$work/tfo/deno.json" "$work/standin" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
imports = dict(d["imports"], zod=sys.argv[2] + "/stand_in.js", yaml=sys.argv[2] + "/stand_in.js")
json.dump({"imports": imports, "unstable": d["unstable"]}, open(sys.argv[2] + "/deno.json", "w"))
PY
cd "$work/tfo"
export TFO_PROTO_VALIDATOR="$work/tfo/deno.json"
export PROTO_TFO_FLAGS="--config $work/standin/deno.json --no-lock"
deno run -A --unstable-kv bench/agent_bench.ts --quick --no-rsyslog --idle-only --idle-s 5 >/dev/null
deno run -A --unstable-kv bench/agent_bench.ts --quick --no-rsyslog --idle-only "$@"
