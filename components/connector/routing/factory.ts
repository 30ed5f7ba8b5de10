/**
 * The `routing` connector: sends each part of the data to the pipelines of the first route that
 * takes it, as the Collector contrib's. Routes run in table order on what earlier `move` routes
 * left; a `copy` route sends a copy and leaves the data for later routes. Routes naming the same
 * pipelines share one delivery per payload. What no route took goes to `default_pipelines` (or
 * nowhere). A condition that fails follows `error_mode`: `propagate` refuses the payload
 * (permanently: retrying cannot help), `ignore` and `silent` count it as no match.
 *
 * Data a route takes whole (the `request` context, or every resource matching) keeps its encoded
 * form, so a pass-through behind the connector does not re-encode it.
 *
 * @module
 */
import type { Connector, ConnectorConfigIssue, ConnectorFactory } from "../../component.ts";
import {
  type Consumer,
  ConsumerError,
  isPermanent,
  permanentError,
  type SignalConsumers,
} from "../../../lib/consumer/consumer.ts";
import { createErrorHandler, type ErrorHandler } from "../../../lib/ottl/error_mode.ts";
import {
  compileConditions,
  FILTER_FUNCTIONS,
  newTransformContext,
  type TransformContext,
} from "../../../lib/ottl/mod.ts";
import { cloneData } from "../../../lib/pdata/clone.ts";
import { Payload } from "../../../lib/pdata/payload.ts";
import type {
  LogsData,
  Metric,
  MetricsData,
  Signal,
  SignalData,
  TracesData,
} from "../../../lib/pdata/types.ts";
import { type Logger, NOOP_LOGGER } from "../../../lib/telemetry/logger.ts";
import { matchRequest, parseRequestCondition, type RequestCondition } from "./_request.ts";
import {
  CONTEXT_SIGNALS,
  type RouteConfig,
  type RoutingConfig,
  routingConfigSchema,
  statementCondition,
} from "./config.ts";

/** One compiled route. */
interface Route {
  readonly context: RouteConfig["context"];
  readonly action: "move" | "copy";
  readonly text: string;
  /** The item test; undefined for `route()` without a condition (always true). */
  readonly test: ((ctx: TransformContext) => boolean) | undefined;
  readonly request: RequestCondition | undefined;
  /** The delivery key of its pipelines. */
  readonly target: string;
}

/** What a route pass takes from the data. */
type Take = (ctx: TransformContext) => boolean;

function compileRoute(route: RouteConfig): Route {
  const target = [...route.pipelines].sort().join("\u0000");
  if (route.context === "request") {
    const r = parseRequestCondition(route.condition!);
    if (typeof r === "string") throw new Error(r);
    return {
      context: "request",
      action: route.action,
      text: route.condition!,
      test: undefined,
      request: r,
      target,
    };
  }
  const text = route.statement !== undefined && route.statement !== ""
    ? route.statement
    : route.condition!;
  const condition = route.statement !== undefined && route.statement !== ""
    ? statementCondition(route.statement)!
    : route.condition!;
  let test: Route["test"];
  if (condition !== "") {
    const r = compileConditions([condition], {
      signal: CONTEXT_SIGNALS[route.context]![0]!,
      context: route.context,
      functions: FILTER_FUNCTIONS,
    });
    if (!r.ok) throw new Error(`Invalid routing condition "${condition}"`);
    const compiled = r.items[0]!;
    test = (ctx) => compiled.evaluate(ctx);
  }
  return { context: route.context, action: route.action, text, test, request: undefined, target };
}

/** Takes the matching parts of traces out of `data` (move) or copies them (copy). */
function takeTraces(
  data: TracesData,
  context: string,
  copy: boolean,
  take: Take,
  ctx: TransformContext,
): TracesData {
  const out: TracesData = { resourceSpans: [] };
  if (context !== "resource" && context !== "span") return out;
  const keptResources = [];
  for (const rs of data.resourceSpans) {
    ctx.resource = rs.resource;
    ctx.resourceHolder = rs;
    if (context === "resource") {
      const hit = take(ctx);
      if (hit) {
        out.resourceSpans.push(
          copy ? cloneData("traces", { resourceSpans: [rs] }).resourceSpans[0]! : rs,
        );
      }
      if (!hit || copy) keptResources.push(rs);
      continue;
    }
    const scopes = [];
    const keptScopes = [];
    for (const ss of rs.scopeSpans) {
      ctx.scope = ss.scope;
      ctx.scopeHolder = ss;
      const hits = [];
      const kept = [];
      for (const span of ss.spans) {
        ctx.span = span;
        ctx.cache = undefined;
        if (take(ctx)) {
          hits.push(span);
          if (copy) kept.push(span);
        } else kept.push(span);
      }
      if (hits.length > 0) scopes.push({ ...ss, spans: hits });
      ss.spans = kept;
      if (kept.length > 0) keptScopes.push(ss);
    }
    if (scopes.length > 0) {
      const part = { ...rs, scopeSpans: scopes };
      // The taken part gets containers of its own: the rest may go to another pipeline.
      out.resourceSpans.push(cloneData("traces", { resourceSpans: [part] }).resourceSpans[0]!);
    }
    rs.scopeSpans = keptScopes;
    if (keptScopes.length > 0) keptResources.push(rs);
  }
  data.resourceSpans = keptResources;
  return out;
}

