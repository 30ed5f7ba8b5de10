/**
 * The OTTL benchmark's pipeline in one process, without the network: the load generator's
 * requests (100 items each) are admitted as the otlp receiver does (in front of a pipeline that
 * changes data: decoded, then counted), run through the
 * same `transform` (3 statements) and `filter` (1 condition) as `bench/ottl_bench.ts`, merged into
 * batches of 8192 items and encoded, as the otlphttp exporter does (which sends the bytes a
 * payload arrived as when it still matches them). `--filter-only` leaves the transform out. Prints microseconds per item
 * per stage (wall clock, of the round with the least total) and the process's CPU time per item
 * in that round (all threads: GC helpers count), for finding where the time goes without a loaded machine's noise
 * in the end-to-end numbers. `--compare` alternates rounds that decode only the item fields the
 * processors declared (what the otlp receiver does) with rounds that decode everything (what it
 * did before), in the same process, and prints both.
 *
 * ```sh
 * deno run -A bench/ottl_stages.ts [--ms 3000] [--signals traces,metrics,logs] [--filter-only] [--compare]
 * ```
 *
 * @module
 */
import { cpuUsage } from "node:process";
import { parseArgs } from "node:util";
import { createTransformProcessor } from "../components/processor/transform/factory.ts";
import { transformConfigSchema } from "../components/processor/transform/config.ts";
import { createFilterProcessor } from "../components/processor/filter/factory.ts";
import { filterConfigSchema } from "../components/processor/filter/config.ts";
import { OTLP_SIGNALS } from "../lib/otlp/signals.ts";
import { Payload } from "../lib/pdata/payload.ts";
import type { Signal } from "../lib/pdata/types.ts";
import { createLogger } from "../lib/telemetry/logger.ts";
import { requestTemplates } from "./_payloads.ts";
import { PROCESSING } from "./ottl_bench.ts";
import { admitProto } from "../components/receiver/otlp/_budget.ts";
import { encodedPayload, requestProto } from "../components/exporter/otlp/signals.ts";
import { loadConfigLibs } from "../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

const BATCH = 8192;

interface Stages {
  /** Process CPU time (all threads, GC helpers included) per item over the round. */
  cpu: number;
  decode: number;
  process: number;
  encode: number;
}

/** Runs one round of `ms` milliseconds; returns microseconds per item per stage. */
async function round<S extends Signal>(
  signal: S,
  ms: number,
  filterOnly: boolean,
  full = false,
): Promise<Stages> {
  const p = PROCESSING[signal];
  const key = signal === "traces"
    ? "trace_statements"
    : signal === "metrics"
    ? "metric_statements"
    : "log_statements";
  const logger = createLogger({ level: "error" });
  const batch: Payload<S>[] = [];
  let batched = 0;
  const t = { decode: 0, process: 0, encode: 0 };
  let items = 0;
  const sink = {
    mutatesData: false,
    consume(payload: Payload<S>): Promise<void> {
      // As the otlp exporters: encoded on entering the queue, merged by concatenation, joined.
      const t0 = performance.now();
      const encoded = encodedPayload(payload);
      batch.push(encoded);
      batched += encoded.itemCount;
      if (batched >= BATCH) {
        requestProto(Payload.merge(signal, batch.splice(0)));
        batched = 0;
      }
      t.encode += performance.now() - t0;
      return Promise.resolve();
    },
  };
  const filter = createFilterProcessor(
    filterConfigSchema.parse({ error_mode: "ignore", ...p.filter }),
    signal,
    sink,
    { logger },
  );
  const transform = filterOnly ? filter : createTransformProcessor(
    transformConfigSchema.parse({ error_mode: "ignore", [key]: p.statements }),
    signal,
    filter,
    { logger },
  );
  const templates = requestTemplates(signal, 100);
  const proto = OTLP_SIGNALS[signal].proto;
  const cpu0 = cpuUsage();
  const start = performance.now();
  for (let i = 0; performance.now() - start < ms; i++) {
    const bytes = templates[i % templates.length]!.bytes.slice();
    const t0 = performance.now();
    const payload = Payload.fromProto(signal, bytes, proto);
    admitProto(payload, bytes.length, 20 * 1024 * 1024, true, full ? undefined : transform.needs);
    items += payload.itemCount;
    const t2 = performance.now();
    const encodeBefore = t.encode;
    await transform.consume(payload);
    const t3 = performance.now();
    t.decode += t2 - t0;
    t.process += t3 - t2 - (t.encode - encodeBefore);
  }
  const cpu = cpuUsage(cpu0);
  const us = (x: number) => (1000 * x) / items;
  return {
    cpu: (cpu.user + cpu.system) / items,
    decode: us(t.decode),
    process: us(t.process),
    encode: us(t.encode),
  };
}

/**
 * Per signal, `rounds` alternating pairs of rounds: the declared fields decoded, and everything
 * decoded; the least CPU per item of each, as a markdown table.
 */
export async function compareStages(
  signals: Signal[],
  ms: number,
  rounds = 5,
  filterOnly = false,
): Promise<string> {
  const lines = [
    "| signal | declared fields: CPU µs/item | everything: CPU µs/item | declared / everything |",
    "| --- | ---: | ---: | ---: |",
  ];
  for (const signal of signals) {
    await round(signal, ms / 5, filterOnly);
    await round(signal, ms / 5, filterOnly, true);
    let partial = Infinity;
    let full = Infinity;
    for (let r = 0; r < rounds; r++) {
      partial = Math.min(partial, (await round(signal, ms / rounds, filterOnly)).cpu);
      full = Math.min(full, (await round(signal, ms / rounds, filterOnly, true)).cpu);
    }
    lines.push(
      `| ${signal} | ${partial.toFixed(2)} | ${full.toFixed(2)} | ${(partial / full).toFixed(2)} |`,
    );
  }
  return lines.join("\n");
}

/** Best-of-`rounds` stage times per signal, as a markdown table. */
export async function runStages(
  signals: Signal[],
  ms: number,
  rounds = 5,
  filterOnly = false,
): Promise<string> {
  const lines = [
    "| signal | admit (decode, count) µs/item | transform+filter µs/item | encode µs/item | total | CPU µs/item |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const signal of signals) {
    await round(signal, ms / 5, filterOnly); // warm-up
    let best: Stages | undefined;
    const total = (s: Stages) => s.decode + s.process + s.encode;
    for (let r = 0; r < rounds; r++) {
      const s = await round(signal, ms / rounds, filterOnly);
      if (best === undefined || total(s) < total(best)) best = s;
    }
    const b = best!;
    const f = (x: number) => x.toFixed(2);
    lines.push(
      `| ${signal} | ${f(b.decode)} | ${f(b.process)} | ${f(b.encode)} | ${f(total(b))} | ${
        f(b.cpu)
      } |`,
    );
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      ms: { type: "string", default: "3000" },
      signals: { type: "string", default: "traces,metrics,logs" },
      "filter-only": { type: "boolean", default: false },
      compare: { type: "boolean", default: false },
    },
  });
  const signals = values.signals!.split(",") as Signal[];
  const run = values.compare ? compareStages : runStages;
  console.log(await run(signals, Number(values.ms), 5, values["filter-only"]));
}
