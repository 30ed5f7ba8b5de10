/**
 * Summarizes a V8 `.cpuprofile` (as written by `deno run --cpu-prof`): self time per function and
 * per area of the code (tfo's codec, its networking, grpc-js, Deno's HTTP and Node-compat layers,
 * garbage collection, idle), as markdown tables.
 *
 * @module
 */

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Where a function lives, for grouping. */
export function areaOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === "") {
    if (functionName === "(idle)") return "idle";
    if (functionName === "(garbage collector)") return "garbage collector";
    if (functionName === "(program)") return "V8/runtime (program)";
    return "V8 builtins / native";
  }
  if (url.includes("@grpc/grpc-js")) return "grpc-js (npm)";
  if (url.includes("/lib/otlp/")) return "tfo lib/otlp (codec, counting)";
  if (url.includes("/lib/net/")) return "tfo lib/net";
  if (url.includes("/lib/pdata/")) return "tfo lib/pdata";
  if (url.includes("/lib/telemetry/")) return "tfo lib/telemetry";
  if (url.includes("/components/") || url.includes("/pipelines/") || url.includes("/lib/")) {
    return "tfo components/pipelines";
  }
  if (url.startsWith("ext:deno_http") || url.startsWith("ext:deno_fetch")) {
    return "Deno HTTP (serve/fetch)";
  }
  if (url.startsWith("node:") || url.startsWith("ext:deno_node")) return "Deno Node compat";
  if (url.startsWith("ext:")) return "Deno runtime (other ext:)";
  if (url.includes("node_modules") || url.includes("/npm/")) return "other npm";
  return "other";
}

function shortUrl(url: string): string {
  if (url === "") return "";
  const marker = ["/work/main/", "/node_modules/", "/npm/registry.npmjs.org/"].find((m) =>
    url.includes(m)
  );
  return marker === undefined ? url : url.slice(url.indexOf(marker) + marker.length);
}

/** Markdown tables of the top self-time functions and areas of a `.cpuprofile`. */
export function summarizeProfile(text: string, top = 20): string {
  const profile = JSON.parse(text) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfTime = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    selfTime.set(id, (selfTime.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  let total = 0;
  const perFunction = new Map<string, { frame: CallFrame; us: number }>();
  const perArea = new Map<string, number>();
  for (const [id, us] of selfTime) {
    const frame = byId.get(id)!.callFrame;
    total += us;
    const key = `${frame.functionName}|${frame.url}|${frame.lineNumber}`;
    const entry = perFunction.get(key) ?? { frame, us: 0 };
    entry.us += us;
    perFunction.set(key, entry);
    const area = areaOf(frame);
    perArea.set(area, (perArea.get(area) ?? 0) + us);
  }
  const busy = total - (perArea.get("idle") ?? 0);
  const pct = (us: number, of: number) => `${((100 * us) / of).toFixed(1)}%`;
  const lines = [
    `Sampled ${(total / 1e6).toFixed(1)} s, of which ${(busy / 1e6).toFixed(1)} s not idle. ` +
    "Shares below are of the non-idle time.",
    "",
    "| area | self time | share |",
    "| --- | ---: | ---: |",
    ...[...perArea].filter(([a]) => a !== "idle").sort((a, b) => b[1] - a[1]).map(([area, us]) =>
      `| ${area} | ${(us / 1e6).toFixed(2)} s | ${pct(us, busy)} |`
    ),
    "",
    `Top ${top} functions by self time:`,
    "",
    "| function | where | area | share |",
    "| --- | --- | --- | ---: |",
    ...[...perFunction.values()]
      .filter((e) => e.frame.functionName !== "(idle)")
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((e) =>
        `| \`${e.frame.functionName || "(anonymous)"}\` | ${shortUrl(e.frame.url)}${
          e.frame.url === "" ? "" : `:${e.frame.lineNumber + 1}`
        } | ${areaOf(e.frame)} | ${pct(e.us, busy)} |`
      ),
  ];
  return lines.join("\n");
}
