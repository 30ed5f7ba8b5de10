/**
 * The postgresql exporter's faults against a real PostgreSQL 15: the database down and then up
 * (queued data arrives once it is back), the database too slow for the attempt's deadline (the
 * attempt is abandoned and rolled back, the retry writes the batch once), a batch the server
 * rejects (permanent, counted, with the server's message; the next batch still lands), and
 * retention dropping old partitions.
 *
 * Skipped, saying why, when PostgreSQL cannot be had.
 */
import assert from "node:assert/strict";
import { postgresqlConfigSchema } from "../../../../components/exporter/postgresql/config.ts";
import { postgresqlExporterFactory } from "../../../../components/exporter/postgresql/factory.ts";
import { type Consumer, ConsumerError } from "../../../../lib/consumer/consumer.ts";
import { Payload } from "../../../../lib/pdata/payload.ts";
import { newLogRecord, newResource, newScope } from "../../../../lib/pdata/new.ts";
import type { LogsData } from "../../../../lib/pdata/types.ts";
import { waitFor } from "../../../fixtures/interop/services.ts";
import {
  POSTGRES_MISSING,
  POSTGRES_PASSWORD,
  type PostgresCluster,
  startPostgres,
} from "../../../fixtures/postgres.ts";
import { settingsFor } from "../otlp/_kit.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

if (POSTGRES_MISSING !== undefined) console.log(`faults_test: skipped: ${POSTGRES_MISSING}`);

const FAST_RETRY = {
  initial_interval: "100ms",
  randomization_factor: 0,
  multiplier: 1,
  max_interval: "100ms",
  max_elapsed_time: "0s",
};

function logs(tenant: string, bodies: string[], timeUnixNano = BigInt(Date.now()) * 1_000_000n) {
  const data: LogsData = {
    resourceLogs: [{
      resource: newResource({
        attributes: [
          { key: "service.name", value: "faults" },
          { key: "telemetryflow.tenant.id", value: tenant },
        ],
      }),
      schemaUrl: "",
      scopeLogs: [{
        scope: newScope({ name: "faults" }),
        schemaUrl: "",
        logRecords: bodies.map((body, i) =>
          newLogRecord({ body, timeUnixNano: timeUnixNano + BigInt(i) })
        ),
      }],
    }],
  };
  return Payload.of("logs", data);
}

async function exporterFor(cluster: PostgresCluster, input: Record<string, unknown> = {}) {
  const config = postgresqlConfigSchema.parse({
    endpoint: `127.0.0.1:${cluster.port}`,
    database: "tfo",
    username: "tfo",
    password: POSTGRES_PASSWORD,
    tls: { insecure: true },
    timeout: "10s",
    retry_on_failure: FAST_RETRY,
    ...input,
  });
  const kit = settingsFor("postgresql", config);
  const exporter = postgresqlExporterFactory.create(kit.settings, ["logs"]);
  await exporter.start({ getExtension: () => undefined, status: () => "running" });
  const consumer = exporter.consumers.logs as Consumer<"logs">;
  const metric = (name: string) => kit.registry.value(name, { exporter: "postgresql" }) ?? 0;
  return { exporter, consumer, metric, kit };
}

async function count(cluster: PostgresCluster, where = "true"): Promise<number> {
  const [n] = await cluster.psql(`SELECT count(*) FROM public.otel_logs WHERE ${where}`)
    .catch(() => ["-1"]);
  return Number(n);
}

Deno.test({
  name: "postgresql exporter keeps queued logs while the database is down and writes them once " +
    "it is up",
  ignore: POSTGRES_MISSING !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using cluster = await startPostgres();
    await cluster.stop();
    const { exporter, consumer, metric } = await exporterFor(cluster);
    try {
      await consumer.consume(logs("t1", ["a", "b", "c"])); // queued: accepted while down
      await new Promise((r) => setTimeout(r, 700)); // a few failed attempts
      assert.equal(metric("otelcol_exporter_sent_log_records"), 0);
      assert.equal(metric("otelcol_exporter_send_failed_log_records"), 0, "not given up");
      await cluster.start();
      await waitFor(
        "the queued records in PostgreSQL",
        async () => await count(cluster) === 3,
        30_000,
        100,
      );
      await waitFor("sent counted", () => metric("otelcol_exporter_sent_log_records") === 3);
      const bodies = await cluster.psql(
        "SELECT body #>> '{}' FROM otel_logs ORDER BY time_unix_nano",
      );
      assert.deepEqual(bodies, ["a", "b", "c"]);
    } finally {
      await exporter.shutdown();
    }
  },
});

