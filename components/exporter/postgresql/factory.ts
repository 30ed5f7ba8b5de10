/**
 * The `postgresql` exporter: spans, log records and metric data points into tfo's PostgreSQL
 * schema (`_schema.ts`; documented in the README), one `COPY … FROM STDIN` per table and payload,
 * all of a payload's COPYs in one transaction (all rows land or none, so a retry never
 * duplicates). Every row carries `workspace_id` and `tenant_id` (`_tenant.ts`).
 *
 * With `create_schema` the schema, the partitioned tables and their indexes are created on the
 * first export (not at start: the database need not be up for tfo to start), and each partition
 * before the first row that falls in it; with `retention`, partitions wholly older than it are
 * dropped at the first export and every 10 minutes after.
 *
 * Failures: no answer, a lost connection, a timeout and the SQLSTATE classes 08, 40, 53, 57, 58
 * are retryable; anything else the server refuses (a constraint, a type, a missing table or
 * privilege) is permanent, and the message carries the server's text and SQLSTATE.
 *
 * @module
 */
import type { CreateSettings, Exporter, ExporterFactory } from "../../component.ts";
import { retryableError } from "../../../lib/consumer/consumer.ts";
import {
  createExporterHelper,
  type PushBySignal,
  type PushFunc,
} from "../../../lib/exporterhelper/exporter_helper.ts";
import type { Signal } from "../../../lib/pdata/types.ts";
import { type PostgresqlConfig, postgresqlConfigSchema } from "./config.ts";
import {
  classifySqlFailure,
  type CopyJob,
  openPool,
  parseEndpoint,
  type PgTls,
  type SqlPool,
  sqlState,
} from "./_client.ts";
import { logRows, metricRows, type Rows, traceRows } from "./_rows.ts";
import {
  copyStatement,
  intervalMs,
  partitionDdl,
  partitionStart,
  quoteIdent,
  tableDdl,
  type TableKind,
  tableName,
} from "./_schema.ts";
import { readPem } from "../../../lib/net/http_client_tls.ts";

const SWEEP_EVERY_MS = 10 * 60_000;
const METRIC_KINDS: readonly TableKind[] = [
  "gauge",
  "sum",
  "histogram",
  "exponential_histogram",
  "summary",
];

async function loadTls(config: PostgresqlConfig): Promise<PgTls | undefined> {
  const tls = config.tls;
  if (tls.insecure) return undefined;
  const out: PgTls = { rejectUnauthorized: !tls.insecure_skip_verify };
  const ca = await readPem(tls.ca_file, "CA file");
  const cert = await readPem(tls.cert_file, "certificate file");
  const key = await readPem(tls.key_file, "key file");
  if (ca !== undefined) out.ca = ca;
  if (cert !== undefined) out.cert = cert;
  if (key !== undefined) out.key = key;
  if (tls.server_name_override !== undefined) out.servername = tls.server_name_override;
  return out;
}

/** Errors that mean another session created the same object at the same time. */
function isConcurrentCreate(error: unknown): boolean {
  const state = sqlState(error);
  return state === "42P07" || state === "23505" || state === "42710";
}

