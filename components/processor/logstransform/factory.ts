/**
 * The `logstransform` processor: runs stanza operators (`regex_parser`, `json_parser`, `move`,
 * `router`, …) over the log records of a pipeline, as the contrib processor does. Each record
 * becomes a stanza entry (body, attributes, resource, times, severity), goes through the
 * operators, and every entry that comes out becomes a record again, under its (possibly
 * changed) resource and the original scope. Entries an operator drops are gone.
 *
 * @module
 */
import type { Processor, ProcessorFactory } from "../../component.ts";
import type { Consumer } from "../../../lib/consumer/consumer.ts";
import type { Payload } from "../../../lib/pdata/payload.ts";
import type {
  AnyValue,
  KeyValue,
  LogRecord,
  ResourceLogs,
  Signal,
} from "../../../lib/pdata/types.ts";
import {
  buildPipeline,
  type Entry,
  entryToLogRecord,
  toKeyValues,
} from "../../../lib/stanza/mod.ts";
import type { Logger } from "../../../lib/telemetry/logger.ts";
import { type LogstransformConfig, logstransformConfigSchema } from "./config.ts";

/** A pdata value as the plain value stanza entries hold (maps become objects). */
function toPlain(v: AnyValue, depth = 0): unknown {
  if (depth > 128) return null;
  if (v === undefined) return null;
  if (Array.isArray(v)) return v.map((x) => toPlain(x, depth + 1));
  if (typeof v === "object" && !(v instanceof Uint8Array)) return mapToPlain(v.kvlist, depth + 1);
  return v;
}

function mapToPlain(list: readonly KeyValue[], depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of list) out[kv.key] = toPlain(kv.value, depth);
  return out;
}

function toEntry(record: LogRecord, resource: Record<string, unknown>): Entry {
  return {
    body: toPlain(record.body),
    attributes: mapToPlain(record.attributes),
    resource: { ...resource },
    timestamp: record.timeUnixNano,
    observedTimestamp: record.observedTimeUnixNano,
    severity: record.severityNumber,
    severityText: record.severityText,
  };
}

/** Creates one logstransform processor. */
export function createLogstransformProcessor(
  config: LogstransformConfig,
  next: Consumer<"logs">,
  logger: Logger,
): Processor<"logs"> {
  const pipeline = buildPipeline(config.operators, { logger });
  return {
    mutatesData: !pipeline.empty,
    consume(payload: Payload<"logs">): Promise<void> {
      if (pipeline.empty) return next.consume(payload);
      const data = payload.edit();
      const out: ResourceLogs[] = [];
      for (const rl of data.resourceLogs) {
        const resource = mapToPlain(rl.resource.attributes);
        const byResource = new Map<string, ResourceLogs>();
        const originalKey = JSON.stringify(resource, jsonSafe);
        for (const sl of rl.scopeLogs) {
          const perResource = new Map<string, LogRecord[]>();
          for (const record of sl.logRecords) {
            pipeline.process(toEntry(record, resource), (entry) => {
              const next = entryToLogRecord(entry);
              next.traceId = record.traceId;
              next.spanId = record.spanId;
              next.flags = record.flags;
              next.eventName = record.eventName;
              const key = JSON.stringify(entry.resource, jsonSafe);
              let list = perResource.get(key);
              if (list === undefined) {
                list = [];
                perResource.set(key, list);
                if (!byResource.has(key)) {
                  byResource.set(key, {
                    resource: key === originalKey
                      ? rl.resource
                      : { attributes: toKeyValues(entry.resource), droppedAttributesCount: 0 },
                    scopeLogs: [],
                    schemaUrl: rl.schemaUrl,
                  });
                }
              }
              list.push(next);
            });
          }
          for (const [key, records] of perResource) {
            byResource.get(key)!.scopeLogs.push({
              scope: sl.scope,
              logRecords: records,
              schemaUrl: sl.schemaUrl,
            });
          }
        }
        out.push(...byResource.values());
      }
      data.resourceLogs = out;
      if (out.length === 0) return Promise.resolve();
      return next.consume(payload);
    },
    start: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
  };
}

function jsonSafe(_k: string, v: unknown): unknown {
  return typeof v === "bigint" ? `${v}n` : v instanceof Uint8Array ? [...v] : v;
}

/** The `logstransform` processor factory. */
export const logstransformFactory: ProcessorFactory<LogstransformConfig> = {
  kind: "processor",
  type: "logstransform",
  configSchema: logstransformConfigSchema,
  signals: { logs: "development" },
  create: <S extends Signal>(
    settings: { config: LogstransformConfig; logger: Logger },
    _signal: S,
    next: Consumer<S>,
  ) =>
    createLogstransformProcessor(
      settings.config,
      next as unknown as Consumer<"logs">,
      settings.logger,
    ) as unknown as Processor<S>,
};
