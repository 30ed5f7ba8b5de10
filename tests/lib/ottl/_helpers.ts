/** Helpers for OTTL tests: one span/log/metric in a context, statements run on it. */
import {
  compileConditions,
  compileStatements,
  type ContextName,
  newTransformContext,
  type TransformContext,
} from "../../../lib/ottl/mod.ts";
import {
  gaugeOf,
  newLogRecord,
  newMetric,
  newNumberDataPoint,
  newResource,
  newScope,
  newSpan,
  newSpanEvent,
} from "../../../lib/pdata/new.ts";
import type { AnyValue, KeyValue, Signal } from "../../../lib/pdata/types.ts";

/** A filled context: a span with one event, a log record, a gauge with one point. */
export function sampleContext(): TransformContext {
  const ctx = newTransformContext();
  ctx.resource = newResource({ attributes: [{ key: "service.name", value: "checkout" }] });
  ctx.scope = newScope({ name: "lib", version: "1.0" });
  ctx.span = newSpan({
    name: "GET /users/123",
    kind: 2,
    traceId: new Uint8Array(16).fill(1),
    spanId: new Uint8Array(8).fill(2),
    startTimeUnixNano: 1_000_000_000n,
    endTimeUnixNano: 3_500_000_000n,
    attributes: [
      { key: "http.method", value: "GET" },
      { key: "http.status_code", value: 200n },
      { key: "ratio", value: 0.5 },
    ],
    events: [newSpanEvent({ name: "exception", attributes: [{ key: "k", value: "v" }] })],
  });
  ctx.event = ctx.span.events[0];
  ctx.log = newLogRecord({
    body: "user=alice action=login",
    severityNumber: 9,
    severityText: "INFO",
    attributes: [{ key: "nested", value: { kvlist: [{ key: "list", value: ["a", "b"] }] } }],
  });
  const point = newNumberDataPoint({ value: 2.5, attributes: [{ key: "host", value: "h1" }] });
  ctx.metric = newMetric({ name: "requests", data: gaugeOf([point]) });
  ctx.metrics = [ctx.metric];
  ctx.datapoint = point;
  return ctx;
}

const SIGNAL: Record<ContextName, Signal> = {
  resource: "traces",
  scope: "traces",
  span: "traces",
  spanevent: "traces",
  metric: "metrics",
  datapoint: "metrics",
  log: "logs",
};

/** Runs statements in `context` on `ctx`; throws the first compile issue. */
export function run(ctx: TransformContext, context: ContextName, ...statements: string[]): void {
  const r = compileStatements(statements, { signal: SIGNAL[context], context });
  if (!r.ok) {
    throw new Error(r.issues.map((i) => `${i.index}@${i.offset}: ${i.message}`).join("; "));
  }
  for (const s of r.items) s.execute(ctx);
}

/** Evaluates a value by setting it into the cache and reading it back. */
export function evaluate(ctx: TransformContext, context: ContextName, expr: string): AnyValue {
  ctx.cache = undefined;
  run(ctx, context, `set(cache["v"], ${expr})`);
  const cache: KeyValue[] = ctx.cache ?? [];
  return cache.find((kv) => kv.key === "v")?.value;
}

/** Evaluates a condition. */
export function holds(ctx: TransformContext, context: ContextName, cond: string): boolean {
  const r = compileConditions([cond], { signal: SIGNAL[context], context });
  if (!r.ok) throw new Error(r.issues.map((i) => `${i.offset}: ${i.message}`).join("; "));
  return r.items[0]!.evaluate(ctx);
}

/** An attribute value by key. */
export function attr(list: readonly KeyValue[], key: string): AnyValue {
  return list.find((kv) => kv.key === key)?.value;
}
