/**
 * The clickhouse exporter's config (the Collector's defaults, and what tfo refuses with its
 * reason), its DDL clauses, and the RowBinary writer's strings.
 */
import assert from "node:assert/strict";
import {
  clickhouseConfigSchema,
  databaseOf,
} from "../../../../components/exporter/clickhouse/config.ts";
import {
  databaseDdl,
  insertStatement,
  tableDdl,
  ttlClause,
} from "../../../../components/exporter/clickhouse/_ddl.ts";
import { RowBinaryWriter } from "../../../../components/exporter/clickhouse/_rowbinary.ts";
import { isRetryableClickhouseFailure } from "../../../../components/exporter/clickhouse/factory.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

Deno.test("clickhouse exporter config has the Collector's defaults", () => {
  const c = clickhouseConfigSchema.parse({ endpoint: "http://ch:8123" });
  assert.equal(c.database, "default");
  assert.equal(c.logs_table_name, "otel_logs");
  assert.equal(c.traces_table_name, "otel_traces");
  assert.equal(c.metrics_tables.gauge.name, "otel_metrics_gauge");
  assert.equal(c.metrics_tables.exponential_histogram.name, "otel_metrics_exp_histogram");
  assert.equal(c.create_schema, true);
  assert.equal(c.async_insert, true);
  assert.equal(c.ttl, 0);
  assert.equal(c.table_engine.name, "MergeTree");
  assert.equal(c.timeout, 5000);
  assert.equal(c.compress, "zstd", "tfo's default: it has no LZ4 encoder");
  assert.equal(databaseOf(c), "default");
  assert.equal(
    databaseOf(clickhouseConfigSchema.parse({ endpoint: "http://ch:8123/otel" })),
    "otel",
  );
  assert.equal(
    databaseOf(clickhouseConfigSchema.parse({ endpoint: "http://ch:8123/otel", database: "x" })),
    "x",
  );
});

Deno.test("clickhouse exporter config refuses what tfo does not implement, saying why", () => {
  const issues = (input: Record<string, unknown>) => {
    const r = clickhouseConfigSchema.safeParse({ endpoint: "http://ch:8123", ...input });
    assert.equal(r.success, false, JSON.stringify(input));
    return r.error!.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
  };
  assert.match(issues({ endpoint: "tcp://ch:9000" }), /not the native protocol/);
  assert.match(issues({ endpoint: "not a url" }), /endpoint must be url format/);
  assert.match(issues({ endpoint: "http://ch:8123?dial_timeout=5s" }), /driver parameter/);
  assert.match(issues({ connection_params: { max_open_conns: "4" } }), /driver parameter/);
  assert.match(issues({ compress: "lz4" }), /no LZ4 encoder/);
  assert.match(issues({ compress: "snappy" }), /must be one of/);
  assert.match(issues({ json: true }), /json/);
  assert.match(issues({ metrics_table_name: "m" }), /deprecated/);
  assert.match(issues({ table_engine: { name: "Merge Tree;" } }), /engine name/);
  assert.match(issues({ nope: 1 }), /nope|Unrecognized/);
});

Deno.test("clickhouse DDL carries the engine, ON CLUSTER and TTL", () => {
  const c = clickhouseConfigSchema.parse({
    endpoint: "http://ch:8123",
    cluster_name: "c1",
    ttl: "72h",
    table_engine: { name: "ReplicatedMergeTree", params: "'/ch/{shard}/t', '{replica}'" },
  });
  assert.equal(databaseDdl(c, "otel"), "CREATE DATABASE IF NOT EXISTS `otel` ON CLUSTER `c1`");
  const ddl = tableDdl(c, "otel", "otel_logs", "logs");
  assert.match(ddl, /^CREATE TABLE IF NOT EXISTS `otel`.`otel_logs` ON CLUSTER `c1` \(/);
  assert.match(ddl, /ENGINE = ReplicatedMergeTree\('\/ch\/\{shard\}\/t', '\{replica\}'\)/);
  assert.match(ddl, /TTL TimestampTime \+ toIntervalDay\(3\)/);
  assert.equal(ttlClause(90 * 60_000, "t"), "TTL t + toIntervalMinute(90)");
  assert.equal(ttlClause(0, "t"), "");
  assert.match(
    insertStatement("otel", "otel_traces", "traces"),
    /^INSERT INTO `otel`.`otel_traces` \(`Timestamp`, .*`Links.Attributes`\) FORMAT RowBinary$/,
  );
});

Deno.test("clickhouse failures: data and schema errors are permanent, the rest retried", () => {
  assert.equal(isRetryableClickhouseFailure(500, 60), false, "UNKNOWN_TABLE");
  assert.equal(isRetryableClickhouseFailure(500, 469), false, "VIOLATED_CONSTRAINT");
  assert.equal(isRetryableClickhouseFailure(500, 516), false, "AUTHENTICATION_FAILED");
  assert.equal(isRetryableClickhouseFailure(500, 241), true, "MEMORY_LIMIT_EXCEEDED");
  assert.equal(isRetryableClickhouseFailure(503, undefined), true);
  assert.equal(isRetryableClickhouseFailure(429, undefined), true);
  assert.equal(isRetryableClickhouseFailure(400, undefined), false);
});

/** Reads back one LEB128-prefixed string at `at`. */
function readString(bytes: Uint8Array, at: number): { value: string; next: number } {
  let n = 0;
  let shift = 1;
  let i = at;
  for (;;) {
    const b = bytes[i++]!;
    n += (b & 0x7f) * shift;
    if (b < 0x80) break;
    shift *= 128;
  }
  return { value: new TextDecoder().decode(bytes.subarray(i, i + n)), next: i + n };
}

Deno.test("RowBinary strings: ASCII and UTF-8 of every length class, lengths as LEB128", () => {
  const samples = [
    "",
    "a",
    "x".repeat(127),
    "x".repeat(128),
    "grüße, 世界 🚀",
    "é".repeat(42), // 84 bytes, reserved as if 126
    "é".repeat(64), // 128 bytes: two length bytes
    "世".repeat(5000), // 15,000 bytes
    "🚀".repeat(300_000), // 1.2 MB: three length bytes reserved, three needed
    "🚀".repeat(600_000), // 2.4 MB: four length bytes
    "a".repeat(1_000_000), // 1 MB of ASCII: four reserved (3 MB worst case), three needed
  ];
  const w = new RowBinaryWriter(16);
  for (const s of samples) w.string(s);
  const bytes = w.bytes();
  let at = 0;
  for (const s of samples) {
    const { value, next } = readString(bytes, at);
    assert.equal(value, s);
    at = next;
  }
  assert.equal(at, bytes.length);
});
