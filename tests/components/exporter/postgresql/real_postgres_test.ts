/**
 * The postgresql exporter against a real PostgreSQL 15 (a throwaway cluster per test, started as
 * the `postgres` user on a free loopback port; see tests/fixtures/postgres.ts):
 *
 * 1. The OpenTelemetry JS SDK's spans, metrics (every type) and logs, sent to tfo twice through
 *    two receivers whose pipelines stamp different tenants, read back with SQL per tenant: IDs,
 *    nanosecond timestamps, attributes, events, links, histogram buckets equal what was sent.
 * 2. Over TLS with SCRAM authentication, the server's certificate trusted through `ca_file`.
 *
 * Skipped, saying why, when PostgreSQL cannot be had.
 */
import assert from "node:assert/strict";
import { makeLogs, makeMetrics, makeSpans, sdkExport } from "../../../fixtures/interop/sdk_data.ts";
import { startService, waitFor } from "../../../fixtures/interop/services.ts";
import {
  POSTGRES_MISSING,
  POSTGRES_PASSWORD,
  type PostgresCluster,
  startPostgres,
} from "../../../fixtures/postgres.ts";
import type { MetricsData } from "../../../../lib/pdata/types.ts";
import { attributesOf, hexOf, jsonOf } from "./_expect.ts";

if (POSTGRES_MISSING !== undefined) {
  console.log(`real_postgres_test: skipped: ${POSTGRES_MISSING}`);
}

const TENANTS = ["tenant-a", "tenant-b"] as const;

function tfoYaml(cluster: PostgresCluster, tls: string): string {
  const lines = [
    "receivers:",
    "  otlp/a: { protocols: { http: { endpoint: 127.0.0.1:0 } } }",
    "  otlp/b: { protocols: { http: { endpoint: 127.0.0.1:0 } } }",
    "processors:",
  ];
  for (const [i, tenant] of TENANTS.entries()) {
    const name = i === 0 ? "a" : "b";
    lines.push(
      `  resource/${name}:`,
      "    attributes:",
      `      - { action: insert, key: telemetryflow.tenant.id, value: ${tenant} }`,
      `      - { action: insert, key: telemetryflow.workspace.id, value: ws-${name} }`,
    );
  }
  lines.push(
    "exporters:",
    "  postgresql:",
    `    endpoint: 127.0.0.1:${cluster.port}`,
    "    database: tfo",
    "    username: tfo",
    `    password: ${POSTGRES_PASSWORD}`,
    "    schema: telemetry",
    `    tls: ${tls}`,
    "    timeout: 30s",
    "    retry_on_failure: { initial_interval: 100ms, max_interval: 500ms, max_elapsed_time: 0s }",
    "    sending_queue: { batch: { flush_timeout: 100ms } }",
    "service:",
    "  pipelines:",
  );
  for (const signal of ["traces", "metrics", "logs"]) {
    for (const name of ["a", "b"]) {
      lines.push(
        `    ${signal}/${name}: { receivers: [otlp/${name}], processors: [resource/${name}], ` +
          "exporters: [postgresql] }",
      );
    }
  }
  return lines.join("\n");
}

/** Rows of a query as JSON objects (bigint columns should be cast to text by the query). */
async function rows(cluster: PostgresCluster, sql: string): Promise<Record<string, unknown>[]> {
  const lines = await cluster.psql(`SELECT coalesce(json_agg(q), '[]') FROM (${sql}) q`);
  return JSON.parse(lines.join("\n")) as Record<string, unknown>[];
}

/** Whether two JSON values are equal, whatever the order of object keys. */
function sameJson(a: unknown, b: unknown): boolean {
  try {
    assert.deepEqual(a, b);
    return true;
  } catch {
    return false;
  }
}

function withTenant(attrs: Record<string, unknown>, tenant: string): Record<string, unknown> {
  return {
    ...attrs,
    "telemetryflow.tenant.id": tenant,
    "telemetryflow.workspace.id": `ws-${tenant.slice(-1)}`,
  };
}

