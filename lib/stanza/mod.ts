/**
 * Stanza: the log operators of stanza-based receivers (`filelog`), with the OpenTelemetry
 * Collector's operator names, keys and semantics.
 *
 * @module
 */
export { buildPipeline, type Emit, type PipelineOptions, type StanzaPipeline } from "./pipeline.ts";
export { OPERATOR_TYPES, type OperatorConfig, operatorConfigSchema } from "./config.ts";
export { type Entry, entryToLogRecord, newEntry, toAnyValue, toKeyValues } from "./entry.ts";
export { compileCondition, compileExpr, compileGoRegex, type Expr } from "./expr.ts";
export { deleteField, type Field, getField, parseField, setField } from "./field.ts";
export { compileSeverity, SEVERITY_LEVELS } from "./severity.ts";
export { compileTimestamp, type TimestampParser } from "./timestamp.ts";
