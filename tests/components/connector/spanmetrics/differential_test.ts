/**
 * Differential test: the same traces through tfo's `span_metrics` connector and through the
 * Collector contrib v0.161.0's, with the same config: the same metric series and values (timestamps
 * and the collector instance ID normalized). Skipped, by name, when the peer binary is absent.
 */
import assert from "node:assert/strict";
import { spanmetricsConfigSchema } from "../../../../components/connector/spanmetrics/config.ts";
import { createSpanmetricsConnector } from "../../../../components/connector/spanmetrics/factory.ts";
import { Payload } from "../../../../lib/pdata/payload.ts";
import { newSpan, newSpanEvent } from "../../../../lib/pdata/new.ts";
import type {
  KeyValue,
  MetricsData,
  ResourceSpans,
  Span,
  TracesData,
} from "../../../../lib/pdata/types.ts";
import { FakeClock } from "../../../fixtures/fake_clock.ts";
import { comparable, type ConnectorCase, HAS_CONTRIB, runContrib } from "../_contrib_diff.ts";

const MS = 1_000_000n;
const BASE = 1_700_000_000_000n * MS;

function id(n: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (n * 31 + i * 7 + 1) & 0xff;
  return out;
}

/** A deterministic mix: services, kinds, statuses, attributes, events, sampled spans. */
export function mixedTraces(): TracesData {
  const resources: ResourceSpans[] = [];
  const services = ["checkout", "cart", "payment"];
  for (const [r, service] of services.entries()) {
    const spans: Span[] = [];
    for (let i = 0; i < 60; i++) {
      const attributes: KeyValue[] = [
        { key: "http.method", value: ["GET", "POST", "PUT"][i % 3]! },
        { key: "http.status_code", value: BigInt([200, 404, 500, 201][i % 4]!) },
      ];
      if (i % 5 === 0) attributes.push({ key: "db.system", value: "postgresql" });
      if (i % 7 === 0) attributes.push({ key: "http.route", value: `/r/${i % 2}` });
      const durationNs = BigInt([1, 3, 7, 12, 45, 180, 950, 1300, 4200, 16000][i % 10]!) * MS +
        BigInt(i * 1013);
      const start = BASE + BigInt(i) * 10n * MS;
      spans.push(newSpan({
        traceId: id(r * 100 + i, 16),
        spanId: id(r * 100 + i + 7, 8),
        name: ["GET /cart", "POST /pay", "SELECT", "render"][i % 4]!,
        kind: i % 6,
        status: { code: i % 9 === 0 ? 2 : i % 4 === 0 ? 1 : 0, message: "" },
        startTimeUnixNano: start,
        // One span ends before it starts: the Collector counts its duration as 0.
        endTimeUnixNano: i === 13 ? start - MS : start + durationNs,
        traceState: i % 11 === 0 ? "ot=th:8" : i % 13 === 0 ? "ot=th:c;rv:abcdef12345678" : "",
        attributes,
        events: i % 4 === 1
          ? [
            newSpanEvent({
              name: "exception",
              timeUnixNano: start,
              attributes: [{ key: "exception.type", value: i % 8 === 1 ? "IOError" : "Timeout" }],
            }),
            newSpanEvent({ name: "log", timeUnixNano: start, attributes: [] }),
          ]
          : [],
      }));
    }
    resources.push({
      resource: {
        attributes: [
          { key: "service.name", value: service },
          { key: "host.name", value: `host-${r % 2}` },
          { key: "deployment.environment", value: "prod" },
        ],
        droppedAttributesCount: 0,
      },
      scopeSpans: [
        {
          scope: {
            name: "io.opentelemetry.http",
            version: "1.2",
            attributes: [],
            droppedAttributesCount: 0,
          },
          spans: spans.slice(0, 30),
          schemaUrl: "",
        },
        {
          scope: { name: "db", version: "", attributes: [], droppedAttributesCount: 0 },
          spans: spans.slice(30),
          schemaUrl: "",
        },
      ],
      schemaUrl: "",
    });
  }
  // A resource without service.name: skipped by both.
  resources.push({
    resource: { attributes: [{ key: "host.name", value: "lonely" }], droppedAttributesCount: 0 },
    scopeSpans: [{
      scope: { name: "x", version: "", attributes: [], droppedAttributesCount: 0 },
      spans: [newSpan({ name: "orphan", startTimeUnixNano: BASE, endTimeUnixNano: BASE + MS })],
      schemaUrl: "",
    }],
    schemaUrl: "",
  });
  return { resourceSpans: resources };
}

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
  await connector.consumers.traces!.consume(Payload.of("traces", c.data() as TracesData));
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
