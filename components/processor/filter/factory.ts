/**
 * The `filter` processor: drops spans, span events, metrics, data points and log records for
 * which any OTTL condition is true, or which the older `include`/`exclude` blocks reject.
 * Containers left empty are removed; a payload left empty is not passed on at all.
 *
 * @module
 */
import type { Processor, ProcessorFactory } from "../../component.ts";
import type { Consumer } from "../../../lib/consumer/consumer.ts";
import { permanentError } from "../../../lib/consumer/consumer.ts";
import type { Payload } from "../../../lib/pdata/payload.ts";
import type {
  LogsData,
  Metric,
  MetricsData,
  Signal,
  SignalData,
  TracesData,
} from "../../../lib/pdata/types.ts";
import { createErrorHandler, type ErrorHandler } from "../../../lib/ottl/error_mode.ts";
import {
  compileConditions,
  type CompiledCondition,
  newTransformContext,
  type TransformContext,
} from "../../../lib/ottl/mod.ts";
import { compileMatcher, type Matcher } from "../../../lib/processing/match.ts";
import { itemNeeds } from "../../../lib/ottl/fields.ts";
import { ALL_FIELDS, type Needs, NOTHING, SPAN, unionNeeds } from "../../../lib/pdata/fields.ts";
import type { Logger } from "../../../lib/telemetry/logger.ts";
import type { Counter } from "../../../lib/telemetry/metrics.ts";
import { conditionLists, type FilterConfig, filterConfigSchema, legacyBlocks } from "./config.ts";

type Test = (ctx: TransformContext) => boolean;

/** True when any condition holds; a failing condition follows `error_mode` (counts as false). */
function anyOf(conds: CompiledCondition[] | undefined, handle: ErrorHandler): Test | undefined {
  if (conds === undefined || conds.length === 0) return undefined;
  return (ctx) => {
    for (const c of conds) {
      try {
        if (c.evaluate(ctx)) return true;
      } catch (error) {
        handle(error, c.text);
      }
    }
    return false;
  };
}

interface Filters {
  item: Test | undefined;
  sub: Test | undefined;
  include: Matcher | undefined;
  exclude: Matcher | undefined;
}

/**
 * `list` without the elements `keep` rejects; sets `removed.any` when there were any. The same
 * array comes back when nothing goes, so a payload that loses nothing is left as it was.
 */
function kept<T>(list: T[], keep: (item: T, i: number) => boolean, removed: Removed): T[] {
  for (let i = 0; i < list.length; i++) {
    if (keep(list[i]!, i)) continue;
    // The first element to go: copy what came before, then filter the rest.
    const out = list.slice(0, i);
    for (let j = i + 1; j < list.length; j++) if (keep(list[j]!, j)) out.push(list[j]!);
    removed.any = true;
    return out;
  }
  return list;
}

/** Whether a filter pass removed anything. */
interface Removed {
  any: boolean;
}

function filterTraces(data: TracesData, f: Filters, ctx: TransformContext, removed: Removed): void {
  data.resourceSpans = kept(data.resourceSpans, (rs) => {
    ctx.resource = rs.resource;
    ctx.resourceHolder = rs;
    const incRes = f.include === undefined || f.include.resource(rs.resource);
    const excRes = f.exclude !== undefined && f.exclude.resource(rs.resource);
    rs.scopeSpans = kept(rs.scopeSpans, (ss) => {
      ctx.scope = ss.scope;
      ctx.scopeHolder = ss;
      const inc = incRes && (f.include === undefined || f.include.scope(ss.scope));
      const exc = excRes && f.exclude!.scope(ss.scope);
      ss.spans = kept(ss.spans, (span) => {
        if (f.include !== undefined && !(inc && f.include.span(span))) return false;
        if (f.exclude !== undefined && exc && f.exclude.span(span)) return false;
        ctx.span = span;
        ctx.cache = undefined;
        if (f.item !== undefined && f.item(ctx)) return false;
        if (f.sub !== undefined && span.events.length > 0) {
          span.events = kept(span.events, (event, i) => {
            ctx.event = event;
            ctx.eventIndex = i;
            ctx.cache = undefined;
            return !f.sub!(ctx);
          }, removed);
        }
        return true;
      }, removed);
      return ss.spans.length > 0;
    }, removed);
    return rs.scopeSpans.length > 0;
  }, removed);
}

function filterMetrics(
  data: MetricsData,
  f: Filters,
  ctx: TransformContext,
  removed: Removed,
): void {
  data.resourceMetrics = kept(data.resourceMetrics, (rm) => {
    ctx.resource = rm.resource;
    ctx.resourceHolder = rm;
    const incRes = f.include === undefined || f.include.resource(rm.resource);
    const excRes = f.exclude !== undefined && f.exclude.resource(rm.resource);
    rm.scopeMetrics = kept(rm.scopeMetrics, (sm) => {
      ctx.scope = sm.scope;
      ctx.scopeHolder = sm;
      ctx.metrics = sm.metrics;
      sm.metrics = kept(sm.metrics, (metric: Metric) => {
        if (f.include !== undefined && !(incRes && f.include.metric(metric))) return false;
        if (f.exclude !== undefined && excRes && f.exclude.metric(metric)) return false;
        ctx.metric = metric;
        ctx.cache = undefined;
        if (f.item !== undefined && f.item(ctx)) return false;
        const d = metric.data;
        if (f.sub !== undefined && d !== undefined) {
          const points = kept(d.dataPoints as TransformContext["datapoint"][], (p) => {
            ctx.datapoint = p;
            ctx.cache = undefined;
            return !f.sub!(ctx);
          }, removed);
          (d as { dataPoints: unknown[] }).dataPoints = points;
          return points.length > 0;
        }
        return true;
      }, removed);
      return sm.metrics.length > 0;
    }, removed);
    return rm.scopeMetrics.length > 0;
  }, removed);
}

