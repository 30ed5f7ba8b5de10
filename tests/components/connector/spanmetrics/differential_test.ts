/**
 * Differential test: the same traces through tfo's `span_metrics` connector and through the
 * Collector contrib v0.161.0's, with the same config: the same metric series and values (timestamps
 * and the collector instance ID normalized). Skipped, by name, when the peer binary is absent.
 */
import assert from "node:assert/strict";
import { spanmetricsConfigSchema } from "../../../../components/connector/spanmetrics/config.ts";
import { createSpanmetricsConnector } from "../../../../components/connector/spanmetrics/factory.ts";
import { OTLP_SIGNALS } from "../../../../lib/otlp/signals.ts";
import { Payload } from "../../../../lib/pdata/payload.ts";
import { newSpan } from "../../../../lib/pdata/new.ts";
import type { MetricsData, TracesData } from "../../../../lib/pdata/types.ts";
import { FakeClock } from "../../../fixtures/fake_clock.ts";
import { comparable, type ConnectorCase, HAS_CONTRIB, runContrib } from "../_contrib_diff.ts";
import { id, mixedTraces } from "../_span_data.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

const MS = 1_000_000n;
const BASE = 1_700_000_000_000n * MS;

/** Many distinct values of one attribute, for the cardinality limit. */
function manyUsers(): TracesData {
  const data = mixedTraces();
  const spans = data.resourceSpans[0]!.scopeSpans[0]!.spans;
  for (let i = 0; i < 200; i++) {
    spans.push(newSpan({
      traceId: id(5000 + i, 16),
      spanId: id(6000 + i, 8),
      name: "op",
      kind: 2,
      startTimeUnixNano: BASE,
      endTimeUnixNano: BASE + BigInt(i + 1) * MS,
      attributes: [{ key: "user.id", value: `u${i % 150}` }],
    }));
  }
  return data;
}

const DELTA = { aggregation_temporality: "AGGREGATION_TEMPORALITY_DELTA" };
const FLUSH = { metrics_flush_interval: "1s" };

const CASES: ConnectorCase[] = [
  { name: "defaults (delta)", signal: "traces", config: { ...FLUSH, ...DELTA }, data: mixedTraces },
  {
    name: "defaults (cumulative, second export)",
    signal: "traces",
    config: { ...FLUSH },
    data: mixedTraces,
    exports: 3,
  },
  {
    name:
      "named dimensions with defaults, calls and histogram dimensions, seconds, explicit buckets",
    signal: "traces",
    config: {
      ...FLUSH,
      ...DELTA,
      dimensions: [{ name: "http.method", default: "NONE" }, { name: "host.name" }, {
        name: "missing",
        default: "dflt",
      }],
      calls_dimensions: [{ name: "http.status_code" }],
      histogram: {
        unit: "s",
        explicit: { buckets: ["5ms", "50ms", "500ms", "1s", "2500ms", "10s"] },
        dimensions: [{ name: "db.system" }],
      },
    },
    data: mixedTraces,
  },
  {
    name: "glob dimensions and exclude_dimensions",
    signal: "traces",
    config: {
      ...FLUSH,
      ...DELTA,
      dimensions: [{ glob: "http.*" }, { glob: "deployment.*" }],
      exclude_dimensions: ["span.kind", "status.code"],
    },
    data: mixedTraces,
  },
  {
    name: "exponential histogram",
    signal: "traces",
    config: { ...FLUSH, ...DELTA, histogram: { exponential: { max_size: 20 } } },
    data: mixedTraces,
  },
  {
    name: "exponential histogram, default size, cumulative",
    signal: "traces",
    config: { ...FLUSH, histogram: { unit: "s", exponential: {} } },
    data: mixedTraces,
    exports: 3,
  },
  {
    name: "events, namespace, resource_metrics_key_attributes",
    signal: "traces",
    config: {
      ...FLUSH,
      ...DELTA,
      namespace: "my.ns",
      resource_metrics_key_attributes: ["host.name"],
      events: { enabled: true, dimensions: [{ name: "exception.type" }] },
    },
    data: mixedTraces,
  },
  {
    name: "exemplars",
    signal: "traces",
    config: { ...FLUSH, ...DELTA, exemplars: { enabled: true, max_per_data_point: 3 } },
    data: mixedTraces,
  },
  {
    name: "aggregation_cardinality_limit",
    signal: "traces",
    config: {
      ...FLUSH,
      ...DELTA,
      dimensions: [{ name: "user.id" }],
      aggregation_cardinality_limit: 40,
    },
    data: manyUsers,
  },
  {
    name: "include_instrumentation_scope, histogram disabled",
    signal: "traces",
    config: {
      ...FLUSH,
      ...DELTA,
      include_instrumentation_scope: ["io.opentelemetry.http"],
      histogram: { disable: true },
    },
    data: mixedTraces,
  },
];

/** tfo's last non-empty export for one case, on fake time. */
async function runTfo(c: ConnectorCase): Promise<MetricsData | undefined> {
  const clock = new FakeClock();
  const out: MetricsData[] = [];
  const connector = createSpanmetricsConnector(
    spanmetricsConfigSchema.parse(c.config),
    {
      mutatesData: false,
      consume: (p) => {
        out.push(p.read());
        return Promise.resolve();
      },
    },
    // Thresholds in the data divide 2^56 exactly, so rounding never draws.
    { clock, random: () => 0.5 },
  );
  await connector.start({} as never);
  // Encoded, as a receiver hands it on: configs without globs and events take the pruned read.
  const bytes = OTLP_SIGNALS.traces.encodeProto(c.data() as TracesData);
  await connector.consumers.traces!.consume(
    Payload.fromProto("traces", bytes, OTLP_SIGNALS.traces.proto),
  );
  for (let i = 0; i < (c.exports ?? 1); i++) await clock.advance(1000);
  clock.clearTimer(undefined);
  const last = out.at(-1);
  await connector.shutdown();
  return last;
}

Deno.test({
  name: "span_metrics gives the Collector's series and values for every differential case",
  ignore: !HAS_CONTRIB,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const theirs = await runContrib("span_metrics", CASES);
    let failed = 0;
    for (const [i, c] of CASES.entries()) {
      const ok = await t.step(c.name, async () => {
        const mine = await runTfo(c);
        const peer = theirs.results[i];
        assert.ok(peer !== undefined, `the Collector exported nothing:\n${theirs.stderr}`);
        assert.ok(mine !== undefined, "tfo exported nothing");
        assert.deepStrictEqual(comparable(mine), comparable(peer));
      });
      if (!ok) failed++;
    }
    assert.equal(failed, 0, `${failed} of ${CASES.length} cases differ`);
  },
});
