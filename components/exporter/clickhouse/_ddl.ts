/**
 * The `clickhouse` exporter's tables: the Collector's contrib schema (v0.161: column names, types,
 * codecs, skip indexes, partitioning and ordering), written here from its documented shape. Each
 * table's insert column list is kept next to its DDL so the two agree.
 *
 * @module
 */
import type { ClickhouseConfig, MetricTable } from "./config.ts";

/** The tables, by what they hold. */
export type TableKind = "traces" | "logs" | MetricTable;

/** A backquoted identifier. */
export function quoteIdent(name: string): string {
  return "`" + name.replaceAll("\\", "\\\\").replaceAll("`", "\\`") + "`";
}

/** The `TTL` clause for `ttlMs` on `timeExpr`, empty when there is none (as the Collector builds it). */
export function ttlClause(ttlMs: number, timeExpr: string): string {
  if (ttlMs <= 0) return "";
  const s = Math.floor(ttlMs / 1000);
  if (s % 86400 === 0) return `TTL ${timeExpr} + toIntervalDay(${s / 86400})`;
  if (s % 3600 === 0) return `TTL ${timeExpr} + toIntervalHour(${s / 3600})`;
  if (s % 60 === 0) return `TTL ${timeExpr} + toIntervalMinute(${s / 60})`;
  return `TTL ${timeExpr} + toIntervalSecond(${s})`;
}

const MAP = "Map(LowCardinality(String), String)";
const Z = "CODEC(ZSTD(1))";

const METRIC_HEAD = `
    ResourceAttributes ${MAP} ${Z},
    ResourceSchemaUrl String ${Z},
    ScopeName String ${Z},
    ScopeVersion String ${Z},
    ScopeAttributes ${MAP} ${Z},
    ScopeDroppedAttrCount UInt32 ${Z},
    ScopeSchemaUrl String ${Z},
    ServiceName LowCardinality(String) ${Z},
    MetricName String ${Z},
    MetricDescription String ${Z},
    MetricUnit String ${Z},
    Attributes ${MAP} ${Z},
    StartTimeUnix DateTime64(9) CODEC(Delta, ZSTD(1)),
    TimeUnix DateTime64(9) CODEC(Delta, ZSTD(1)),`;

const EXEMPLARS = `
    Exemplars Nested (
        FilteredAttributes ${MAP},
        TimeUnix DateTime64(9),
        Value Float64,
        SpanId String,
        TraceId String
    ) ${Z},`;

const METRIC_INDEXES = `
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_key mapKeys(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_value mapValues(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_attr_key mapKeys(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_attr_value mapValues(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1`;

