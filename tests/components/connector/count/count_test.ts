/**
 * The `count` connector: defaults per section, counting by attributes, conditions, refusals.
 */
import assert from "node:assert/strict";
import { countConfigSchema } from "../../../../components/connector/count/config.ts";
import { createCountConnector } from "../../../../components/connector/count/factory.ts";
import { isPermanent } from "../../../../lib/consumer/consumer.ts";
import { Payload } from "../../../../lib/pdata/payload.ts";
import { newLogRecord } from "../../../../lib/pdata/new.ts";
import type { LogsData, MetricsData, NumberDataPoint } from "../../../../lib/pdata/types.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

function logs(records: { sev: number; attrs?: Record<string, string> }[]): LogsData {
  return {
    resourceLogs: [{
      resource: { attributes: [{ key: "service.name", value: "a" }], droppedAttributesCount: 0 },
      scopeLogs: [{
        scope: { name: "s", version: "", attributes: [], droppedAttributesCount: 0 },
        logRecords: records.map((r, i) =>
          newLogRecord({
            timeUnixNano: BigInt(100 + i),
            severityNumber: r.sev,
            attributes: Object.entries(r.attrs ?? {}).map(([key, value]) => ({ key, value })),
          })
        ),
        schemaUrl: "",
      }],
      schemaUrl: "",
    }],
  };
}

function setup(config: unknown) {
  const out: MetricsData[] = [];
  const c = createCountConnector(countConfigSchema.parse(config), ["logs", "traces"], {
    mutatesData: false,
    consume: (p) => {
      out.push(p.read());
      return Promise.resolve();
    },
  }, { now: () => 42n });
  return { out, send: (d: LogsData) => c.consumers.logs!.consume(Payload.of("logs", d)) };
}

function points(m: MetricsData, name: string): NumberDataPoint[] {
  const metric = m.resourceMetrics[0]!.scopeMetrics[0]!.metrics.find((x) => x.name === name);
  assert.equal(metric?.data?.type, "sum");
  return metric.data.dataPoints;
}

Deno.test("count counts log records by default into a delta sum spanning their timestamps", async () => {
  const { out, send } = setup({});
  await send(logs([{ sev: 9 }, { sev: 17 }, { sev: 13 }]));
  const [p] = points(out[0]!, "log.record.count");
  assert.equal(p!.value, 3n);
  assert.equal(p!.startTimeUnixNano, 100n);
  assert.equal(p!.timeUnixNano, 102n);
  const m = out[0]!.resourceMetrics[0]!.scopeMetrics[0]!.metrics[0]!;
  assert.equal(m.description, "The number of log records observed.");
  assert.deepEqual(m.data?.type === "sum" && [m.data.aggregationTemporality, m.data.isMonotonic], [
    1,
    true,
  ]);
});

Deno.test("count replaces a section's default, counts by attributes with defaults and skips items missing one", async () => {
  const { out, send } = setup({
    logs: {
      "by.user": {
        attributes: [{ key: "user" }, { key: "team", default_value: "none" }],
        conditions: ["severity_number >= 13"],
      },
    },
  });
  await send(logs([
    { sev: 13, attrs: { user: "u1" } },
    { sev: 17, attrs: { user: "u1", team: "t" } },
    { sev: 17, attrs: { user: "u1" } },
    { sev: 9, attrs: { user: "u1" } },
    { sev: 17 },
  ]));
  const ps = points(out[0]!, "by.user");
  assert.equal(out[0]!.resourceMetrics[0]!.scopeMetrics[0]!.metrics.length, 1);
  const get = (team: string) =>
    ps.find((p) => p.attributes.some((kv) => kv.key === "team" && kv.value === team))?.value;
  assert.equal(get("none"), 2n);
  assert.equal(get("t"), 1n);
});

Deno.test("count sends nothing when nothing matched", async () => {
  const { out, send } = setup({ logs: { x: { conditions: ["severity_number > 100"] } } });
  await send(logs([{ sev: 9 }]));
  assert.equal(out.length, 0);
});

Deno.test("count refuses a payload permanently when a condition fails to evaluate", async () => {
  const { out, send } = setup({
    logs: { x: { conditions: ['IsMatch(ToLowerCase(attributes["missing"]), "x")'] } },
  });
  const data = logs([{ sev: 9 }]);
  data.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!.body = { kvlist: [] };
  await assert.rejects(send(data), (e) => isPermanent(e));
  assert.equal(out.length, 0);
});

Deno.test("count config: conditions, attributes and names are checked with their paths", () => {
  const issues = (c: unknown) => {
    const r = countConfigSchema.safeParse(c);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
  };
  assert.deepEqual(issues({}), []);
  assert.match(issues({ spans: { x: { conditions: ["nope("] } } })[0]!, /^spans\.x\.conditions\.0/);
  assert.match(issues({ metrics: { x: { attributes: [{ key: "a" }] } } })[0]!, /not supported/);
  assert.match(issues({ logs: { x: { attributes: [{ key: "" }] } } })[0]!, /key missing/);
  assert.match(issues({ profiles: {} })[0]!, /profiles|Unrecognized/);
  const d = countConfigSchema.parse({});
  assert.deepEqual(Object.keys(d.spans), ["trace.span.count"]);
  assert.deepEqual(Object.keys(d.datapoints), ["metric.datapoint.count"]);
});
