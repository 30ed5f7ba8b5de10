import assert from "node:assert/strict";
import { filterConfigSchema } from "../../../../components/processor/filter/config.ts";
import { createFilterProcessor } from "../../../../components/processor/filter/factory.ts";
import { Payload } from "../../../../lib/pdata/payload.ts";
import type { Signal, SignalData } from "../../../../lib/pdata/types.ts";
import { NOOP_LOGGER } from "../../../../lib/telemetry/logger.ts";
import {
  countTracesItems,
  encodeLogsRequest,
  encodeTracesRequest,
  LOGS_PROTO,
  TRACES_PROTO,
} from "../../../../lib/otlp/mod.ts";
import { logs, metrics, traces } from "../transform/_diff_data.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

function sink<S extends Signal>() {
  const got: SignalData[S][] = [];
  return {
    got,
    consumer: {
      mutatesData: false,
      consume: (p: Payload<S>) => {
        got.push(p.read());
        return Promise.resolve();
      },
    },
  };
}

async function filter<S extends Signal>(signal: S, data: SignalData[S], config: unknown) {
  const s = sink<S>();
  const p = createFilterProcessor(filterConfigSchema.parse(config), signal, s.consumer, {
    logger: NOOP_LOGGER,
  });
  await p.consume(Payload.of(signal, data));
  return s.got;
}

Deno.test("filter drops matching spans and removes the containers left empty", async () => {
  const got = await filter("traces", traces(), {
    traces: {
      span: ['resource.attributes["service.name"] == "internal"', 'span.name == "health"'],
    },
  });
  assert.equal(got.length, 1);
  assert.equal(got[0]!.resourceSpans.length, 1, "the internal resource is gone");
  assert.deepEqual(got[0]!.resourceSpans[0]!.scopeSpans[0]!.spans.map((s) => s.name), [
    "GET /users/123",
    "db query",
  ]);
});

Deno.test("filter drops span events but keeps their span", async () => {
  const got = await filter("traces", traces(), { traces: { spanevent: ['name == "debug"'] } });
  const span = got[0]!.resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
  assert.deepEqual(span.events.map((e) => e.name), ["exception"]);
});

Deno.test("filter drops data points and metrics left without points", async () => {
  const got = await filter("metrics", metrics(), {
    metrics: {
      metric: ['IsMatch(name, "^otelcol_")'],
      datapoint: ['attributes["internal"] == true', 'metric.name == "latency"'],
    },
  });
  const ms = got[0]!.resourceMetrics[0]!.scopeMetrics[0]!.metrics;
  assert.deepEqual(ms.map((m) => m.name), ["http.server.duration", "requests"]);
  assert.equal(ms[1]!.data!.dataPoints.length, 2);
});

Deno.test("a payload filtered to nothing is not sent on", async () => {
  const got = await filter("logs", logs(), { logs: { log_record: ["true"] } });
  assert.equal(got.length, 0);
});

Deno.test("legacy include/exclude blocks select spans, metrics and logs", async () => {
  const spans = await filter("traces", traces(), {
    spans: { exclude: { match_type: "regexp", span_names: ["^db", "^health"] } },
  });
  assert.deepEqual(
    spans[0]!.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans.map((x) => x.name))),
    ["GET /users/123", "tick"],
  );
  const ms = await filter("metrics", metrics(), {
    metrics: { include: { match_type: "strict", metric_names: ["requests"] } },
  });
  assert.deepEqual(ms[0]!.resourceMetrics[0]!.scopeMetrics[0]!.metrics.map((m) => m.name), [
    "requests",
  ]);
  const ls = await filter("logs", logs(), {
    logs: { exclude: { match_type: "strict", severity_texts: ["DEBUG"] } },
  });
  assert.equal(ls[0]!.resourceLogs[0]!.scopeLogs[0]!.logRecords.length, 4);
});

Deno.test("a failing condition follows error_mode: ignore keeps the item, propagate fails", async () => {
  const cond = { logs: { log_record: ['Substring(log.body, 0, 1000) == "x"'] } };
  const kept = await filter("logs", logs(), { error_mode: "ignore", ...cond });
  assert.equal(kept[0]!.resourceLogs[0]!.scopeLogs[0]!.logRecords.length, 5);
  await assert.rejects(filter("logs", logs(), cond), (e: Error) => e.name === "PermanentError");
});

Deno.test("filter config: conditions are compiled at validation, blocks checked", () => {
  const bad = filterConfigSchema.safeParse({ traces: { span: ["name == "] } });
  assert.equal(bad.success, false);
  if (!bad.success) {
    const issue = bad.error.issues[0]!;
    assert.deepEqual(issue.path, ["traces", "span", 0]);
    assert.equal((issue as { params?: { offset?: number } }).params?.offset, 8);
  }
  assert.equal(
    filterConfigSchema.safeParse({
      metrics: { include: { match_type: "regexp", metric_names: ["("] } },
    }).success,
    false,
  );
  assert.equal(filterConfigSchema.safeParse({ logs: { log: [] } }).success, false);
});

Deno.test("filter keeps the encoded form of a payload it removes nothing from, and drops it when it removes anything", async () => {
  const passed: Payload<"traces">[] = [];
  const p = createFilterProcessor(
    filterConfigSchema.parse({ traces: { span: ['span.name == "health"'] } }),
    "traces",
    {
      mutatesData: false,
      consume: (payload: Payload<"traces">) => {
        passed.push(payload);
        return Promise.resolve();
      },
    },
    { logger: NOOP_LOGGER },
  );
  const keepAll = traces();
  for (const rs of keepAll.resourceSpans) {
    for (const ss of rs.scopeSpans) ss.spans = ss.spans.filter((s) => s.name !== "health");
  }
  const bytes = encodeTracesRequest(keepAll);
  const items = countTracesItems(bytes);
  await p.consume(Payload.fromProto("traces", bytes, TRACES_PROTO));
  assert.equal(passed.length, 1);
  assert.equal(passed[0]!.encodedProto, bytes, "the bytes it came with, not a new encoding");
  assert.equal(passed[0]!.itemCount, items);

  const withHealth = encodeTracesRequest(traces());
  await p.consume(Payload.fromProto("traces", withHealth, TRACES_PROTO));
  assert.equal(passed.length, 2);
  assert.equal(passed[1]!.encodedProto, undefined, "changed data has no encoded form left");
  assert.equal(passed[1]!.itemCount, countTracesItems(withHealth) - 1);
  const names = passed[1]!.read().resourceSpans.flatMap((rs) =>
    rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => s.name))
  );
  assert.ok(!names.includes("health"));
});

Deno.test("filter removing an empty container counts as a change", async () => {
  const passed: Payload<"logs">[] = [];
  const p = createFilterProcessor(
    filterConfigSchema.parse({ logs: { log_record: ['log.body == "never"'] } }),
    "logs",
    {
      mutatesData: false,
      consume: (payload: Payload<"logs">) => {
        passed.push(payload);
        return Promise.resolve();
      },
    },
    { logger: NOOP_LOGGER },
  );
  const data = logs();
  const scope = data.resourceLogs[0]!.scopeLogs[0]!;
  data.resourceLogs[0]!.scopeLogs.push({ ...scope, logRecords: [] });
  const bytes = encodeLogsRequest(data);
  await p.consume(Payload.fromProto("logs", bytes, LOGS_PROTO));
  assert.equal(passed.length, 1);
  assert.equal(passed[0]!.encodedProto, undefined);
  assert.equal(
    passed[0]!.read().resourceLogs[0]!.scopeLogs.length,
    data.resourceLogs[0]!.scopeLogs.length - 1,
  );
});
