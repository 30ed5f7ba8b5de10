/**
 * Does validating the config in a Worker, then terminating it, give its memory back? Two fresh
 * `deno run`s: one validates the embedded default agent config in a Worker and terminates it, the
 * other validates it in the main isolate; both then call `releaseMemory()` (as `tfo run` does)
 * and report their RSS and anonymous RSS. If what loading and validating costs were per isolate,
 * the Worker run would end near the bare runtime.
 *
 * ```sh
 * deno run -A bench/footprint_worker.ts     # markdown table on stdout
 * ```
 *
 * @module
 */
import { releaseMemory } from "../lib/host/release_memory.ts";

const MIB = 1024 * 1024;

function kib(field: string): number {
  const status = Deno.readTextFileSync("/proc/self/status");
  return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN) * 1024;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** RSS and anonymous RSS in MiB, after `releaseMemory()` and a short settle. */
async function settledMemory(): Promise<{ rss: number; anon: number }> {
  releaseMemory();
  await sleep(2000);
  return { rss: kib("VmRSS") / MIB, anon: kib("RssAnon") / MIB };
}

/** The child's part: validate in `mode`, print the memory as JSON. */
async function child(mode: string): Promise<void> {
  const start = await settledMemory();
  let errors: number;
  if (mode === "worker") {
    const worker = new Worker(new URL("./_footprint_validate.ts", import.meta.url), {
      type: "module",
    });
    errors = await new Promise<number>((resolve) => worker.onmessage = (e) => resolve(e.data));
    worker.terminate();
    await sleep(1000);
  } else {
    errors = await (await import("./_footprint_validate.ts")).validateDefaultConfig();
  }
  console.log(JSON.stringify({ start, end: await settledMemory(), errors }));
}

async function measure(mode: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", new URL(import.meta.url).pathname, "--child", mode],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  return JSON.parse(lines[lines.length - 1]!) as {
    start: { rss: number; anon: number };
    end: { rss: number; anon: number };
    errors: number;
  };
}

if (import.meta.main) {
  if (Deno.args[0] === "--child") {
    await child(Deno.args[1] ?? "inline");
  } else {
    const rows = ["| validated in | before: RSS / anonymous MiB | after: RSS / anonymous MiB |"];
    rows.push("| --- | ---: | ---: |");
    for (const mode of ["worker", "inline", "worker", "inline"]) {
      const r = await measure(mode);
      if (r.errors !== 0) throw new Error(`The default config gave ${r.errors} errors`);
      rows.push(
        `| ${mode === "worker" ? "a Worker, terminated" : "the main isolate"} | ${
          r.start.rss.toFixed(1)
        } / ${r.start.anon.toFixed(1)} | ${r.end.rss.toFixed(1)} / ${r.end.anon.toFixed(1)} |`,
      );
    }
    console.log(rows.join("\n"));
  }
}