Deno.test({
  name: "postgresql exporter abandons an attempt the database is too slow for and writes the " +
    "batch once when it is fast again",
  ignore: POSTGRES_MISSING !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using cluster = await startPostgres();
    const { exporter, consumer, metric, kit } = await exporterFor(cluster, { timeout: "500ms" });
    try {
      await consumer.consume(logs("t", ["warm"]));
      await waitFor("the first record", async () => await count(cluster) === 1, 20_000, 50);
      // Another session holds the table for 4 s: COPYs wait behind its lock past their deadline.
      const holder = cluster.psql(
        "BEGIN; LOCK TABLE otel_logs IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(4); COMMIT;",
      );
      await waitFor(
        "the lock to be held",
        async () => {
          const [n] = await cluster.psql(
            "SELECT count(*) FROM pg_locks WHERE relation = 'otel_logs'::regclass " +
              "AND mode = 'AccessExclusiveLock' AND granted",
          );
          return n === "1";
        },
        20_000,
        50,
      );
      await consumer.consume(logs("t", ["slow-1", "slow-2"]));
      await holder;
      await waitFor("the slow batch", async () => await count(cluster) === 3, 30_000, 100);
      await new Promise((r) => setTimeout(r, 1000)); // no late duplicate arrives
      assert.equal(await count(cluster, "body #>> '{}' LIKE 'slow-%'"), 2, "written once");
      assert.ok(
        kit.lines.some((l) => /timed out/i.test(JSON.stringify(l))),
        "an attempt timed out and was retried",
      );
      assert.equal(metric("otelcol_exporter_sent_log_records"), 3);
      assert.equal(metric("otelcol_exporter_send_failed_log_records"), 0);
    } finally {
      await exporter.shutdown();
    }
  },
});

Deno.test({
  name: "postgresql exporter counts a batch the server rejects as permanent, with the server's " +
    "message, and keeps writing the next ones",
  ignore: POSTGRES_MISSING !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using cluster = await startPostgres();
    const { exporter, consumer, metric, kit } = await exporterFor(cluster, {
      sending_queue: { enabled: false },
    });
    try {
      await consumer.consume(logs("good", ["first"]));
      await cluster.psql(
        "ALTER TABLE otel_logs ADD CONSTRAINT no_blocked CHECK (tenant_id <> 'blocked')",
      );
      let error: unknown;
      await consumer.consume(logs("blocked", ["x", "y"])).catch((e) => error = e);
      assert.ok(error instanceof ConsumerError, `a ConsumerError, got ${error}`);
      assert.equal(error.permanent, true);
      assert.match(error.message, /violates check constraint "no_blocked"/);
      assert.match(error.message, /SQLSTATE 23514/);
      assert.equal(metric("otelcol_exporter_send_failed_log_records"), 2);
      assert.ok(
        kit.lines.some((l) => JSON.stringify(l).includes("no_blocked")),
        "the failure is logged with the server's message",
      );
      await consumer.consume(logs("good", ["second"]));
      assert.equal(await count(cluster), 2);
      assert.equal(await count(cluster, "tenant_id = 'blocked'"), 0, "the batch is all or nothing");
      assert.equal(metric("otelcol_exporter_sent_log_records"), 2);
      // What PostgreSQL cannot store (U+0000, a lone surrogate) does not get a batch refused.
      await consumer.consume(logs("good", ["nul\0and\ud800lone"]));
      const [stored] = await cluster.psql(
        "SELECT body #>> '{}' FROM otel_logs WHERE body::text LIKE '%lone%'",
      );
      assert.equal(stored, "nul\uFFFDand\uFFFDlone");
    } finally {
      await exporter.shutdown();
    }
  },
});

Deno.test({
  name: "postgresql exporter drops partitions older than its retention",
  ignore: POSTGRES_MISSING !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using cluster = await startPostgres();
    const tenDaysAgo = BigInt(Date.now() - 10 * 86_400_000) * 1_000_000n;
    const config = { sending_queue: { enabled: false }, retention: "72h" };
    const first = await exporterFor(cluster, config);
    await first.consumer.consume(logs("t", ["old"], tenDaysAgo));
    await first.consumer.consume(logs("t", ["new"]));
    await first.exporter.shutdown();
    const partitions = () =>
      cluster.psql(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid " +
          "JOIN pg_class t ON t.oid = i.inhparent WHERE t.relname = 'otel_logs' ORDER BY 1",
      );
    const day = (ns: bigint) => new Date(Number(ns / 1_000_000n)).toISOString().slice(0, 10);
    const oldName = `otel_logs_p${day(tenDaysAgo).replaceAll("-", "")}`;
    // The first exporter's sweep may have run before the old partition existed: a new instance
    // sweeps when it first writes.
    const second = await exporterFor(cluster, config);
    try {
      await second.consumer.consume(logs("t", ["newer"]));
      await waitFor(
        "the old partition dropped",
        async () => !(await partitions()).includes(oldName),
        20_000,
        100,
      );
      assert.equal(await count(cluster), 2, "the recent records stay");
      assert.equal(await count(cluster, "body #>> '{}' = 'old'"), 0);
    } finally {
      await second.exporter.shutdown();
    }
  },
});
