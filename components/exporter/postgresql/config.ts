/**
 * The `postgresql` exporter's config: tfo's own (the Collector has no PostgreSQL exporter). The
 * table keys follow the `clickhouse` exporter's (`traces_table_name`, `logs_table_name`,
 * `metrics_tables.<type>.name`, `create_schema`), the TLS keys the Collector's `configtls` client.
 * Unknown keys are rejected.
 *
 * @module
 */
import { z } from "../../../lib/config/z.js";
import { duration } from "../../../lib/config/schema.ts";
import { exporterHelperShape } from "../../../lib/exporterhelper/exporter_helper.ts";

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,39}$/;

/** A table or schema name: unquoted SQL identifier characters, short enough for suffixes. */
function identifier(defaultValue: string) {
  return z
    .string()
    .regex(IDENTIFIER, {
      message: "must be letters, digits and _ (not starting with a digit), at most 40 characters",
    })
    .default(defaultValue);
}

function tableName(defaultValue: string) {
  return z.strictObject({ name: identifier(defaultValue) }).prefault({});
}

/** The `tls` key: the Collector's `configtls` client keys tfo implements for PostgreSQL. */
export const postgresTlsSchema = z
  .strictObject({
    /** Connect without TLS. By default (false) the connection must be TLS, as in `configtls`. */
    insecure: z.boolean().default(false),
    /** Do not verify the server's certificate chain and name (testing only). */
    insecure_skip_verify: z.boolean().default(false),
    /** PEM file of the CA certificates that sign the server's certificate. */
    ca_file: z.string().min(1).optional(),
    /** PEM file of the client certificate, for certificate authentication (with `key_file`). */
    cert_file: z.string().min(1).optional(),
    /** PEM file of the client private key (with `cert_file`). */
    key_file: z.string().min(1).optional(),
    /** The name the server certificate must carry, when it is not the endpoint's host. */
    server_name_override: z.string().min(1).optional(),
  })
  .superRefine((t, ctx) => {
    if ((t.cert_file === undefined) !== (t.key_file === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: [t.cert_file === undefined ? "cert_file" : "key_file"],
        message: "cert_file and key_file must be set together",
      });
    }
  });

/** The `postgresql` exporter's config schema. */
export const postgresqlConfigSchema = z
  .strictObject({
    /** The server, `host:port` (port 5432 when left out) or a Unix socket directory (`/run/…`). */
    endpoint: z.string().min(1, { message: "endpoint must be specified" }),
    /** The database to write to. */
    database: z.string().min(1).default("postgres"),
    /** The role to log in as. */
    username: z.string().min(1).default("postgres"),
    /** Its password (SCRAM-SHA-256, MD5 or cleartext, as the server asks). */
    password: z.string().default(""),
    /** The PostgreSQL schema that holds the tables (created by `create_schema`). */
    schema: identifier("public"),
    /** The spans table. */
    traces_table_name: identifier("otel_traces"),
    /** The log records table. */
    logs_table_name: identifier("otel_logs"),
    /** One table per metric type. */
    metrics_tables: z
      .strictObject({
        gauge: tableName("otel_metrics_gauge"),
        sum: tableName("otel_metrics_sum"),
        summary: tableName("otel_metrics_summary"),
        histogram: tableName("otel_metrics_histogram"),
        exponential_histogram: tableName("otel_metrics_exp_histogram"),
      })
      .prefault({}),
    /** Create the schema, the tables and their partitions (needs the CREATE privilege). */
    create_schema: z.boolean().default(true),
    /** The time range of one partition: `hour` or `day`. */
    partition_interval: z.enum(["hour", "day"]).default("day"),
    /** Partitions wholly older than this are dropped; 0 keeps everything. */
    retention: duration("0s"),
    /** The most connections the exporter opens at once. */
    max_connections: z.number().int().positive().max(100).default(4),
    /** The deadline of one export attempt; 0 means none. */
    timeout: duration("5s"),
    ...exporterHelperShape,
    /** TLS to the server. */
    tls: postgresTlsSchema.prefault({}),
  })
  .superRefine((c, ctx) => {
    const names = [
      c.traces_table_name,
      c.logs_table_name,
      ...Object.values(c.metrics_tables).map((t) => t.name),
    ];
    if (new Set(names).size !== names.length) {
      ctx.addIssue({
        code: "custom",
        path: ["metrics_tables"],
        message: "table names must differ",
      });
    }
    if (
      c.retention !== 0 && c.retention < (c.partition_interval === "hour" ? 3_600_000 : 86_400_000)
    ) {
      ctx.addIssue({
        code: "custom",
        path: ["retention"],
        message: `must be 0 or at least one partition_interval (${c.partition_interval})`,
      });
    }
  });

/** The `postgresql` exporter's validated config. */
export type PostgresqlConfig = z.output<typeof postgresqlConfigSchema>;

/** The metric types, as `metrics_tables` names them. */
export type MetricTable = keyof PostgresqlConfig["metrics_tables"];