/** Takes the matching parts of metrics out of `data` (move) or copies them (copy). */
function takeMetrics(
  data: MetricsData,
  context: string,
  copy: boolean,
  take: Take,
  ctx: TransformContext,
): MetricsData {
  const out: MetricsData = { resourceMetrics: [] };
  if (context !== "resource" && context !== "metric" && context !== "datapoint") return out;
  const keptResources = [];
  for (const rm of data.resourceMetrics) {
    ctx.resource = rm.resource;
    ctx.resourceHolder = rm;
    if (context === "resource") {
      const hit = take(ctx);
      if (hit) {
        out.resourceMetrics.push(
          copy ? cloneData("metrics", { resourceMetrics: [rm] }).resourceMetrics[0]! : rm,
        );
      }
      if (!hit || copy) keptResources.push(rm);
      continue;
    }
    const scopes = [];
    const keptScopes = [];
    for (const sm of rm.scopeMetrics) {
      ctx.scope = sm.scope;
      ctx.scopeHolder = sm;
      ctx.metrics = sm.metrics;
      const hits: Metric[] = [];
      const kept: Metric[] = [];
      for (const metric of sm.metrics) {
        ctx.metric = metric;
        ctx.cache = undefined;
        if (context === "metric") {
          if (take(ctx)) {
            hits.push(metric);
            if (copy) kept.push(metric);
          } else kept.push(metric);
          continue;
        }
        const d = metric.data;
        if (d === undefined) {
          kept.push(metric);
          continue;
        }
        const points = d.dataPoints as TransformContext["datapoint"][];
        const hitPoints = [];
        const keptPoints = [];
        for (const p of points) {
          ctx.datapoint = p;
          ctx.cache = undefined;
          if (take(ctx)) {
            hitPoints.push(p);
            if (copy) keptPoints.push(p);
          } else keptPoints.push(p);
        }
        if (hitPoints.length > 0) {
          hits.push({ ...metric, data: { ...d, dataPoints: hitPoints } as Metric["data"] });
        }
        (d as { dataPoints: unknown[] }).dataPoints = keptPoints;
        if (keptPoints.length > 0) kept.push(metric);
      }
      if (hits.length > 0) scopes.push({ ...sm, metrics: hits });
      sm.metrics = kept;
      if (kept.length > 0) keptScopes.push(sm);
    }
    if (scopes.length > 0) {
      const part = { ...rm, scopeMetrics: scopes };
      out.resourceMetrics.push(
        cloneData("metrics", { resourceMetrics: [part] }).resourceMetrics[0]!,
      );
    }
    rm.scopeMetrics = keptScopes;
    if (keptScopes.length > 0) keptResources.push(rm);
  }
  data.resourceMetrics = keptResources;
  return out;
}

/** Takes the matching parts of logs out of `data` (move) or copies them (copy). */
function takeLogs(
  data: LogsData,
  context: string,
  copy: boolean,
  take: Take,
  ctx: TransformContext,
): LogsData {
  const out: LogsData = { resourceLogs: [] };
  if (context !== "resource" && context !== "log") return out;
  const keptResources = [];
  for (const rl of data.resourceLogs) {
    ctx.resource = rl.resource;
    ctx.resourceHolder = rl;
    if (context === "resource") {
      const hit = take(ctx);
      if (hit) {
        out.resourceLogs.push(
          copy ? cloneData("logs", { resourceLogs: [rl] }).resourceLogs[0]! : rl,
        );
      }
      if (!hit || copy) keptResources.push(rl);
      continue;
    }
    const scopes = [];
    const keptScopes = [];
    for (const sl of rl.scopeLogs) {
      ctx.scope = sl.scope;
      ctx.scopeHolder = sl;
      const hits = [];
      const kept = [];
      for (const record of sl.logRecords) {
        ctx.log = record;
        ctx.cache = undefined;
        if (take(ctx)) {
          hits.push(record);
          if (copy) kept.push(record);
        } else kept.push(record);
      }
      if (hits.length > 0) scopes.push({ ...sl, logRecords: hits });
      sl.logRecords = kept;
      if (kept.length > 0) keptScopes.push(sl);
    }
    if (scopes.length > 0) {
      const part = { ...rl, scopeLogs: scopes };
      out.resourceLogs.push(cloneData("logs", { resourceLogs: [part] }).resourceLogs[0]!);
    }
    rl.scopeLogs = keptScopes;
    if (keptScopes.length > 0) keptResources.push(rl);
  }
  data.resourceLogs = keptResources;
  return out;
}