async function roundTrip(
  cluster: PostgresCluster,
  tls: string,
  whileRunning: () => Promise<void> = () => Promise.resolve(),
): Promise<void> {
  const [spans, metrics, logs] = await Promise.all([makeSpans(), makeMetrics(), makeLogs()]);
  await using tfo = await startService(tfoYaml(cluster, tls));
  for (const [i] of TENANTS.entries()) {
    const port = tfo.port(i === 0 ? "otlp/a" : "otlp/b", "http");
    const to = { httpBase: `http://127.0.0.1:${port}`, grpcAddress: `127.0.0.1:${port}` };
    for (const batch of [spans, metrics, logs]) await sdkExport(batch, "http/protobuf", to);
  }
  const expectedSpans = spans.expected.resourceSpans.flatMap((rs) =>
    rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => ({ rs, ss, s })))
  );
  const expectedLogs = logs.expected.resourceLogs.flatMap((rl) =>
    rl.scopeLogs.flatMap((sl) => sl.logRecords.map((r) => ({ rl, sl, r })))
  );
  await waitFor(
    "every span and log record in PostgreSQL",
    async () => {
      const [count] = await cluster.psql(
        "SELECT (SELECT count(*) FROM telemetry.otel_traces) + " +
          "(SELECT count(*) FROM telemetry.otel_logs)",
      ).catch(() => ["0"]);
      return Number(count) === 2 * (expectedSpans.length + expectedLogs.length);
    },
    90_000,
    200,
  );

  for (const tenant of TENANTS) {
    // Spans.
    const got = await rows(
      cluster,
      `SELECT encode(trace_id, 'hex') AS trace_id, encode(span_id, 'hex') AS span_id,
              encode(parent_span_id, 'hex') AS parent_span_id, trace_state, flags, name, kind,
              start_time_unix_nano::text AS start, end_time_unix_nano::text AS "end",
              duration_nano::text AS duration, status_code, status_message, attributes,
              dropped_attributes_count, events, dropped_events_count, links, dropped_links_count,
              resource_attributes, scope_name, scope_version, service_name, workspace_id,
              (extract(epoch FROM time) * 1000000)::bigint::text AS time_us
         FROM telemetry.otel_traces WHERE tenant_id = '${tenant}'`,
    );
    assert.equal(got.length, expectedSpans.length, `${tenant}: every span once`);
    for (const { rs, ss, s } of expectedSpans) {
      const row = got.find((r) => r.span_id === hexOf(s.spanId));
      assert.ok(row !== undefined, `${tenant}: span ${s.name} is there`);
      assert.deepEqual(row, {
        trace_id: hexOf(s.traceId),
        span_id: hexOf(s.spanId),
        parent_span_id: hexOf(s.parentSpanId),
        trace_state: s.traceState,
        flags: s.flags,
        name: s.name,
        kind: s.kind,
        start: String(s.startTimeUnixNano),
        end: String(s.endTimeUnixNano),
        duration: String(s.endTimeUnixNano - s.startTimeUnixNano),
        status_code: s.status.code,
        status_message: s.status.message,
        attributes: attributesOf(s.attributes),
        dropped_attributes_count: s.droppedAttributesCount,
        events: s.events.map((e) => ({
          time_unix_nano: Number(e.timeUnixNano),
          name: e.name,
          attributes: attributesOf(e.attributes),
          dropped_attributes_count: e.droppedAttributesCount,
        })),
        dropped_events_count: s.droppedEventsCount,
        links: s.links.map((l) => ({
          trace_id: hexOf(l.traceId),
          span_id: hexOf(l.spanId),
          trace_state: l.traceState,
          attributes: attributesOf(l.attributes),
          dropped_attributes_count: l.droppedAttributesCount,
          flags: l.flags,
        })),
        dropped_links_count: s.droppedLinksCount,
        resource_attributes: withTenant(attributesOf(rs.resource.attributes), tenant),
        scope_name: ss.scope.name,
        scope_version: ss.scope.version,
        service_name: "interop-checkout",
        workspace_id: `ws-${tenant.slice(-1)}`,
        time_us: String(s.startTimeUnixNano / 1000n),
      });
    }
    // Events' nanosecond times are in the jsonb exactly (numeric keeps every digit).
    const [eventTimes] = await cluster.psql(
      `SELECT string_agg(e->>'time_unix_nano', ',' ORDER BY e->>'time_unix_nano')
         FROM telemetry.otel_traces, jsonb_array_elements(events) e WHERE tenant_id = '${tenant}'`,
    );
    assert.equal(
      eventTimes,
      expectedSpans.flatMap(({ s }) => s.events.map((e) => String(e.timeUnixNano))).sort()
        .join(","),
    );

    // Log records.
    const gotLogs = await rows(
      cluster,
      `SELECT time_unix_nano::text AS time, observed_time_unix_nano::text AS observed,
              severity_number, severity_text, body, attributes, dropped_attributes_count, flags,
              encode(trace_id, 'hex') AS trace_id, encode(span_id, 'hex') AS span_id, event_name,
              scope_name
         FROM telemetry.otel_logs WHERE tenant_id = '${tenant}'
         ORDER BY time_unix_nano, observed_time_unix_nano, severity_number`,
    );
    const wantLogs = expectedLogs.map(({ sl, r }) => ({
      time: String(r.timeUnixNano),
      observed: String(r.observedTimeUnixNano),
      severity_number: r.severityNumber,
      severity_text: r.severityText,
      body: r.body === undefined ? null : jsonOf(r.body),
      attributes: attributesOf(r.attributes),
      dropped_attributes_count: r.droppedAttributesCount,
      flags: r.flags,
      trace_id: hexOf(r.traceId),
      span_id: hexOf(r.spanId),
      event_name: r.eventName,
      scope_name: sl.scope.name,
    }));
    const sortKey = (l: { time: string; observed: string; severity_number: number }) =>
      [BigInt(l.time), BigInt(l.observed), l.severity_number] as const;
    wantLogs.sort((a, b) => {
      const [x, y] = [sortKey(a), sortKey(b)];
      return x[0] !== y[0]
        ? (x[0] < y[0] ? -1 : 1)
        : x[1] !== y[1]
        ? (x[1] < y[1] ? -1 : 1)
        : x[2] - y[2];
    });
    assert.deepEqual(gotLogs, wantLogs, `${tenant}: log records`);

    await checkMetrics(cluster, tenant, metrics.expected);
  }
  await whileRunning();
}