const BODIES: Readonly<Record<TableKind, string>> = {
  logs: `
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TimestampTime DateTime DEFAULT toDateTime(Timestamp),
    TraceId String ${Z},
    SpanId String ${Z},
    TraceFlags UInt8,
    SeverityText LowCardinality(String) ${Z},
    SeverityNumber UInt8,
    ServiceName LowCardinality(String) ${Z},
    Body String ${Z},
    ResourceSchemaUrl LowCardinality(String) ${Z},
    ResourceAttributes ${MAP} ${Z},
    ScopeSchemaUrl LowCardinality(String) ${Z},
    ScopeName String ${Z},
    ScopeVersion LowCardinality(String) ${Z},
    ScopeAttributes ${MAP} ${Z},
    LogAttributes ${MAP} ${Z},
    EventName String ${Z},
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_key mapKeys(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_value mapValues(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_log_attr_key mapKeys(LogAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_log_attr_value mapValues(LogAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_body Body TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 8`,
  traces: `
    Timestamp DateTime64(9) CODEC(Delta, ZSTD(1)),
    TraceId String ${Z},
    SpanId String ${Z},
    ParentSpanId String ${Z},
    TraceState String ${Z},
    SpanName LowCardinality(String) ${Z},
    SpanKind LowCardinality(String) ${Z},
    ServiceName LowCardinality(String) ${Z},
    ResourceAttributes ${MAP} ${Z},
    ScopeName String ${Z},
    ScopeVersion String ${Z},
    SpanAttributes ${MAP} ${Z},
    Duration UInt64 ${Z},
    StatusCode LowCardinality(String) ${Z},
    StatusMessage String ${Z},
    Events Nested (
        Timestamp DateTime64(9),
        Name LowCardinality(String),
        Attributes ${MAP}
    ) ${Z},
    Links Nested (
        TraceId String,
        SpanId String,
        TraceState String,
        Attributes ${MAP}
    ) ${Z},
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_span_attr_key mapKeys(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_span_attr_value mapValues(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_duration Duration TYPE minmax GRANULARITY 1`,
  gauge: `${METRIC_HEAD}
    Value Float64 ${Z},
    Flags UInt32 ${Z},${EXEMPLARS}${METRIC_INDEXES}`,
  sum: `${METRIC_HEAD}
    Value Float64 ${Z},
    Flags UInt32 ${Z},${EXEMPLARS}
    AggregationTemporality Int32 ${Z},
    IsMonotonic Boolean CODEC(Delta, ZSTD(1)),${METRIC_INDEXES}`,
  histogram: `${METRIC_HEAD}
    Count UInt64 CODEC(Delta, ZSTD(1)),
    Sum Float64 ${Z},
    BucketCounts Array(UInt64) ${Z},
    ExplicitBounds Array(Float64) ${Z},${EXEMPLARS}
    Flags UInt32 ${Z},
    Min Float64 ${Z},
    Max Float64 ${Z},
    AggregationTemporality Int32 ${Z},${METRIC_INDEXES}`,
  exponential_histogram: `${METRIC_HEAD}
    Count UInt64 CODEC(Delta, ZSTD(1)),
    Sum Float64 ${Z},
    Scale Int32 ${Z},
    ZeroCount UInt64 ${Z},
    PositiveOffset Int32 ${Z},
    PositiveBucketCounts Array(UInt64) ${Z},
    NegativeOffset Int32 ${Z},
    NegativeBucketCounts Array(UInt64) ${Z},${EXEMPLARS}
    Flags UInt32 ${Z},
    Min Float64 ${Z},
    Max Float64 ${Z},
    AggregationTemporality Int32 ${Z},${METRIC_INDEXES}`,
  summary: `${METRIC_HEAD}
    Count UInt64 CODEC(Delta, ZSTD(1)),
    Sum Float64 ${Z},
    ValueAtQuantiles Nested (
        Quantile Float64,
        Value Float64
    ) ${Z},
    Flags UInt32 ${Z},${METRIC_INDEXES}`,
};

const METRIC_TAIL = (ttl: string) =>
  `PARTITION BY toDate(TimeUnix)
ORDER BY (ServiceName, MetricName, Attributes, toUnixTimestamp64Nano(TimeUnix))
${ttl}
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1`;

function tail(kind: TableKind, ttlMs: number): string {
  if (kind === "logs") {
    return `PARTITION BY toDate(TimestampTime)
PRIMARY KEY (ServiceName, TimestampTime)
ORDER BY (ServiceName, TimestampTime, Timestamp)
${ttlClause(ttlMs, "TimestampTime")}
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1`;
  }
  if (kind === "traces") {
    return `PARTITION BY toDate(Timestamp)
ORDER BY (ServiceName, SpanName, toDateTime(Timestamp))
${ttlClause(ttlMs, "toDateTime(Timestamp)")}
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1`;
  }
  return METRIC_TAIL(ttlClause(ttlMs, "toDateTime(TimeUnix)"));
}

function onCluster(config: ClickhouseConfig): string {
  return config.cluster_name === "" ? "" : ` ON CLUSTER ${quoteIdent(config.cluster_name)}`;
}

/** `CREATE DATABASE IF NOT EXISTS …`. */
export function databaseDdl(config: ClickhouseConfig, database: string): string {
  return `CREATE DATABASE IF NOT EXISTS ${quoteIdent(database)}${onCluster(config)}`;
}

