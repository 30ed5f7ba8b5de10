/**
 * The filelog throughput bench (`agent_bench.ts --filelog-only --no-rsyslog`) of two source trees,
 * run alternately in the same window: for a before/after comparison on a shared machine, where
 * load changes from minute to minute. Each run records its UTC start and the load average; the
 * table gives every run and the medians per tree.
 *
 * ```sh
 * deno run -A bench/filelog_alternate.ts --before /work/wt/x-base --after . --rounds 4
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";

/** The figures of one run, as `agent_bench.ts` prints them. */
interface Run {
  readonly tree: "before" | "after";
  readonly at: string;
  readonly load: string;
  readonly fromStart: number;
  readonly fromFirst: number;
  readonly cpuS: number;
  readonly peakMib: number;
  readonly lines: number;
}

/**
 * The number in the table row of `agent_bench.ts` whose label starts with `label`; `Infinity` for
 * its "n/a (under 1 s)" (a rate over the lines per second it would not divide by less than 1 s).
 */
function figure(markdown: string, label: string): number {
  const row = markdown.split("\n").find((l) => l.startsWith(`| ${label}`));
  if (row === undefined) throw new Error(`No "${label}" row in the bench output`);
  const cell = row.split("|").map((c) => c.trim())[2]!;
  if (cell.startsWith("n/a")) return Infinity;
  return Number(cell.replace(/[^0-9.]/g, ""));
}

/** A rate for the table: `Infinity` (all delivered in under 1 s) as "over <lines>". */
function rate(value: number, lines: number): string {
  return Number.isFinite(value)
    ? Math.round(value).toLocaleString("en-US")
    : `over ${lines.toLocaleString("en-US")} (under 1 s)`;
}

async function runOnce(tree: "before" | "after", dir: string): Promise<Run> {
  const load = (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
  const at = new Date().toISOString().slice(11, 19);
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--unstable-kv",
      `${dir}/bench/agent_bench.ts`,
      "--filelog-only",
      "--no-rsyslog",
    ],
    stdout: "piped",
    stderr: "null",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) throw new Error(`The bench in ${dir} failed: ${text.slice(-500)}`);
  return {
    tree,
    at,
    load,
    fromStart: figure(text, "lines/s, process start"),
    fromFirst: figure(text, "lines/s, first line"),
    cpuS: figure(text, "CPU time of the process"),
    peakMib: figure(text, "peak RSS"),
    lines: figure(text, "lines counted at the end"),
  };
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      before: { type: "string" },
      after: { type: "string", default: "." },
      rounds: { type: "string", default: "3" },
    },
  });
  if (values.before === undefined) throw new Error("--before <source tree> is required");
  const runs: Run[] = [];
  for (let i = 0; i < Number(values.rounds); i++) {
    // Alternate which tree goes first, so neither always runs right after the other.
    const order: ["before" | "after", string][] = i % 2 === 0
      ? [["before", values.before], ["after", values.after]]
      : [["after", values.after], ["before", values.before]];
    for (const [tree, dir] of order) {
      const run = await runOnce(tree, dir);
      runs.push(run);
      console.error(JSON.stringify(run));
    }
  }
  const rows = [
    "| tree | UTC | load (1/5/15 min) | lines/s from start | lines/s from first line | CPU-s | peak RSS MiB | lines |",
    "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ...runs.map((r) =>
      `| ${r.tree} | ${r.at} | ${r.load} | ${rate(r.fromStart, r.lines)} | ` +
      `${rate(r.fromFirst, r.lines)} | ${r.cpuS.toFixed(2)} | ${r.peakMib.toFixed(1)} | ` +
      `${r.lines.toLocaleString("en-US")} |`
    ),
  ];
  for (const tree of ["before", "after"] as const) {
    const mine = runs.filter((r) => r.tree === tree);
    rows.push(
      `| **${tree}, median of ${mine.length}** | | | ` +
        `${rate(median(mine.map((r) => r.fromStart)), mine[0]?.lines ?? 0)} | ` +
        `${rate(median(mine.map((r) => r.fromFirst)), mine[0]?.lines ?? 0)} | ` +
        `${median(mine.map((r) => r.cpuS)).toFixed(2)} | ` +
        `${median(mine.map((r) => r.peakMib)).toFixed(1)} | |`,
    );
  }
  console.log(rows.join("\n"));
}