function filterLogs(data: LogsData, f: Filters, ctx: TransformContext, removed: Removed): void {
  data.resourceLogs = kept(data.resourceLogs, (rl) => {
    ctx.resource = rl.resource;
    ctx.resourceHolder = rl;
    const incRes = f.include === undefined || f.include.resource(rl.resource);
    const excRes = f.exclude !== undefined && f.exclude.resource(rl.resource);
    rl.scopeLogs = kept(rl.scopeLogs, (sl) => {
      ctx.scope = sl.scope;
      ctx.scopeHolder = sl;
      sl.logRecords = kept(sl.logRecords, (record) => {
        if (f.include !== undefined && !(incRes && f.include.log(record))) return false;
        if (f.exclude !== undefined && excRes && f.exclude.log(record)) return false;
        ctx.log = record;
        ctx.cache = undefined;
        return f.item === undefined || !f.item(ctx);
      }, removed);
      return sl.logRecords.length > 0;
    }, removed);
    return rl.scopeLogs.length > 0;
  }, removed);
}

function isEmpty(signal: Signal, data: SignalData[Signal]): boolean {
  if (signal === "traces") return (data as TracesData).resourceSpans.length === 0;
  if (signal === "metrics") return (data as MetricsData).resourceMetrics.length === 0;
  return (data as LogsData).resourceLogs.length === 0;
}

/** Options: where run-time failures are logged and counted. */
export interface FilterOptions {
  logger: Logger;
  counter?: Counter;
}

/** Creates one filter processor instance. */
export function createFilterProcessor<S extends Signal>(
  config: FilterConfig,
  signal: S,
  next: Consumer<S>,
  options: FilterOptions,
): Processor<S> {
  const handle = createErrorHandler(config.error_mode, {
    logger: options.logger,
    ...(options.counter === undefined ? {} : { counter: options.counter }),
  });
  const compiled = new Map<string, CompiledCondition[]>();
  // The item fields the conditions read (span events when span events may be dropped); the
  // older include/exclude blocks read whole items.
  let needs: Needs = NOTHING;
  for (const [s, key, context, list] of conditionLists(config)) {
    if (s !== signal) continue;
    const r = compileConditions(list, { signal, context });
    if (!r.ok) throw new Error(`Invalid filter condition: ${r.issues[0]!.message}`);
    compiled.set(key, r.items);
    needs = unionNeeds(needs, itemNeeds(signal, r.context, r.items));
  }
  const legacy = legacyBlocks(config, signal);
  if (legacy.include !== undefined || legacy.exclude !== undefined) {
    needs = { fields: ALL_FIELDS, keys: [] };
  }
  const itemKey = signal === "traces" ? "span" : signal === "metrics" ? "metric" : "log_record";
  const subKey = signal === "traces" ? "spanevent" : "datapoint";
  const filters: Filters = {
    item: anyOf(compiled.get(itemKey), handle),
    sub: anyOf(compiled.get(subKey), handle),
    include: legacy.include === undefined ? undefined : compileMatcher(legacy.include, signal),
    exclude: legacy.exclude === undefined ? undefined : compileMatcher(legacy.exclude, signal),
  };
  const active = filters.item !== undefined || filters.sub !== undefined ||
    filters.include !== undefined || filters.exclude !== undefined;
  const run =
    (signal === "traces" ? filterTraces : signal === "metrics" ? filterMetrics : filterLogs) as (
      data: SignalData[S],
      f: Filters,
      ctx: TransformContext,
      removed: Removed,
    ) => void;
  const ctx = newTransformContext();
  const removed: Removed = { any: false };
  return {
    mutatesData: active,
    needs: unionNeeds(active ? needs : NOTHING, next.needs ?? NOTHING),
    consume(payload: Payload<S>): Promise<void> {
      if (!active) return next.consume(payload);
      // Conditions only read, and a pass that removes nothing leaves every array as it was, so
      // the payload keeps the encoded form it came with (the exporter sends it without encoding
      // again); it is marked edited only when something went.
      const data = payload.read(needs.fields, needs.keys);
      removed.any = false;
      ctx.metadata = payload.client.metadata;
      try {
        run(data, filters, ctx, removed);
      } catch (error) {
        payload.edit(needs.fields, needs.keys);
        return Promise.reject(
          permanentError(`filter failed: ${(error as Error).message}`, { cause: error }),
        );
      }
      if (!removed.any) return next.consume(payload);
      // Removing items changes no field of the items kept (but span events are a span field).
      payload.edit(
        signal === "traces" && filters.sub !== undefined
          ? needs.fields | SPAN.events
          : needs.fields,
      );
      // Like the Collector's ErrSkipProcessingData: nothing left, nothing sent, no error.
      if (isEmpty(signal, data)) return Promise.resolve();
      return next.consume(payload);
    },
    start: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
  };
}

/** The `filter` processor factory. */
export const filterFactory: ProcessorFactory<FilterConfig> = {
  kind: "processor",
  type: "filter",
  configSchema: filterConfigSchema,
  signals: { traces: "alpha", metrics: "alpha", logs: "alpha" },
  create: (settings, signal, next) =>
    createFilterProcessor(settings.config, signal, next, {
      logger: settings.logger,
      counter: settings.meter.counter(
        "otelcol_processor_filter_errors",
        "Number of OTTL conditions that failed at run time.",
      ),
    }),
};
