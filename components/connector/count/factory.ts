/**
 * The `count` connector: counts spans, span events, metrics, data points and log records, per
 * resource and per combination of the configured attributes, into delta sums, as the Collector
 * contrib v0.161's. Each `consume` sends its counts on at once (nothing is held between calls,
 * so no state grows). An item counts for a metric when it has every configured attribute (on the
 * item, its scope or its resource, else the `default_value`) and any of the metric's OTTL
 * conditions holds (no conditions: always). A condition that fails to evaluate refuses the whole
 * payload (the Collector's `propagate`), permanently.
 *
 * Points span the payload's item timestamps: start the earliest, time the latest (now when
 * the items carry none).
 *
 * @module
 */
import type { Connector, ConnectorFactory } from "../../component.ts";
import {
  type Consumer,
  permanentError,
  type SignalConsumers,
} from "../../../lib/consumer/consumer.ts";
import {
  compileConditions,
  type CompiledCondition,
  newTransformContext,
  type TransformContext,
} from "../../../lib/ottl/mod.ts";
import { cloneAnyValue, cloneAttributes } from "../../../lib/pdata/clone.ts";
import { Payload } from "../../../lib/pdata/payload.ts";
import {
  AggregationTemporality,
  type AnyValue,
  type KeyValue,
  type LogsData,
  type Metric,
  type MetricsData,
  type Resource,
  type ResourceMetrics,
  type Signal,
  type TracesData,
} from "../../../lib/pdata/types.ts";
import { configValueToAnyValue } from "../../../lib/processing/value.ts";
import { attributesKey } from "../_attributes_key.ts";
import { type CountConfig, countConfigSchema, type SectionName, SECTIONS } from "./config.ts";

/** The scope name of the counts, as the Collector's. */
export const SCOPE_NAME =
  "github.com/open-telemetry/opentelemetry-collector-contrib/connector/countconnector";

interface MetricDef {
  name: string;
  description: string;
  attributes: { key: string; default: AnyValue; hasDefault: boolean }[];
  conditions: CompiledCondition[];
}

function compileSection(config: CountConfig, section: SectionName): MetricDef[] {
  const s = SECTIONS[section];
  return Object.entries(config[section]).map(([name, info]) => {
    let conditions: CompiledCondition[] = [];
    if (info.conditions.length > 0) {
      const r = compileConditions(info.conditions, { signal: s.signal, context: s.context });
      if (!r.ok) throw new Error(`Invalid condition of ${section} metric "${name}"`);
      conditions = r.items;
    }
    return {
      name,
      description: info.description,
      attributes: info.attributes.map((a) => {
        const v = configValueToAnyValue(a.default_value);
        const value = "value" in v ? v.value : undefined;
        return { key: a.key, default: value, hasDefault: value !== undefined };
      }),
      conditions,
    };
  });
}

function find(list: readonly KeyValue[], key: string): KeyValue | undefined {
  for (let i = 0; i < list.length; i++) if (list[i]!.key === key) return list[i];
  return undefined;
}

/** Counts of one section for one resource. */
class Counter {
  readonly #defs: readonly MetricDef[];
  readonly #counts = new Map<string, Map<string, { attributes: KeyValue[]; count: number }>>();
  #start = 0n;
  #end = 0n;

  constructor(defs: readonly MetricDef[]) {
    this.#defs = defs;
  }

  get empty(): boolean {
    return this.#counts.size === 0;
  }