async function checkMetrics(
  cluster: PostgresCluster,
  tenant: string,
  expected: MetricsData,
): Promise<void> {
  const metrics = expected.resourceMetrics.flatMap((rm) =>
    rm.scopeMetrics.flatMap((sm) => sm.metrics)
  );
  const where = `WHERE tenant_id = '${tenant}'`;
  for (const m of metrics) {
    const d = m.data!;
    switch (d.type) {
      case "gauge":
      case "sum": {
        const got = await rows(
          cluster,
          `SELECT attributes, value, int_value::text AS int_value, time_unix_nano::text AS t,
                  metric_unit, metric_description ${
            d.type === "sum" ? ", aggregation_temporality, is_monotonic" : ""
          }
             FROM telemetry.otel_metrics_${d.type} ${where} AND metric_name = '${m.name}'`,
        );
        assert.equal(got.length, d.dataPoints.length, `${tenant}: ${m.name} points`);
        for (const p of d.dataPoints) {
          const row = got.find((r) => sameJson(r.attributes, attributesOf(p.attributes)));
          assert.deepEqual(row, {
            attributes: attributesOf(p.attributes),
            value: Number(p.value),
            int_value: typeof p.value === "bigint" ? String(p.value) : null,
            t: String(p.timeUnixNano),
            metric_unit: m.unit,
            metric_description: m.description,
            ...(d.type === "sum"
              ? { aggregation_temporality: d.aggregationTemporality, is_monotonic: d.isMonotonic }
              : {}),
          }, `${tenant}: ${m.name}`);
        }
        break;
      }
      case "histogram": {
        const got = await rows(
          cluster,
          `SELECT attributes, count::text AS count, sum, bucket_counts::text[] AS buckets,
                  explicit_bounds, min, max, start_time_unix_nano::text AS start
             FROM telemetry.otel_metrics_histogram ${where} AND metric_name = '${m.name}'`,
        );
        assert.equal(got.length, d.dataPoints.length);
        for (const p of d.dataPoints) {
          const row = got.find((r) => sameJson(r.attributes, attributesOf(p.attributes)));
          assert.deepEqual(row, {
            attributes: attributesOf(p.attributes),
            count: String(p.count),
            sum: p.sum ?? null,
            buckets: p.bucketCounts.map(String),
            explicit_bounds: p.explicitBounds,
            min: p.min ?? null,
            max: p.max ?? null,
            start: String(p.startTimeUnixNano),
          }, `${tenant}: ${m.name}`);
        }
        break;
      }
      case "exponentialHistogram": {
        const got = await rows(
          cluster,
          `SELECT count::text AS count, sum, scale, zero_count::text AS zero_count,
                  positive_offset, positive_bucket_counts::text[] AS positive,
                  negative_offset, negative_bucket_counts::text[] AS negative, min, max
             FROM telemetry.otel_metrics_exp_histogram ${where} AND metric_name = '${m.name}'`,
        );
        assert.equal(got.length, d.dataPoints.length);
        const p = d.dataPoints[0]!;
        assert.deepEqual(got[0], {
          count: String(p.count),
          sum: p.sum ?? null,
          scale: p.scale,
          zero_count: String(p.zeroCount),
          positive_offset: p.positive.offset,
          positive: p.positive.bucketCounts.map(String),
          negative_offset: p.negative.offset,
          negative: p.negative.bucketCounts.map(String),
          min: p.min ?? null,
          max: p.max ?? null,
        }, `${tenant}: ${m.name}`);
        break;
      }
      default:
        assert.fail(`unexpected metric type in the SDK batch: ${d.type}`);
    }
  }
}

