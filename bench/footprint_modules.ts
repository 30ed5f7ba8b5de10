/**
 * What each module costs in memory: one fresh `deno run` (with the repository's deno.json, so
 * with its `unstable` list) per entry imports it alone, waits for the start-up garbage to settle,
 * and reports its RSS and V8 heap; the first row imports nothing (the runtime's floor). Costs
 * overlap (every row with zod pays for Deno's npm layer), so each row is read against the floor,
 * and the stacked rows at the end add one layer at a time. Each child then calls
 * `releaseMemory()` (`lib/host/release_memory.ts`, as `tfo run` does once started) and reports
 * its RSS and anonymous RSS again: what stays is the memory the imports really hold.
 *
 * ```sh
 * deno run -A bench/footprint_modules.ts            # markdown table on stdout
 * ```
 *
 * @module
 */

const ROOT = new URL("../", import.meta.url).pathname;
const MIB = 1024 * 1024;

/** One measurement: RSS and V8 heap of a process that imported `imports`. */
export interface ModuleCost {
  readonly label: string;
  readonly rssMib: number;
  /** RSS after `releaseMemory()`. */
  readonly releasedRssMib: number;
  /** Anonymous RSS (`RssAnon`) after `releaseMemory()`. */
  readonly releasedAnonMib: number;
  readonly heapUsedMib: number;
  readonly heapTotalMib: number;
}

/** The script each child runs: imports what it is told, settles, prints its memory as JSON. */
export const PROBE: string = `
import { releaseMemory } from ${
  JSON.stringify(new URL("../lib/host/release_memory.ts", import.meta.url).href)
};
for (const spec of JSON.parse(Deno.args[0])) await import(spec);
const kib = (field) =>
  Number(new RegExp(field + ":\\\\s+(\\\\d+)").exec(Deno.readTextFileSync("/proc/self/status"))[1]) * 1024;
await new Promise((resolve) => setTimeout(resolve, 1500));
const rss = kib("VmRSS");
const m = Deno.memoryUsage();
releaseMemory();
await new Promise((resolve) => setTimeout(resolve, 1500));
console.log(JSON.stringify({
  rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, releasedRss: kib("VmRSS"), releasedAnon: kib("RssAnon"),
}));
`;

/**
 * Measures one fresh `deno run` of `probe` (a file written from {@linkcode PROBE}) importing
 * `imports`; `denoArgs` go before the script (e.g. `--config` with another import map).
 */
export async function measure(
  label: string,
  imports: readonly string[],
  probe: string,
  denoArgs: readonly string[] = [],
): Promise<ModuleCost> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", ...denoArgs, probe, JSON.stringify(imports)],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `Importing ${imports.join(", ")} failed:\n${new TextDecoder().decode(out.stderr)}`,
    );
  }
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  const m = JSON.parse(lines[lines.length - 1]!) as {
    rss: number;
    heapUsed: number;
    heapTotal: number;
    releasedRss: number;
    releasedAnon: number;
  };
  return {
    label,
    rssMib: m.rss / MIB,
    releasedRssMib: m.releasedRss / MIB,
    releasedAnonMib: m.releasedAnon / MIB,
    heapUsedMib: m.heapUsed / MIB,
    heapTotalMib: m.heapTotal / MIB,
  };
}

/** Median of `runs` measurements of the same imports (RSS moves by about 1 MiB between runs). */
async function median(label: string, imports: readonly string[], probe: string, runs: number) {
  const all: ModuleCost[] = [];
  for (let i = 0; i < runs; i++) all.push(await measure(label, imports, probe));
  all.sort((a, b) => a.rssMib - b.rssMib);
  return all[Math.floor(all.length / 2)]!;
}

/** A registry row: kind, type, and the module its loader imports. */
const ROW = /^ {2}lazy\(\s*"(\w+)",\s*"(\w+)",\s*async \(\) => \(await import\("\.\/([^"]+)"\)/gm;

const file = (path: string) => new URL(path, `file://${ROOT}`).href;

/** The factory modules of every component `examples/agent.yaml` names, as file URLs. */
export const AGENT_COMPONENT_MODULES: readonly string[] = [
  "receiver/otlp",
  "receiver/hostmetrics",
  "receiver/filelog",
  "processor/memory_limiter",
  "processor/resourcedetection",
  "processor/batch",
  "exporter/otlp",
  "exporter/debug",
  "extension/health_check",
  "extension/file_storage",
].map((c) => file(`components/${c}/factory.ts`));

/** Measures every row and returns the markdown table. */
export async function runFootprintModules(runs = 3): Promise<string> {
  // The probe lives in the repository (bench/out/, ignored by git) so that deno.json applies to it.
  await Deno.mkdir(`${ROOT}bench/out`, { recursive: true });
  const dir = await Deno.makeTempDir({ dir: `${ROOT}bench/out`, prefix: "footprint-" });
  const probe = `${dir}/probe.ts`;
  await Deno.writeTextFile(probe, PROBE);
  try {
    const rows: Array<[string, string[]]> = [
      ["nothing (the runtime's floor)", []],
      ["npm:zod", ["zod"]],
      ["npm:yaml", ["yaml"]],
      ["zod + yaml", ["zod", "yaml"]],
      ["main.ts (the CLI, no component loaded)", [file("main.ts")]],
      ["pipelines/config.ts (parse, expand, merge)", [file("pipelines/config.ts")]],
      ["pipelines/service.ts (graph, lifecycle)", [file("pipelines/service.ts")]],
    ];
    // Every registry row's module, as registry.ts names it; rows of one module count once.
    const registry = await Deno.readTextFile(`${ROOT}components/registry.ts`);
    const seen = new Set<string>();
    for (
      const m of registry.matchAll(ROW)
    ) {
      const [, kind, type, spec] = m;
      if (seen.has(spec!)) continue;
      seen.add(spec!);
      rows.push([`${kind} ${type}`, [file(`components/${spec}`)]]);
    }
    rows.push([
      "main.ts + host_metrics + batch + otlp_http (the idle bench's config)",
      [
        file("main.ts"),
        file("components/receiver/hostmetrics/factory.ts"),
        file("components/processor/batch/factory.ts"),
        file("components/exporter/otlphttp/factory.ts"),
      ],
    ]);
    rows.push([
      "main.ts + every component of the default agent config (examples/agent.yaml)",
      [file("main.ts"), ...AGENT_COMPONENT_MODULES],
    ]);
    const results: ModuleCost[] = [];
    for (const [label, imports] of rows) results.push(await median(label, imports, probe, runs));
    const floor = results[0]!;
    const lines = [
      "| imported alone | RSS MiB | over the floor | V8 heap used / total MiB | after release: RSS / anonymous MiB | anonymous over the floor |",
      "| --- | ---: | ---: | ---: | ---: | ---: |",
      ...results.map((r) =>
        `| ${r.label} | ${r.rssMib.toFixed(1)} | ${(r.rssMib - floor.rssMib).toFixed(1)} | ${
          r.heapUsedMib.toFixed(1)
        } / ${r.heapTotalMib.toFixed(1)} | ${r.releasedRssMib.toFixed(1)} / ${
          r.releasedAnonMib.toFixed(1)
        } | ${(r.releasedAnonMib - floor.releasedAnonMib).toFixed(1)} |`
      ),
    ];
    return lines.join("\n") + "\n";
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  console.log(await runFootprintModules(Number(Deno.args[0] ?? 3)));
}
