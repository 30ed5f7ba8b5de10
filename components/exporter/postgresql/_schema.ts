/**
 * The `postgresql` exporter's tables: one column list per table, from which both the DDL
 * (`create_schema`) and the `COPY … (columns)` statement are made, so they cannot drift apart.
 *
 * Every table is range-partitioned on `time` (`timestamptz`, microseconds: what indexes and
 * partitions use) and keeps the exact nanosecond times in `bigint` columns beside it. Partitions
 * are named `<table>_p<YYYYMMDD>` (`day`) or `<table>_p<YYYYMMDDHH>` (`hour`), in UTC.
 *
 * @module
 */
import type { MetricTable, PostgresqlConfig } from "./config.ts";

/** One column: name and SQL type. */
export type Column = readonly [name: string, type: string];

/** The tables, by what they hold. */
export type TableKind = "traces" | "logs" | MetricTable;

const HEAD: Column[] = [
  ["time", "timestamptz NOT NULL"],
  ["workspace_id", "text"],
  ["tenant_id", "text"],
  ["service_name", "text NOT NULL"],
];

const RESOURCE_SCOPE: Column[] = [
  ["resource_attributes", "jsonb NOT NULL"],
  ["resource_dropped_attributes_count", "integer NOT NULL"],
  ["resource_schema_url", "text NOT NULL"],
  ["scope_name", "text NOT NULL"],
  ["scope_version", "text NOT NULL"],
  ["scope_attributes", "jsonb NOT NULL"],
  ["scope_dropped_attributes_count", "integer NOT NULL"],
  ["scope_schema_url", "text NOT NULL"],
];

const METRIC_HEAD: Column[] = [
  ...HEAD,
  ["metric_name", "text NOT NULL"],
  ["metric_description", "text NOT NULL"],
  ["metric_unit", "text NOT NULL"],
  ["attributes", "jsonb NOT NULL"],
  ["start_time_unix_nano", "bigint NOT NULL"],
  ["time_unix_nano", "bigint NOT NULL"],
];

const METRIC_TAIL: Column[] = [
  ["flags", "integer NOT NULL"],
  ["exemplars", "jsonb NOT NULL"],
  ...RESOURCE_SCOPE,
];

/** The columns of each table, in COPY order. */
export const COLUMNS: Readonly<Record<TableKind, readonly Column[]>> = {
  traces: [
    ...HEAD,
    ["trace_id", "bytea NOT NULL"],
    ["span_id", "bytea NOT NULL"],
    ["parent_span_id", "bytea NOT NULL"],
    ["trace_state", "text NOT NULL"],
    ["flags", "integer NOT NULL"],
    ["name", "text NOT NULL"],
    ["kind", "smallint NOT NULL"],
    ["start_time_unix_nano", "bigint NOT NULL"],
    ["end_time_unix_nano", "bigint NOT NULL"],
    ["duration_nano", "bigint NOT NULL"],
    ["status_code", "smallint NOT NULL"],
    ["status_message", "text NOT NULL"],
    ["attributes", "jsonb NOT NULL"],
    ["dropped_attributes_count", "integer NOT NULL"],
    ["events", "jsonb NOT NULL"],
    ["dropped_events_count", "integer NOT NULL"],
    ["links", "jsonb NOT NULL"],
    ["dropped_links_count", "integer NOT NULL"],
    ...RESOURCE_SCOPE,
  ],
  logs: [
    ...HEAD,
    ["time_unix_nano", "bigint NOT NULL"],
    ["observed_time_unix_nano", "bigint NOT NULL"],
    ["severity_number", "smallint NOT NULL"],
    ["severity_text", "text NOT NULL"],
    ["body", "jsonb"],
    ["attributes", "jsonb NOT NULL"],
    ["dropped_attributes_count", "integer NOT NULL"],
    ["flags", "integer NOT NULL"],
    ["trace_id", "bytea NOT NULL"],
    ["span_id", "bytea NOT NULL"],
    ["event_name", "text NOT NULL"],
    ...RESOURCE_SCOPE,
  ],
  gauge: [
    ...METRIC_HEAD,
    ["value", "double precision"],
    ["int_value", "bigint"],
    ...METRIC_TAIL,
  ],
  sum: [
    ...METRIC_HEAD,
    ["value", "double precision"],
    ["int_value", "bigint"],
    ["aggregation_temporality", "smallint NOT NULL"],
    ["is_monotonic", "boolean NOT NULL"],
    ...METRIC_TAIL,
  ],
  histogram: [
    ...METRIC_HEAD,
    ["count", "bigint NOT NULL"],
    ["sum", "double precision"],
    ["bucket_counts", "bigint[] NOT NULL"],
    ["explicit_bounds", "double precision[] NOT NULL"],
    ["min", "double precision"],
    ["max", "double precision"],
    ["aggregation_temporality", "smallint NOT NULL"],
    ...METRIC_TAIL,
  ],
  exponential_histogram: [
    ...METRIC_HEAD,
    ["count", "bigint NOT NULL"],
    ["sum", "double precision"],
    ["scale", "integer NOT NULL"],
    ["zero_count", "bigint NOT NULL"],
    ["zero_threshold", "double precision NOT NULL"],
    ["positive_offset", "integer NOT NULL"],
    ["positive_bucket_counts", "bigint[] NOT NULL"],
    ["negative_offset", "integer NOT NULL"],
    ["negative_bucket_counts", "bigint[] NOT NULL"],
    ["min", "double precision"],
    ["max", "double precision"],
    ["aggregation_temporality", "smallint NOT NULL"],
    ...METRIC_TAIL,
  ],
  summary: [
    ...METRIC_HEAD,
    ["count", "bigint NOT NULL"],
    ["sum", "double precision NOT NULL"],
    ["quantiles", "double precision[] NOT NULL"],
    ["quantile_values", "double precision[] NOT NULL"],
    ...METRIC_TAIL,
  ],
};