const TAKE = {
  traces: takeTraces,
  metrics: takeMetrics,
  logs: takeLogs,
} as unknown as Record<
  Signal,
  (
    d: SignalData[Signal],
    c: string,
    copy: boolean,
    t: Take,
    ctx: TransformContext,
  ) => SignalData[Signal]
>;

function resourcesOf(signal: Signal, data: SignalData[Signal]): unknown[] {
  return signal === "traces"
    ? (data as TracesData).resourceSpans
    : signal === "metrics"
    ? (data as MetricsData).resourceMetrics
    : (data as LogsData).resourceLogs;
}

function emptyOf(signal: Signal): SignalData[Signal] {
  return signal === "traces"
    ? { resourceSpans: [] }
    : signal === "metrics"
    ? { resourceMetrics: [] }
    : { resourceLogs: [] };
}

/** Combines refusals: permanent only when all are. */
function combine(errors: unknown[]): unknown {
  if (errors.length === 1) return errors[0];
  const message = errors.map((e) => e instanceof Error ? e.message : String(e)).join("; ");
  return new ConsumerError(message, errors.every(isPermanent), {
    cause: new AggregateError(errors),
  });
}

/** Options of {@linkcode createRoutingConnector}. */
export interface RoutingOptions {
  /** @default no logging */
  readonly logger?: Logger;
}

/**
 * Creates one routing connector for `inputs`.
 * @param route the consumer of a list of pipelines (the graph's)
 */
export function createRoutingConnector(
  config: RoutingConfig,
  inputs: readonly Signal[],
  route: (pipelineIds: readonly string[]) => Consumer,
  options: RoutingOptions = {},
): Connector {
  const logger = options.logger ?? NOOP_LOGGER;
  const onError: ErrorHandler = createErrorHandler(config.error_mode, { logger });
  const seen = new Set<string>();
  const routes: Route[] = [];
  const targets = new Map<string, readonly string[]>();
  for (const item of config.table) {
    const r = compileRoute(item);
    const key = `${r.context}\u0000${r.text}`;
    if (seen.has(key)) {
      logger.warn(
        `Statement "${r.text}" already exists in the routing table, the route with target ` +
          `pipeline(s) "${item.pipelines.join(", ")}" will be ignored`,
      );
      continue;
    }
    seen.add(key);
    routes.push(r);
    targets.set(r.target, item.pipelines);
  }
  const defaultTarget = config.default_pipelines.length > 0
    ? [...config.default_pipelines].sort().join("\u0000")
    : undefined;
  if (defaultTarget !== undefined) targets.set(defaultTarget, config.default_pipelines);

  /** The delivery of each target for one signal: its pipelines of that signal only. */
  const consumersFor = (signal: Signal): Map<string, Consumer> => {
    const out = new Map<string, Consumer>();
    for (const [key, ids] of targets) {
      const own = ids.filter((id) => id.split("/")[0] === signal);
      if (own.length > 0) out.set(key, route(own));
    }
    return out;
  };

  const make = <S extends Signal>(signal: S): Consumer<S> => {
    const deliver = consumersFor(signal);
    const ctx = newTransformContext();
    return {
      mutatesData: true,
      async consume(payload) {
        let rest = payload.read() as SignalData[Signal];
        let touched = false;
        const groups = new Map<string, SignalData[Signal][]>();
        let whole: string[] = [];
        const add = (target: string, part: SignalData[Signal]) => {
          if (resourcesOf(signal, part).length === 0) return;
          const list = groups.get(target) ?? [];
          list.push(part);
          groups.set(target, list);
        };
        for (const r of routes) {
          if (resourcesOf(signal, rest).length === 0) break;
          if (!deliver.has(r.target)) continue;
          if (r.request !== undefined) {
            if (!matchRequest(r.request, payload.client)) continue;
            if (r.action === "copy") {
              add(r.target, cloneData(signal as Signal, rest as never));
              touched = true;
            } else {
              if (!touched) whole = [r.target];
              else add(r.target, rest);
              rest = emptyOf(signal);
              break;
            }
            continue;
          }
          if (!CONTEXT_SIGNALS[r.context]!.includes(signal)) continue;
          const test = r.test;
          const take: Take = test === undefined ? () => true : (c) => {
            try {
              return test(c);
            } catch (error) {
              try {
                onError(error, r.text);
              } catch (e) {
                throw permanentError(
                  `The routing connector could not evaluate "${r.text}": ${
                    e instanceof Error ? e.message : String(e)
                  }`,
                  { cause: e },
                );
              }
              return false;
            }
          };
          const before = resourcesOf(signal, rest).length;
          const part = TAKE[signal](rest, r.context, r.action === "copy", take, ctx);
          if (resourcesOf(signal, part).length === 0) continue;
          if (
            !touched && r.action === "move" && r.context === "resource" &&
            resourcesOf(signal, rest).length === 0 && resourcesOf(signal, part).length === before
          ) {
            // Every resource moved: the route takes the payload as it came.
            restore(signal, rest, part);
            whole = [r.target];
            break;
          }
          touched = true;
          add(r.target, part);
        }
        const fallback = defaultTarget !== undefined && deliver.has(defaultTarget)
          ? defaultTarget
          : undefined;
        if (!touched && whole.length === 0 && fallback !== undefined) {
          if (resourcesOf(signal, rest).length > 0) whole = [fallback];
        } else if (fallback !== undefined) add(fallback, rest);
        // The data was taken apart in place: its encoded form no longer matches.
        if (touched) payload.edit();
        const sends: Promise<void>[] = [];
        for (const target of whole) sends.push(deliver.get(target)!.consume(payload as never));
        for (const [target, parts] of groups) {
          const merged = parts.length === 1 ? parts[0]! : mergeParts(signal, parts);
          sends.push(
            deliver.get(target)!.consume(
              Payload.of(signal, merged as SignalData[S], payload.client) as never,
            ),
          );
        }
        const results = await Promise.allSettled(sends);
        const errors = results.flatMap((r) => r.status === "rejected" ? [r.reason] : []);
        if (errors.length > 0) throw combine(errors);
      },
    };
  };

  const consumers: SignalConsumers = {};
  for (const signal of inputs) {
    if (signal === "traces") consumers.traces = make("traces");
    if (signal === "metrics") consumers.metrics = make("metrics");
    if (signal === "logs") consumers.logs = make("logs");
  }
  return { consumers, start: () => Promise.resolve(), shutdown: () => Promise.resolve() };
}

