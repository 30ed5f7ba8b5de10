/**
 * The probabilistic sampler against the contrib Collector v0.161.0: the same spans and log records
 * through both, in every mode, must keep the same items with the same tracestate / sampling
 * attributes. Skipped, by name, when `otelcol-contrib` is not built (`bench/peers.sh`).
 */
import assert from "node:assert/strict";
import { probabilisticSamplerConfigSchema } from "../../../../components/processor/probabilistic_sampler/config.ts";
import { createProbabilisticSampler } from "../../../../components/processor/probabilistic_sampler/factory.ts";
import { Payload } from "../../../../lib/pdata/payload.ts";
import type { LogsData, Signal, TracesData } from "../../../../lib/pdata/types.ts";
import { MetricRegistry } from "../../../../lib/telemetry/metrics.ts";
import { type ContribCase, HAS_CONTRIB, runContrib } from "./_contrib.ts";
import {
  hex as rawHex,
  logsOf,
  probabilisticRecords,
  probabilisticSpans,
  tracesOf,
} from "./_data.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

/** IDs as hex; an all-zero ID is "" (the Collector's JSON leaves it out). */
const hex = (b: Uint8Array) => b.every((x) => x === 0) ? "" : rawHex(b);

interface Case {
  name: string;
  signal: "traces" | "logs";
  config: Record<string, unknown>;
}

const CASES: Case[] = [
  { name: "hash_seed 10%", signal: "traces", config: { sampling_percentage: 10 } },
  {
    name: "hash_seed 33.3% seed 22",
    signal: "traces",
    config: { sampling_percentage: 33.3, hash_seed: 22 },
  },
  {
    name: "hash_seed 0.5% seed 4242",
    signal: "traces",
    config: { sampling_percentage: 0.5, hash_seed: 4242 },
  },
  {
    name: "hash_seed 50% fail open",
    signal: "traces",
    config: { sampling_percentage: 50, fail_closed: false },
  },
  { name: "hash_seed 100%", signal: "traces", config: { sampling_percentage: 100 } },
  { name: "0%", signal: "traces", config: { sampling_percentage: 0 } },
  {
    name: "proportional 25%",
    signal: "traces",
    config: { sampling_percentage: 25, mode: "proportional" },
  },
  {
    name: "proportional 10% precision 2 fail open",
    signal: "traces",
    config: {
      sampling_percentage: 10,
      mode: "proportional",
      sampling_precision: 2,
      fail_closed: false,
    },
  },
  {
    name: "equalizing 30%",
    signal: "traces",
    config: { sampling_percentage: 30, mode: "equalizing" },
  },
  { name: "logs hash_seed trace ID 20%", signal: "logs", config: { sampling_percentage: 20 } },
  {
    name: "logs hash_seed from_attribute 40%",
    signal: "logs",
    config: { sampling_percentage: 40, hash_seed: 7, from_attribute: "tenant" },
  },
  {
    name: "logs record source with priority",
    signal: "logs",
    config: {
      sampling_percentage: 15,
      attribute_source: "record",
      from_attribute: "tenant",
      sampling_priority: "priority",
    },
  },
  {
    name: "logs proportional with priority",
    signal: "logs",
    config: { sampling_percentage: 10, mode: "proportional", sampling_priority: "priority" },
  },
  {
    name: "logs equalizing fail open",
    signal: "logs",
    config: { sampling_percentage: 60, mode: "equalizing", fail_closed: false },
  },
];

const SPANS = 3000;
const RECORDS = 2000;

function input(c: Case, i: number): TracesData | LogsData {
  return c.signal === "traces"
    ? tracesOf(probabilisticSpans(100 + i, SPANS))
    : logsOf(probabilisticRecords(200 + i, RECORDS));
}

/** Every kept item as a line: its IDs and what the sampler wrote. */
function kept(signal: Signal, outputs: (TracesData | LogsData)[]): string[] {
  const lines: string[] = [];
  for (const out of outputs) {
    if (signal === "traces") {
      for (const rs of (out as TracesData).resourceSpans) {
        for (const ss of rs.scopeSpans) {
          for (const s of ss.spans) {
            lines.push(`${hex(s.traceId)}/${hex(s.spanId)} ${s.traceState}`);
          }
        }
      }
    } else {
      for (const rl of (out as LogsData).resourceLogs) {
        for (const sl of rl.scopeLogs) {
          for (const r of sl.logRecords) {
            const attrs = r.attributes.map((a) =>
              `${a.key}=${a.value instanceof Uint8Array ? hex(a.value) : String(a.value)}`
            ).sort().join(",");
            lines.push(`${String(r.body)} ${hex(r.traceId)} ${attrs}`);
          }
        }
      }
    }
  }
  return lines.sort();
}

async function runTfo(c: Case, i: number): Promise<(TracesData | LogsData)[]> {
  const out: (TracesData | LogsData)[] = [];
  const processor = createProbabilisticSampler(
    probabilisticSamplerConfigSchema.parse(c.config),
    c.signal,
    {
      mutatesData: false,
      consume: (p: Payload<Signal>) => {
        out.push(p.read() as TracesData | LogsData);
        return Promise.resolve();
      },
    },
    new MetricRegistry().meter(),
  );
  await processor.consume(Payload.of(c.signal, input(c, i)) as Payload<typeof c.signal>);
  return out;
}

Deno.test({
  name: "probabilistic sampler keeps the same items as the contrib Collector in every mode",
  ignore: !HAS_CONTRIB,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const contribCases: ContribCase[] = CASES.map((c, i) => ({
      signal: c.signal,
      processor: "probabilistic_sampler",
      config: c.config,
      requests: [input(c, i)],
    }));
    const theirs = await runContrib(contribCases);
    let failed = 0;
    for (const [i, c] of CASES.entries()) {
      const ok = await t.step(`${c.signal}: ${c.name}`, async () => {
        const ours = kept(c.signal, await runTfo(c, i));
        const expected = kept(c.signal, theirs[i]!);
        assert.deepStrictEqual(ours, expected);
        if (c.config.sampling_percentage !== 0) {
          assert.ok(expected.length > 0, "the case keeps something");
        }
      });
      if (!ok) failed++;
    }
    assert.equal(failed, 0, `${failed} of ${CASES.length} cases differ`);
  },
});