/** Every table kind, in the order the DDL creates them. */
export const TABLE_KINDS: readonly TableKind[] = [
  "traces",
  "logs",
  "gauge",
  "sum",
  "histogram",
  "exponential_histogram",
  "summary",
];

/** The table name `config` gives a kind. */
export function tableName(config: PostgresqlConfig, kind: TableKind): string {
  if (kind === "traces") return config.traces_table_name;
  if (kind === "logs") return config.logs_table_name;
  return config.metrics_tables[kind].name;
}

/** A double-quoted identifier. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** `"schema"."table"`. */
export function qualified(schema: string, table: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(table)}`;
}

/** The statements that create the schema and one partitioned table with its indexes. */
export function tableDdl(schema: string, table: string, kind: TableKind): string[] {
  const name = qualified(schema, table);
  const columns = COLUMNS[kind].map(([c, t]) => `  ${quoteIdent(c)} ${t}`).join(",\n");
  const statements = [
    `CREATE TABLE IF NOT EXISTS ${name} (\n${columns}\n) PARTITION BY RANGE ("time")`,
    `CREATE INDEX IF NOT EXISTS ${quoteIdent(`${table}_tenant_time`)} ON ${name} ` +
    `("tenant_id", "workspace_id", "time")`,
  ];
  if (kind === "traces") {
    statements.push(
      `CREATE INDEX IF NOT EXISTS ${quoteIdent(`${table}_trace_id`)} ON ${name} ("trace_id")`,
    );
  } else if (kind !== "logs") {
    statements.push(
      `CREATE INDEX IF NOT EXISTS ${quoteIdent(`${table}_name_time`)} ON ${name} ` +
        `("metric_name", "time")`,
    );
  }
  return statements;
}

/** `COPY "schema"."table" (columns) FROM STDIN`. */
export function copyStatement(schema: string, table: string, kind: TableKind): string {
  const columns = COLUMNS[kind].map(([c]) => quoteIdent(c)).join(", ");
  return `COPY ${qualified(schema, table)} (${columns}) FROM STDIN`;
}

/** The partition length in milliseconds. */
export function intervalMs(interval: PostgresqlConfig["partition_interval"]): number {
  return interval === "hour" ? 3_600_000 : 86_400_000;
}

/** The name of the partition of `table` that starts at `startMs`. */
export function partitionName(
  table: string,
  interval: PostgresqlConfig["partition_interval"],
  startMs: number,
): string {
  const iso = new Date(startMs).toISOString(); // YYYY-MM-DDTHH:…
  const day = iso.slice(0, 4) + iso.slice(5, 7) + iso.slice(8, 10);
  return `${table}_p${interval === "hour" ? day + iso.slice(11, 13) : day}`;
}

/** The start (ms) a partition name encodes, or undefined when it is not one of ours. */
export function partitionStart(table: string, name: string): number | undefined {
  const prefix = `${table}_p`;
  if (!name.startsWith(prefix)) return undefined;
  const digits = name.slice(prefix.length);
  if (!/^\d{8}(\d{2})?$/.test(digits)) return undefined;
  const ms = Date.UTC(
    Number(digits.slice(0, 4)),
    Number(digits.slice(4, 6)) - 1,
    Number(digits.slice(6, 8)),
    digits.length === 10 ? Number(digits.slice(8, 10)) : 0,
  );
  return Number.isNaN(ms) ? undefined : ms;
}

/** `CREATE TABLE IF NOT EXISTS … PARTITION OF … FOR VALUES FROM … TO …`. */
export function partitionDdl(
  schema: string,
  table: string,
  interval: PostgresqlConfig["partition_interval"],
  startMs: number,
): string {
  const end = startMs + intervalMs(interval);
  return `CREATE TABLE IF NOT EXISTS ${
    qualified(schema, partitionName(table, interval, startMs))
  } PARTITION OF ${qualified(schema, table)} FOR VALUES FROM ('${
    new Date(startMs).toISOString()
  }') TO ('${new Date(end).toISOString()}')`;
}