/** Creates one `postgresql` exporter instance. */
export function createPostgresqlExporter(
  settings: CreateSettings<PostgresqlConfig>,
  signals: readonly Signal[],
): Exporter {
  const { config, logger } = settings;
  const { host, port } = parseEndpoint(config.endpoint);
  const where = `postgresql://${
    host.startsWith("/") ? `[${host}]` : host
  }:${port}/${config.database}`;
  const interval = intervalMs(config.partition_interval);
  const kinds: TableKind[] = [];
  if (signals.includes("traces")) kinds.push("traces");
  if (signals.includes("logs")) kinds.push("logs");
  if (signals.includes("metrics")) kinds.push(...METRIC_KINDS);

  let pool: SqlPool | undefined;
  let stopped = false;
  let schemaReady: Promise<void> | undefined;
  /** `table/start` of partitions known to exist. */
  const partitions = new Set<string>();
  /** Partition creation, one at a time. */
  let creating: Promise<unknown> = Promise.resolve();
  let sweepTimer: ReturnType<typeof setInterval> | undefined;
  let sweeping: Promise<void> | undefined;

  async function createSchema(p: SqlPool): Promise<void> {
    const statements = [`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(config.schema)}`];
    for (const kind of kinds) {
      statements.push(...tableDdl(config.schema, tableName(config, kind), kind));
    }
    try {
      await p.execute(statements);
    } catch (error) {
      if (!isConcurrentCreate(error)) throw error;
      await p.execute(statements); // the other session's objects exist now
    }
  }

  function ensureSchema(p: SqlPool): Promise<void> {
    if (!config.create_schema) return Promise.resolve();
    schemaReady ??= createSchema(p).then(
      () => {
        logger.info("Created the schema and tables (if they were missing)", {
          schema: config.schema,
        });
        startSweeping();
      },
      (error) => {
        schemaReady = undefined;
        throw error;
      },
    );
    return schemaReady;
  }

  function ensurePartitions(p: SqlPool, kind: TableKind, starts: Iterable<number>): Promise<void> {
    if (!config.create_schema) return Promise.resolve();
    const table = tableName(config, kind);
    const missing = [...starts].filter((s) => !partitions.has(`${table}/${s}`));
    if (missing.length === 0) return Promise.resolve();
    const run = creating.then(async () => {
      for (const start of missing) {
        if (partitions.has(`${table}/${start}`)) continue;
        const ddl = partitionDdl(config.schema, table, config.partition_interval, start);
        try {
          await p.execute([ddl]);
        } catch (error) {
          if (!isConcurrentCreate(error)) throw error;
          await p.execute([ddl]);
        }
        partitions.add(`${table}/${start}`);
      }
    });
    creating = run.catch(() => {});
    return run;
  }

  async function sweep(p: SqlPool): Promise<void> {
    const cutoff = Date.now() - config.retention;
    for (const kind of kinds) {
      const table = tableName(config, kind);
      const rows = await p.query(
        `SELECT c.relname AS name FROM pg_inherits i
           JOIN pg_class c ON c.oid = i.inhrelid
           JOIN pg_class t ON t.oid = i.inhparent
           JOIN pg_namespace n ON n.oid = t.relnamespace
          WHERE n.nspname = $1 AND t.relname = $2`,
        [config.schema, table],
      );
      for (const row of rows) {
        const name = String(row.name);
        const start = partitionStart(table, name);
        if (start === undefined || start + interval > cutoff) continue;
        await creating;
        await p.execute([`DROP TABLE IF EXISTS ${quoteIdent(config.schema)}.${quoteIdent(name)}`]);
        partitions.delete(`${table}/${start}`);
        logger.info("Dropped a partition past the retention", { partition: name });
      }
    }
  }

  function runSweep(): void {
    if (pool === undefined || stopped || sweeping !== undefined) return;
    sweeping = sweep(pool)
      .catch((error) => logger.warn("Cannot drop old partitions; trying again later", { error }))
      .finally(() => sweeping = undefined);
  }

  function startSweeping(): void {
    if (config.retention === 0 || sweepTimer !== undefined || stopped) return;
    runSweep();
    const timer = setInterval(runSweep, SWEEP_EVERY_MS);
    Deno.unrefTimer(timer);
    sweepTimer = timer;
  }

  function pushFor<S extends Signal>(
    signal: S,
    build: (data: never, client: never, interval: number) => Rows,
  ): PushFunc<S> {
    const context = `Cannot export ${signal} to ${where}`;
    return async (payload, abort) => {
      const p = pool;
      if (p === undefined || stopped) {
        throw retryableError(
          `${context}: the exporter is ${stopped ? "shut down" : "not started"}`,
        );
      }
      const rows = build(payload.read() as never, payload.client as never, interval);
      const jobs: CopyJob[] = [];
      try {
        await ensureSchema(p);
        for (const [kind, table] of Object.entries(rows) as [TableKind, Rows[TableKind]][]) {
          if (table === undefined || table.rows === 0) continue;
          await ensurePartitions(p, kind, table.partitions);
          jobs.push({
            statement: copyStatement(config.schema, tableName(config, kind), kind),
            body: table.bytes,
          });
        }
        if (jobs.length === 0) return;
        if (abort.aborted) throw new Error("The export attempt timed out preparing the tables");
        await p.copyAll(jobs, abort);
      } catch (error) {
        throw classifySqlFailure(context, error);
      }
    };
  }

  const pushes: Partial<Record<Signal, PushFunc>> = {};
  for (const signal of new Set(signals)) {
    if (signal === "traces") pushes.traces = pushFor("traces", traceRows) as PushFunc;
    else if (signal === "logs") pushes.logs = pushFor("logs", logRows) as PushFunc;
    else pushes.metrics = pushFor("metrics", metricRows) as PushFunc;
  }
  const helper = createExporterHelper(settings, config, pushes as PushBySignal);

  return {
    consumers: helper.consumers,
    async start(host) {
      if (stopped || pool !== undefined) return;
      const tls = await loadTls(config);
      pool = openPool(config, tls, (error) => {
        logger.warn("An idle PostgreSQL connection failed; it is replaced on next use", { error });
      });
      await helper.start(host);
    },
    async shutdown() {
      await helper.shutdown();
      stopped = true;
      if (sweepTimer !== undefined) clearInterval(sweepTimer);
      sweepTimer = undefined;
      await sweeping;
      const p = pool;
      pool = undefined;
      await p?.close().catch(() => {});
    },
  };
}

/** The `postgresql` exporter factory. */
export const postgresqlExporterFactory: ExporterFactory<PostgresqlConfig> = {
  kind: "exporter",
  type: "postgresql",
  configSchema: postgresqlConfigSchema,
  signals: { traces: "alpha", metrics: "alpha", logs: "alpha" },
  create: createPostgresqlExporter,
};
