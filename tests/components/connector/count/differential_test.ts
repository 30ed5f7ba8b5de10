/**
 * Differential test: the same traces, metrics and logs through tfo's `count` connector and the
 * Collector contrib v0.161.0's, with the same configs (defaults, OTTL conditions, attributes with
 * defaults): the same counts per resource and attribute set. Skipped, by name, when the peer binary
 * is absent.
 */
import assert from "node:assert/strict";
import { countConfigSchema } from "../../../../components/connector/count/config.ts";
import { createCountConnector } from "../../../../components/connector/count/factory.ts";
import { Payload } from "../../../../lib/pdata/payload.ts";
import { newLogRecord, newNumberDataPoint } from "../../../../lib/pdata/new.ts";
import type { LogsData, MetricsData, Signal, SignalData } from "../../../../lib/pdata/types.ts";
import { comparable, type ConnectorCase, HAS_CONTRIB, runContrib } from "../_contrib_diff.ts";
import { mixedTraces } from "../_span_data.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

const MS = 1_000_000n;
const BASE = 1_700_000_000_000n * MS;

function someMetrics(): MetricsData {
  const resourceMetrics = ["api", "db"].map((service, r) => ({
    resource: {
      attributes: [{ key: "service.name", value: service }, { key: "region", value: `r${r}` }],
      droppedAttributesCount: 0,
    },
    scopeMetrics: [{
      scope: {
        name: "meter",
        version: "1",
        attributes: [{ key: "scope.kind", value: "auto" }],
        droppedAttributesCount: 0,
      },
      metrics: [
        {
          name: "http.requests",
          description: "",
          unit: "1",
          metadata: [],
          data: {
            type: "sum" as const,
            isMonotonic: true,
            aggregationTemporality: 2,
            dataPoints: [0, 1, 2, 3, 4].map((i) =>
              newNumberDataPoint({
                timeUnixNano: BASE + BigInt(i) * MS,
                value: BigInt(i * 10),
                attributes: [
                  { key: "method", value: i % 2 === 0 ? "GET" : "POST" },
                  ...(i === 3 ? [{ key: "region", value: "override" }] : []),
                ],
              })
            ),
          },
        },
        {
          name: "cpu.load",
          description: "",
          unit: "",
          metadata: [],
          data: {
            type: "gauge" as const,
            dataPoints: [0.5, 2.5, 7.25].map((v, i) =>
              newNumberDataPoint({ timeUnixNano: BASE + BigInt(i + 10) * MS, value: v })
            ),
          },
        },
      ],
      schemaUrl: "",
    }],
    schemaUrl: "",
  }));
  return { resourceMetrics };
}

function someLogs(): LogsData {
  const resourceLogs = ["api", "worker"].map((service, r) => ({
    resource: { attributes: [{ key: "service.name", value: service }], droppedAttributesCount: 0 },
    scopeLogs: [{
      scope: { name: "log", version: "", attributes: [], droppedAttributesCount: 0 },
      logRecords: Array.from({ length: 12 }, (_, i) =>
        newLogRecord({
          timeUnixNano: i === 5 ? 0n : BASE + BigInt(i * 3 + r) * MS,
          severityNumber: [9, 13, 17][i % 3]!,
          severityText: ["INFO", "WARN", "ERROR"][i % 3]!,
          body: `line ${i}`,
          attributes: i % 4 === 0 ? [] : [{ key: "level", value: ["info", "warn"][i % 2]! }, {
            key: "code",
            value: BigInt(i % 3),
          }],
        })),
      schemaUrl: "",
    }],
    schemaUrl: "",
  }));
  return { resourceLogs };
}

const CASES: ConnectorCase[] = [
  { name: "traces: defaults", signal: "traces", config: {}, data: mixedTraces },
  { name: "metrics: defaults", signal: "metrics", config: {}, data: someMetrics },
  { name: "logs: defaults", signal: "logs", config: {}, data: someLogs },
  {
    name: "traces: conditions and attributes with defaults",
    signal: "traces",
    config: {
      spans: {
        "span.error.count": {
          description: "errors",
          conditions: ["status.code == STATUS_CODE_ERROR", 'attributes["http.method"] == "PUT"'],
          attributes: [{ key: "service.name" }, { key: "db.system", default_value: "none" }],
        },
        "span.server.count": {
          conditions: ["kind == SPAN_KIND_SERVER"],
          attributes: [{ key: "http.status_code" }],
        },
      },
      spanevents: {
        "event.exception.count": {
          conditions: ['name == "exception"'],
          attributes: [{ key: "exception.type" }, { key: "host.name" }],
        },
      },
    },
    data: mixedTraces,
  },
  {
    name: "metrics: metric and data point conditions, scope and resource attributes",
    signal: "metrics",
    config: {
      metrics: { "sum.count": { conditions: ["type == METRIC_DATA_TYPE_SUM"] } },
      datapoints: {
        "point.count": {
          attributes: [{ key: "method", default_value: "none" }, { key: "region" }, {
            key: "scope.kind",
          }],
        },
        "big.count": { conditions: ["value_int > 15", "value_double > 2.0"] },
      },
    },
    data: someMetrics,
  },
  {
    name: "logs: severity conditions, attributes that some records lack",
    signal: "logs",
    config: {
      logs: {
        "warn.count": { conditions: ["severity_number >= SEVERITY_NUMBER_WARN"] },
        "by.level": { attributes: [{ key: "level" }, { key: "code", default_value: 99 }] },
      },
    },
    data: someLogs,
  },
];

async function runTfo(c: ConnectorCase): Promise<MetricsData | undefined> {
  const out: MetricsData[] = [];
  const connector = createCountConnector(
    countConfigSchema.parse(c.config),
    [c.signal],
    {
      mutatesData: false,
      consume: (p) => {
        out.push(p.read());
        return Promise.resolve();
      },
    },
  );
  const consumer = connector.consumers[c.signal] as {
    consume(p: Payload<Signal>): Promise<void>;
  };
  await consumer.consume(Payload.of(c.signal, c.data() as SignalData[Signal]));
  return out.at(-1);
}

Deno.test({
  name: "count gives the Collector's counts for every differential case",
  ignore: !HAS_CONTRIB,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const theirs = await runContrib("count", CASES);
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