  timestamp(t: bigint): void {
    if (t === 0n) return;
    if (this.#start === 0n) {
      this.#start = t;
      this.#end = t;
      return;
    }
    if (t < this.#start) this.#start = t;
    if (t > this.#end) this.#end = t;
  }

  /** Counts one item; throws when a condition fails to evaluate. */
  update(
    attributes: readonly KeyValue[],
    scope: readonly KeyValue[],
    resource: readonly KeyValue[],
    ctx: TransformContext,
  ): void {
    for (const def of this.#defs) {
      const picked: KeyValue[] = [];
      for (const a of def.attributes) {
        const kv = find(attributes, a.key) ?? find(scope, a.key) ?? find(resource, a.key);
        const value = kv !== undefined ? kv.value : a.hasDefault ? a.default : undefined;
        if (kv === undefined && !a.hasDefault) continue;
        const at = picked.findIndex((p) => p.key === a.key);
        if (at < 0) picked.push({ key: a.key, value: cloneAnyValue(value) });
        else picked[at]!.value = cloneAnyValue(value);
      }
      // An item without every attribute is not counted (a key configured twice never is).
      if (picked.length !== def.attributes.length) continue;
      if (def.conditions.length > 0) {
        ctx.cache = undefined;
        let match = false;
        for (const c of def.conditions) {
          if (c.evaluate(ctx)) {
            match = true;
            break;
          }
        }
        if (!match) continue;
      }
      let byKey = this.#counts.get(def.name);
      if (byKey === undefined) {
        byKey = new Map();
        this.#counts.set(def.name, byKey);
      }
      const key = attributesKey(picked);
      const entry = byKey.get(key);
      if (entry === undefined) byKey.set(key, { attributes: picked, count: 1 });
      else entry.count++;
    }
  }

  metrics(now: bigint): Metric[] {
    const start = this.#start !== 0n ? this.#start : now;
    const end = this.#start !== 0n ? this.#end : now;
    const out: Metric[] = [];
    for (const def of this.#defs) {
      const byKey = this.#counts.get(def.name);
      if (byKey === undefined || byKey.size === 0) continue;
      out.push({
        name: def.name,
        description: def.description,
        unit: "",
        metadata: [],
        data: {
          type: "sum",
          isMonotonic: true,
          aggregationTemporality: AggregationTemporality.DELTA,
          dataPoints: [...byKey.values()].map((e) => ({
            attributes: e.attributes,
            startTimeUnixNano: start,
            timeUnixNano: end,
            value: BigInt(e.count),
            exemplars: [],
            flags: 0,
          })),
        },
      });
    }
    return out;
  }
}

function resourceMetrics(resource: Resource, counters: Counter[], now: bigint): ResourceMetrics {
  return {
    resource: { attributes: cloneAttributes(resource.attributes), droppedAttributesCount: 0 },
    scopeMetrics: [{
      scope: { name: SCOPE_NAME, version: "", attributes: [], droppedAttributesCount: 0 },
      metrics: counters.flatMap((c) => c.metrics(now)),
      schemaUrl: "",
    }],
    schemaUrl: "",
  };
}

/** Options of {@linkcode createCountConnector}. */
export interface CountOptions {
  /** The current time in Unix nanoseconds, for items without timestamps. @default the clock */
  readonly now?: () => bigint;
}

/** Creates one `count` connector for the given input signals, feeding `next`. */
export function createCountConnector(
  config: CountConfig,
  inputs: readonly Signal[],
  next: Consumer<"metrics">,
  options: CountOptions = {},
): Connector {
  const now = options.now ?? (() => BigInt(Date.now()) * 1_000_000n);
  const defs = {} as Record<SectionName, MetricDef[]>;
  for (const name of Object.keys(SECTIONS) as SectionName[]) {
    defs[name] = compileSection(config, name);
  }
  const ctx = newTransformContext();

  function countTraces(data: TracesData): ResourceMetrics[] {
    const out: ResourceMetrics[] = [];
    for (const rs of data.resourceSpans) {
      const spans = new Counter(defs.spans);
      const events = new Counter(defs.spanevents);
      const resource = rs.resource.attributes;
      ctx.resource = rs.resource;
      ctx.resourceHolder = rs;
      for (const ss of rs.scopeSpans) {
        ctx.scope = ss.scope;
        ctx.scopeHolder = ss;
        for (const span of ss.spans) {
          spans.timestamp(span.startTimeUnixNano);
          spans.timestamp(span.endTimeUnixNano);
          ctx.span = span;
          ctx.event = undefined;
          spans.update(span.attributes, ss.scope.attributes, resource, ctx);
          span.events.forEach((event, i) => {
            events.timestamp(event.timeUnixNano);
            ctx.event = event;
            ctx.eventIndex = i;
            events.update(event.attributes, ss.scope.attributes, resource, ctx);
          });
        }
      }
      if (!spans.empty || !events.empty) {
        out.push(resourceMetrics(rs.resource, [spans, events], now()));
      }
    }
    return out;
  }

  function countMetrics(data: MetricsData): ResourceMetrics[] {
    const out: ResourceMetrics[] = [];
    for (const rm of data.resourceMetrics) {
      const metrics = new Counter(defs.metrics);
      const points = new Counter(defs.datapoints);
      const resource = rm.resource.attributes;
      ctx.resource = rm.resource;
      ctx.resourceHolder = rm;
      for (const sm of rm.scopeMetrics) {
        ctx.scope = sm.scope;
        ctx.scopeHolder = sm;
        ctx.metrics = sm.metrics;
        for (const metric of sm.metrics) {
          ctx.metric = metric;
          ctx.datapoint = undefined;
          metrics.update([], sm.scope.attributes, resource, ctx);
          if (metric.data === undefined) {
            throw permanentError(`metric "${metric.name}": invalid metric type: Empty`);
          }
          for (const p of metric.data.dataPoints) {
            points.timestamp(p.timeUnixNano);
            ctx.datapoint = p;
            points.update(p.attributes, sm.scope.attributes, resource, ctx);
          }
        }
      }
      if (!metrics.empty || !points.empty) {
        out.push(resourceMetrics(rm.resource, [metrics, points], now()));
      }
    }
    return out;
  }

  function countLogs(data: LogsData): ResourceMetrics[] {
    const out: ResourceMetrics[] = [];
    for (const rl of data.resourceLogs) {
      const logs = new Counter(defs.logs);
      const resource = rl.resource.attributes;
      ctx.resource = rl.resource;
      ctx.resourceHolder = rl;
      for (const sl of rl.scopeLogs) {
        ctx.scope = sl.scope;
        ctx.scopeHolder = sl;
        for (const record of sl.logRecords) {
          logs.timestamp(record.timeUnixNano);
          ctx.log = record;
          logs.update(record.attributes, sl.scope.attributes, resource, ctx);
        }
      }
      if (!logs.empty) out.push(resourceMetrics(rl.resource, [logs], now()));
    }
    return out;
  }

  const consumerOf = <S extends Signal>(
    count: (data: never) => ResourceMetrics[],
  ): Consumer<S> => ({
    mutatesData: false,
    async consume(payload) {
      let resourceMetrics: ResourceMetrics[];
      try {
        resourceMetrics = count(payload.read() as never);
      } catch (error) {
        if (error instanceof Error && error.name === "PermanentError") throw error;
        throw permanentError(
          `The count connector could not evaluate a condition: ${
            error instanceof Error ? error.message : String(error)
          }`,
          { cause: error },
        );
      }
      if (resourceMetrics.length === 0) return;
      await next.consume(Payload.of("metrics", { resourceMetrics }, payload.client));
    },
  });

  const consumers: SignalConsumers = {};
  for (const signal of inputs) {
    if (signal === "traces") consumers.traces = consumerOf<"traces">(countTraces);
    if (signal === "metrics") consumers.metrics = consumerOf<"metrics">(countMetrics);
    if (signal === "logs") consumers.logs = consumerOf<"logs">(countLogs);
  }
  return {
    consumers,
    start: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
  };
}

/** The `count` connector factory. */
export const countFactory: ConnectorFactory<CountConfig> = {
  kind: "connector",
  type: "count",
  configSchema: countConfigSchema,
  // One instance, so each count is one series, not one per worker.
  placement: "single",
  routes: {
    traces: { metrics: "alpha" },
    metrics: { metrics: "alpha" },
    logs: { metrics: "alpha" },
  },
  create(settings, inputs, next): Connector {
    const out = next.metrics;
    if (out === undefined) throw new Error("No metrics pipeline receives from this connector");
    return createCountConnector(settings.config, inputs, out);
  },
};
