/**
 * Walks decoded telemetry and calls a function once per item of one context, with the
 * {@linkcode TransformContext} filled in. Lists are walked by index against their current length,
 * so metrics a function appends (`extract_sum_metric`) are visited too, as in the Collector.
 *
 * @module
 */
import type { LogsData, MetricsData, Signal, SignalData, TracesData } from "../pdata/types.ts";
import type { ContextName, TransformContext } from "./context.ts";

/** Called once per item; the context is reused between calls. */
export type Visit = (ctx: TransformContext) => void;

function walkTraces(
  data: TracesData,
  context: ContextName,
  ctx: TransformContext,
  visit: Visit,
): void {
  for (const rs of data.resourceSpans) {
    ctx.resource = rs.resource;
    ctx.resourceHolder = rs;
    if (context === "resource") {
      ctx.cache = undefined;
      visit(ctx);
      continue;
    }
    for (const ss of rs.scopeSpans) {
      ctx.scope = ss.scope;
      ctx.scopeHolder = ss;
      if (context === "scope") {
        ctx.cache = undefined;
        visit(ctx);
        continue;
      }
      for (let i = 0; i < ss.spans.length; i++) {
        const span = ss.spans[i]!;
        ctx.span = span;
        if (context === "span") {
          ctx.cache = undefined;
          visit(ctx);
          continue;
        }
        for (let j = 0; j < span.events.length; j++) {
          ctx.event = span.events[j];
          ctx.eventIndex = j;
          ctx.cache = undefined;
          visit(ctx);
        }
      }
    }
  }
}

function walkMetrics(
  data: MetricsData,
  context: ContextName,
  ctx: TransformContext,
  visit: Visit,
): void {
  for (const rm of data.resourceMetrics) {
    ctx.resource = rm.resource;
    ctx.resourceHolder = rm;
    if (context === "resource") {
      ctx.cache = undefined;
      visit(ctx);
      continue;
    }
    for (const sm of rm.scopeMetrics) {
      ctx.scope = sm.scope;
      ctx.scopeHolder = sm;
      if (context === "scope") {
        ctx.cache = undefined;
        visit(ctx);
        continue;
      }
      ctx.metrics = sm.metrics;
      for (let i = 0; i < sm.metrics.length; i++) {
        const metric = sm.metrics[i]!;
        ctx.metric = metric;
        if (context === "metric") {
          ctx.cache = undefined;
          visit(ctx);
          continue;
        }
        const points = metric.data?.dataPoints;
        if (points === undefined) continue;
        for (let j = 0; j < points.length; j++) {
          ctx.datapoint = points[j];
          ctx.cache = undefined;
          visit(ctx);
        }
      }
    }
  }
}

function walkLogs(data: LogsData, context: ContextName, ctx: TransformContext, visit: Visit): void {
  for (const rl of data.resourceLogs) {
    ctx.resource = rl.resource;
    ctx.resourceHolder = rl;
    if (context === "resource") {
      ctx.cache = undefined;
      visit(ctx);
      continue;
    }
    for (const sl of rl.scopeLogs) {
      ctx.scope = sl.scope;
      ctx.scopeHolder = sl;
      if (context === "scope") {
        ctx.cache = undefined;
        visit(ctx);
        continue;
      }
      for (let i = 0; i < sl.logRecords.length; i++) {
        ctx.log = sl.logRecords[i];
        ctx.cache = undefined;
        visit(ctx);
      }
    }
  }
}

/** Calls `visit` for every item of `context` in `data`. */
export function walk<S extends Signal>(
  signal: S,
  data: SignalData[S],
  context: ContextName,
  ctx: TransformContext,
  visit: Visit,
): void {
  if (signal === "traces") walkTraces(data as TracesData, context, ctx, visit);
  else if (signal === "metrics") walkMetrics(data as MetricsData, context, ctx, visit);
  else walkLogs(data as LogsData, context, ctx, visit);
}