/** `CREATE TABLE IF NOT EXISTS …` for one table. */
export function tableDdl(
  config: ClickhouseConfig,
  database: string,
  table: string,
  kind: TableKind,
): string {
  const engine = `${config.table_engine.name}(${config.table_engine.params})`;
  return `CREATE TABLE IF NOT EXISTS ${quoteIdent(database)}.${quoteIdent(table)}${
    onCluster(config)
  } (${BODIES[kind]}
) ENGINE = ${engine}
${tail(kind, config.ttl)}`;
}

const METRIC_COLUMNS = [
  "ResourceAttributes",
  "ResourceSchemaUrl",
  "ScopeName",
  "ScopeVersion",
  "ScopeAttributes",
  "ScopeDroppedAttrCount",
  "ScopeSchemaUrl",
  "ServiceName",
  "MetricName",
  "MetricDescription",
  "MetricUnit",
  "Attributes",
  "StartTimeUnix",
  "TimeUnix",
];

const EXEMPLAR_COLUMNS = [
  "Exemplars.FilteredAttributes",
  "Exemplars.TimeUnix",
  "Exemplars.Value",
  "Exemplars.SpanId",
  "Exemplars.TraceId",
];

/** The columns each insert writes, in the order `_rows.ts` writes them. */
export const INSERT_COLUMNS: Readonly<Record<TableKind, readonly string[]>> = {
  logs: [
    "Timestamp",
    "TraceId",
    "SpanId",
    "TraceFlags",
    "SeverityText",
    "SeverityNumber",
    "ServiceName",
    "Body",
    "ResourceSchemaUrl",
    "ResourceAttributes",
    "ScopeSchemaUrl",
    "ScopeName",
    "ScopeVersion",
    "ScopeAttributes",
    "LogAttributes",
    "EventName",
  ],
  traces: [
    "Timestamp",
    "TraceId",
    "SpanId",
    "ParentSpanId",
    "TraceState",
    "SpanName",
    "SpanKind",
    "ServiceName",
    "ResourceAttributes",
    "ScopeName",
    "ScopeVersion",
    "SpanAttributes",
    "Duration",
    "StatusCode",
    "StatusMessage",
    "Events.Timestamp",
    "Events.Name",
    "Events.Attributes",
    "Links.TraceId",
    "Links.SpanId",
    "Links.TraceState",
    "Links.Attributes",
  ],
  gauge: [...METRIC_COLUMNS, "Value", "Flags", ...EXEMPLAR_COLUMNS],
  sum: [
    ...METRIC_COLUMNS,
    "Value",
    "Flags",
    ...EXEMPLAR_COLUMNS,
    "AggregationTemporality",
    "IsMonotonic",
  ],
  histogram: [
    ...METRIC_COLUMNS,
    "Count",
    "Sum",
    "BucketCounts",
    "ExplicitBounds",
    ...EXEMPLAR_COLUMNS,
    "Flags",
    "Min",
    "Max",
    "AggregationTemporality",
  ],
  exponential_histogram: [
    ...METRIC_COLUMNS,
    "Count",
    "Sum",
    "Scale",
    "ZeroCount",
    "PositiveOffset",
    "PositiveBucketCounts",
    "NegativeOffset",
    "NegativeBucketCounts",
    ...EXEMPLAR_COLUMNS,
    "Flags",
    "Min",
    "Max",
    "AggregationTemporality",
  ],
  summary: [
    ...METRIC_COLUMNS,
    "Count",
    "Sum",
    "ValueAtQuantiles.Quantile",
    "ValueAtQuantiles.Value",
    "Flags",
  ],
};

/** `INSERT INTO db.table (columns) FORMAT RowBinary`. */
export function insertStatement(database: string, table: string, kind: TableKind): string {
  const columns = INSERT_COLUMNS[kind].map(quoteIdent).join(", ");
  return `INSERT INTO ${quoteIdent(database)}.${quoteIdent(table)} (${columns}) FORMAT RowBinary`;
}

/** The table name `config` gives a kind. */
export function tableName(config: ClickhouseConfig, kind: TableKind): string {
  if (kind === "traces") return config.traces_table_name;
  if (kind === "logs") return config.logs_table_name;
  return config.metrics_tables[kind].name;
}
