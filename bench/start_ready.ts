/**
 * Time from `tfo run` start to "ready" (its "Everything is ready" line, logged once every receiver
 * listens), for one or more builds of tfo run alternately: the embedded default agent config on
 * free ports under the shipped run flags (`TFO_RUN_FLAGS`), stopped with SIGTERM once ready. Each
 * `--entry` runs from its own tree (the process's working directory is the entry's folder, so its
 * own deno.json applies). Prints every run with the load average before it, and the medians.
 * `--set KEY=VALUE` adds overrides (e.g. `service.workers=2`, then "ready" is "Every worker is
 * ready"); `--rss-after S` also samples the process's RSS S seconds after ready.
 *
 *   deno run -A bench/start_ready.ts --runs 12 --entry /tmp/base/main.ts --entry main.ts
 *
 * @module
 */
import { parseArgs } from "node:util";
import { dirname, resolve } from "node:path";
import { freePort, TFO_RUN_FLAGS } from "./_children.ts";

let READY = "Everything is ready";

/** One start: milliseconds from spawn to the ready line, and the parent's peak RSS. */
interface StartSample {
  readonly entry: string;
  readonly readyMs: number;
  readonly hwmMiB: number;
  /** RSS `--rss-after` seconds after ready; NaN without it. */
  readonly rssMiB: number;
  readonly load: string;
  readonly at: string;
}

function loadAverage(): string {
  return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
}

function statusMiB(pid: number, field: string): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
  return m === null ? NaN : Math.round(Number(m[1]) / 102.4) / 10;
}

async function startOnce(
  entry: string,
  dir: string,
  extraSets: readonly string[],
  rssAfterS: number,
  timeoutMs = 60_000,
): Promise<StartSample> {
  const sets = [
    ...extraSets,
    `receivers.otlp.protocols.grpc.endpoint=127.0.0.1:${freePort()}`,
    `receivers.otlp.protocols.http.endpoint=127.0.0.1:${freePort()}`,
    `receivers.file_log.include=[${JSON.stringify(`${dir}/no-logs/*.log`)}]`,
    `extensions.health_check.endpoint=127.0.0.1:${freePort()}`,
    `service.telemetry.metrics.address=127.0.0.1:${freePort()}`,
  ];
  const load = loadAverage();
  const at = new Date().toISOString().slice(11, 19);
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...TFO_RUN_FLAGS, entry, "run", ...sets.flatMap((s) => ["--set", s])],
    cwd: dirname(entry),
    env: {
      // Nothing listens there: the exporter retries in the background, which start-up ignores.
      TFO_EXPORTER_ENDPOINT: `127.0.0.1:${freePort()}`,
      TFO_STORAGE_DIR: `${dir}/storage-${crypto.randomUUID()}`,
    },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  let readyMs = NaN;
  let hwmMiB = NaN;
  let rssMiB = NaN;
  let text = "";
  try {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      text += chunk;
      if (Number.isNaN(readyMs) && text.includes(READY)) {
        readyMs = performance.now() - started;
        hwmMiB = statusMiB(child.pid, "VmHWM");
        if (rssAfterS > 0) {
          setTimeout(() => {
            rssMiB = statusMiB(child.pid, "VmRSS");
            child.kill("SIGTERM");
          }, rssAfterS * 1000);
        } else {
          child.kill("SIGTERM");
        }
      }
      if (text.length > 1 << 20) text = text.slice(-4096);
    }
  } finally {
    clearTimeout(timer);
    await child.status;
  }
  if (Number.isNaN(readyMs)) throw new Error(`${entry} never got ready:\n${text.slice(-2000)}`);
  return { entry, readyMs, hwmMiB, rssMiB, load, at };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      runs: { type: "string", default: "10" },
      entry: { type: "string", multiple: true },
      warmup: { type: "string", default: "1" },
      set: { type: "string", multiple: true },
      "rss-after": { type: "string", default: "0" },
    },
  });
  const extraSets = values.set ?? [];
  const rssAfterS = Number(values["rss-after"]);
  if (extraSets.some((s) => /^service\.workers=([2-9]|auto)/.test(s))) {
    READY = "Every worker is ready";
  }
  const entries = (values.entry ?? ["main.ts"]).map((e) => resolve(e));
  const runs = Number(values.runs);
  const dir = await Deno.makeTempDir({ prefix: "tfo-start-ready-" });
  try {
    // Fill each tree's code cache first: a first run from a new path is slower.
    for (let i = 0; i < Number(values.warmup); i++) {
      for (const entry of entries) await startOnce(entry, dir, extraSets, rssAfterS);
    }
    const samples: StartSample[] = [];
    for (let round = 0; round < runs; round++) {
      // Alternate the order too, so neither build always runs right after the other.
      const order = round % 2 === 0 ? entries : [...entries].reverse();
      for (const entry of order) {
        const sample = await startOnce(entry, dir, extraSets, rssAfterS);
        samples.push(sample);
        console.log(
          `${sample.at} load ${sample.load}  ${entry}: ready ${
            sample.readyMs.toFixed(0)
          } ms, VmHWM ${sample.hwmMiB} MiB${
            Number.isNaN(sample.rssMiB) ? "" : `, RSS ${sample.rssMiB} MiB ${rssAfterS} s later`
          }`,
        );
      }
    }
    for (const entry of entries) {
      const mine = samples.filter((s) => s.entry === entry);
      const ready = mine.map((s) => s.readyMs);
      console.log(
        `${entry}: ${mine.length} runs, ready median ${median(ready).toFixed(0)} ms (min ${
          Math.min(...ready).toFixed(0)
        }, max ${Math.max(...ready).toFixed(0)}), VmHWM median ${
          median(mine.map((s) => s.hwmMiB))
        } MiB${
          rssAfterS > 0
            ? `, RSS ${rssAfterS} s after ready median ${median(mine.map((s) => s.rssMiB))} MiB`
            : ""
        }`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
