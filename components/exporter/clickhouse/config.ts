/**
 * The `clickhouse` exporter's config: the keys of the Collector's contrib `clickhouse` exporter
 * (v0.161) with its defaults, over ClickHouse's HTTP interface. What tfo does not implement is
 * refused with the reason: the native protocol (`tcp://`, `clickhouse://`), `lz4` compression
 * (tfo has no LZ4 encoder; `zstd` is its default instead), the `json` column mode, the deprecated
 * `metrics_table_name` and clickhouse-go's client-side driver parameters in `endpoint` or
 * `connection_params` (the rest of those are ClickHouse settings, sent with every insert).
 *
 * @module
 */
import { z } from "../../../lib/config/z.js";
import { duration } from "../../../lib/config/schema.ts";
import { exporterHelperShape } from "../../../lib/exporterhelper/exporter_helper.ts";
import { httpClientTlsSchema } from "../../../lib/net/http_client_tls.ts";

/** clickhouse-go's own DSN parameters: they configure its client, not the server. */
export const DRIVER_PARAMS: ReadonlySet<string> = new Set([
  "dial_timeout",
  "read_timeout",
  "compress",
  "compress_level",
  "secure",
  "skip_verify",
  "connection_open_strategy",
  "max_open_conns",
  "max_idle_conns",
  "conn_max_lifetime",
  "block_buffer_size",
  "max_compression_buffer",
  "debug",
  "username",
  "password",
  "client_info_product",
  "http_proxy",
]);

function tableName(defaultValue: string) {
  return z.strictObject({ name: z.string().min(1).default(defaultValue) }).prefault({});
}

function driverParamIssue(key: string): string {
  return `"${key}" is a clickhouse-go driver parameter, which tfo's HTTP client does not have`;
}

/** The `clickhouse` exporter's config schema. */
export const clickhouseConfigSchema = z
  .strictObject({
    /** ClickHouse's HTTP interface, `http://host:8123` or `https://host:8443`; a path names the database. */
    endpoint: z.string().min(1, { message: "endpoint must be specified" }),
    /** The login (sent as `X-ClickHouse-User`). */
    username: z.string().default(""),
    /** Its password (sent as `X-ClickHouse-Key`). */
    password: z.string().default(""),
    /** The database; overrides one in the endpoint's path unless it is `default`. */
    database: z.string().min(1).default("default"),
    /** ClickHouse settings sent with every query, over those in the endpoint's query string. */
    connection_params: z.record(z.string(), z.string()).default({}),
    /** The logs table. */
    logs_table_name: z.string().min(1).default("otel_logs"),
    /** The spans table. */
    traces_table_name: z.string().min(1).default("otel_traces"),
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
    /** Deprecated in the Collector for `metrics_tables`; refused. */
    metrics_table_name: z.string().optional(),
    /** Refused: the JSON column mode is not implemented. */
    json: z.literal(false, { message: "is not supported by tfo (Map columns only)" }).default(
      false,
    ),
    /** Rows older than this are dropped by ClickHouse (a table `TTL`); 0 keeps everything. */
    ttl: duration("0s"),
    /** The `ENGINE` of created tables. */
    table_engine: z
      .strictObject({
        /** The engine's name. */
        name: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, { message: "must be an engine name" })
          .default("MergeTree"),
        /** What goes between its parentheses. */
        params: z.string().default(""),
      })
      .prefault({}),
    /** Creates the database and tables `ON CLUSTER` this cluster. */
    cluster_name: z.string().default(""),
    /** Run the DDL that creates the database and tables (on the first export). */
    create_schema: z.boolean().default(true),
    /** Insert with `async_insert=1` (unless the endpoint or `connection_params` set it). */
    async_insert: z.boolean().default(true),
    /**
     * The request body's compression: `zstd` (tfo's default), `gzip`, `deflate` or `none`. The
     * Collector's `lz4`, `true` and `br` are refused.
     */
    compress: z.string().default("zstd").superRefine((value, ctx) => {
      if (["none", "zstd", "gzip", "deflate"].includes(value)) return;
      ctx.addIssue({
        code: "custom",
        message: value === "lz4" || value === "true" || value === "br"
          ? `"${value}" is not supported by tfo (it has no ${
            value === "br" ? "brotli" : "LZ4"
          } encoder); use zstd, gzip, deflate or none`
          : "must be one of none, zstd, gzip, deflate",
      });
    }),
    /** The deadline of one insert; 0 means none. */
    timeout: duration("5s"),
    ...exporterHelperShape,
    /** TLS for `https://` endpoints. */
    tls: httpClientTlsSchema.prefault({}),
  })
  .superRefine((c, ctx) => {
    let url: URL | undefined;
    try {
      url = new URL(c.endpoint);
    } catch {
      ctx.addIssue({ code: "custom", path: ["endpoint"], message: "endpoint must be url format" });
    }
    if (url !== undefined) {
      if (url.protocol !== "http:" && url.protocol !== "https:") {
        ctx.addIssue({
          code: "custom",
          path: ["endpoint"],
          message: `"${url.protocol}//" is not supported: tfo speaks ClickHouse's HTTP interface ` +
            "(http:// or https://), not the native protocol",
        });
      }
      if (url.host.includes(",")) {
        ctx.addIssue({ code: "custom", path: ["endpoint"], message: "must name one server" });
      }
      for (const key of url.searchParams.keys()) {
        if (DRIVER_PARAMS.has(key)) {
          ctx.addIssue({ code: "custom", path: ["endpoint"], message: driverParamIssue(key) });
        }
      }
    }
    for (const key of Object.keys(c.connection_params)) {
      if (DRIVER_PARAMS.has(key)) {
        ctx.addIssue({
          code: "custom",
          path: ["connection_params", key],
          message: driverParamIssue(key),
        });
      }
    }
    if (c.metrics_table_name !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["metrics_table_name"],
        message: "is deprecated and not supported: set metrics_tables.<type>.name",
      });
    }
  });

/** The `clickhouse` exporter's validated config. */
export type ClickhouseConfig = z.output<typeof clickhouseConfigSchema>;

/** The metric types, as `metrics_tables` names them. */
export type MetricTable = keyof ClickhouseConfig["metrics_tables"];

/** The database the config writes to: `database`, or the endpoint's path when that is `default`. */
export function databaseOf(config: ClickhouseConfig): string {
  if (config.database !== "default") return config.database;
  const path = new URL(config.endpoint).pathname.replace(/^\/+|\/+$/g, "");
  return path === "" ? "default" : decodeURIComponent(path);
}