/** Gives `data` back the resources taken into `part` (which took them all, in order). */
function restore(signal: Signal, data: SignalData[Signal], part: SignalData[Signal]): void {
  if (signal === "traces") {
    (data as TracesData).resourceSpans = (part as TracesData).resourceSpans;
  } else if (signal === "metrics") {
    (data as MetricsData).resourceMetrics = (part as MetricsData).resourceMetrics;
  } else (data as LogsData).resourceLogs = (part as LogsData).resourceLogs;
}

function mergeParts(signal: Signal, parts: SignalData[Signal][]): SignalData[Signal] {
  const out = emptyOf(signal);
  const into = resourcesOf(signal, out);
  for (const p of parts) into.push(...resourcesOf(signal, p));
  return out;
}

/** Checks the pipelines the table names against those that receive from the connector. */
function checkPipelines(
  config: RoutingConfig,
  pipelines: { exporters: readonly Signal[]; receivers: readonly { id: string; signal: Signal }[] },
): ConnectorConfigIssue[] {
  const issues: ConnectorConfigIssue[] = [];
  const known = new Map(pipelines.receivers.map((p) => [p.id, p.signal]));
  const check = (ids: readonly string[], path: (string | number)[]) =>
    ids.forEach((pid, i) => {
      const signal = known.get(pid);
      if (signal === undefined) {
        issues.push({
          path: [...path, i],
          message: `pipeline "${pid}" does not receive from this connector (receiving: ${
            [...known.keys()].join(", ") || "none"
          })`,
        });
      } else if (!pipelines.exporters.includes(signal)) {
        issues.push({
          path: [...path, i],
          message:
            `pipeline "${pid}" is a ${signal} pipeline, but no ${signal} reach this connector`,
        });
      }
    });
  config.table.forEach((r, i) => {
    check(r.pipelines, ["table", i, "pipelines"]);
    const signals = CONTEXT_SIGNALS[r.context]!;
    if (!pipelines.exporters.some((s) => signals.includes(s))) {
      issues.push({
        path: ["table", i, "context"],
        message: `context "${r.context}" never applies to the ${
          pipelines.exporters.join(", ")
        } this connector receives`,
      });
    }
  });
  check(config.default_pipelines, ["default_pipelines"]);
  return issues;
}

/** The `routing` connector factory. */
export const routingFactory: ConnectorFactory<RoutingConfig> = {
  kind: "connector",
  type: "routing",
  configSchema: routingConfigSchema,
  routes: {
    traces: { traces: "alpha" },
    metrics: { metrics: "alpha" },
    logs: { logs: "alpha" },
  },
  checkPipelines,
  create(settings, inputs, _next, router): Connector {
    if (router === undefined) {
      throw new Error("The routing connector needs the pipelines it routes to");
    }
    return createRoutingConnector(settings.config, inputs, router, { logger: settings.logger });
  },
};