Deno.test({
  name: "postgresql exporter writes the JS SDK's spans, metrics and logs per tenant, read back " +
    "exactly with SQL",
  ignore: POSTGRES_MISSING !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using cluster = await startPostgres();
    await roundTrip(cluster, "{ insecure: true }");
    // Partitions are per day of the data's own time, named after it.
    const parts = await cluster.psql(
      "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid " +
        "JOIN pg_class t ON t.oid = i.inhparent WHERE t.relname = 'otel_traces'",
    );
    assert.ok(parts.length >= 1 && parts.every((p) => /^otel_traces_p\d{8}$/.test(p)), `${parts}`);
  },
});

Deno.test({
  name: "postgresql exporter connects over TLS with SCRAM authentication",
  ignore: POSTGRES_MISSING !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using cluster = await startPostgres({ tls: true });
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(`${dir}/ca.pem`, cluster.caPem!);
      await roundTrip(
        cluster,
        `{ ca_file: ${dir}/ca.pem, server_name_override: localhost }`,
        async () => {
          const [ssl] = await cluster.psql(
            "SELECT count(*) || ' ' || bool_and(ssl) FROM pg_stat_ssl s " +
              "JOIN pg_stat_activity a ON a.pid = s.pid WHERE a.application_name = 'tfo'",
          );
          assert.match(ssl!, /^[1-9]\d* true$/, "tfo's connections use TLS");
        },
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
