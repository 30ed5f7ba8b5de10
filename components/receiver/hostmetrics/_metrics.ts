/**
 * Metric definitions and a small builder, in the manner of the Collector's mdatagen: each scraper
 * declares its metrics (name, unit, type, default on/off) once; the config schema and the emitted
 * metrics both come from that declaration.
 *
 * @module
 */
import { z } from "../../../lib/config/z.js";
import { cumulativeSumOf, gaugeOf, newMetric, newNumberDataPoint } from "../../../lib/pdata/new.ts";
import type { KeyValue, Metric, NumberDataPoint } from "../../../lib/pdata/types.ts";

/** One metric a scraper can emit. */
export interface MetricDef {
  readonly description: string;
  readonly unit: string;
  /** Emitted unless the config turns it off. */
  readonly enabled: boolean;
  readonly type: "sum" | "gauge";
  /** For sums: a counter (true) or an up-down counter (false). */
  readonly monotonic?: boolean;
  /** `as_double` values (true) or `as_int` (false). */
  readonly double: boolean;
}

/** A scraper's metrics by name. */
export type MetricDefs = Readonly<Record<string, MetricDef>>;

const toggleSchema = z.strictObject({ enabled: z.boolean() });

/** The `metrics: {<name>: {enabled}}` schema for a scraper's metrics; unknown names are errors. */
export function metricsSchema<D extends MetricDefs>(defs: D) {
  const shape = {} as { [K in keyof D]: z.ZodOptional<typeof toggleSchema> };
  for (const name of Object.keys(defs) as (keyof D)[]) shape[name] = toggleSchema.optional();
  return z.strictObject(shape).default({} as never);
}

/** The names enabled once the config's overrides are laid on the defaults. */
export function enabledMetrics(
  defs: MetricDefs,
  overrides: Readonly<Record<string, { enabled: boolean } | undefined>> | undefined,
): Set<string> {
  const out = new Set<string>();
  for (const [name, def] of Object.entries(defs)) {
    if (overrides?.[name]?.enabled ?? def.enabled) out.add(name);
  }
  return out;
}

/** Collects data points per metric and emits them as OTLP metrics. */
export class MetricsBuilder {
  readonly #defs: MetricDefs;
  readonly #enabled: ReadonlySet<string>;
  #points = new Map<string, NumberDataPoint[]>();

  constructor(defs: MetricDefs, enabled: ReadonlySet<string>) {
    this.#defs = defs;
    this.#enabled = enabled;
  }

  /** True when `name` is enabled. */
  enabled(name: string): boolean {
    return this.#enabled.has(name);
  }

  /** True when any of `names` is enabled. */
  anyEnabled(...names: string[]): boolean {
    return names.some((n) => this.#enabled.has(n));
  }

  /**
   * Records one data point; a no-op for a disabled metric.
   * @param start the start time of sums (ignored for gauges)
   */
  record(name: string, value: number, attributes: KeyValue[], time: bigint, start: bigint): void {
    if (!this.#enabled.has(name)) return;
    const def = this.#defs[name];
    if (def === undefined) throw new Error(`Metric "${name}" is not defined`);
    let points = this.#points.get(name);
    if (points === undefined) {
      points = [];
      this.#points.set(name, points);
    }
    points.push(newNumberDataPoint({
      attributes,
      startTimeUnixNano: def.type === "sum" ? start : 0n,
      timeUnixNano: time,
      value: def.double ? value : toInt64(value),
    }));
  }

  /** The metrics recorded since the last emit, in definition order; resets the builder. */
  emit(): Metric[] {
    const out: Metric[] = [];
    for (const [name, def] of Object.entries(this.#defs)) {
      const points = this.#points.get(name);
      if (points === undefined || points.length === 0) continue;
      out.push(newMetric({
        name,
        description: def.description,
        unit: def.unit,
        data: def.type === "sum"
          ? cumulativeSumOf(points, def.monotonic ?? false)
          : gaugeOf(points),
      }));
    }
    this.#points = new Map();
    return out;
  }
}

const INT64_MAX = 2n ** 63n - 1n;

/** An OTLP int value; /proc reports "unlimited" as 2^63-1, which a double rounds past. */
function toInt64(value: number): bigint {
  if (value >= 9.223372036854776e18) return INT64_MAX;
  return BigInt(Math.round(value));
}

/** Attributes from alternating key, value strings (cheaper than building a record per point). */
export function attrs(...kv: string[]): KeyValue[] {
  const out: KeyValue[] = [];
  for (let i = 0; i + 1 < kv.length; i += 2) out.push({ key: kv[i]!, value: kv[i + 1]! });
  return out;
}
