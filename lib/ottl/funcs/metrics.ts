/**
 * The transform processor's metric functions (metric context only): `convert_sum_to_gauge`,
 * `convert_gauge_to_sum`, `extract_sum_metric`, `extract_count_metric`, `scale_metric`,
 * `aggregate_on_attributes`, `copy_metric`.
 *
 * @module
 */
import { cloneData } from "../../pdata/clone.ts";
import type { HistogramDataPoint, KeyValue, Metric, NumberDataPoint } from "../../pdata/types.ts";
import { AggregationTemporality } from "../../pdata/types.ts";
import { OttlRuntimeError } from "../errors.ts";
import type { FunctionDef } from "../function_types.ts";
import type { Getter } from "../paths.ts";
import { copyValue, toJson } from "../values.ts";
import { stringOf } from "./_util.ts";

const METRIC = ["metric"] as const;

function temporality(s: string, fail: (m: string, arg?: number) => never): number {
  if (s === "cumulative") return AggregationTemporality.CUMULATIVE;
  if (s === "delta") return AggregationTemporality.DELTA;
  return fail(`unknown aggregation temporality: ${s}`, 0);
}

const convertSumToGauge: FunctionDef = {
  name: "convert_sum_to_gauge",
  params: [],
  contexts: METRIC,
  create() {
    return (ctx) => {
      const m = ctx.metric!;
      if (m.data?.type === "sum") m.data = { type: "gauge", dataPoints: m.data.dataPoints };
      return undefined;
    };
  },
};

const convertGaugeToSum: FunctionDef = {
  name: "convert_gauge_to_sum",
  params: [{ name: "aggregation_temporality", kind: "string" }, {
    name: "is_monotonic",
    kind: "bool",
  }],
  contexts: METRIC,
  create(args, env) {
    const t = temporality(args[0] as string, env.fail);
    const mono = args[1] as boolean;
    return (ctx) => {
      const m = ctx.metric!;
      if (m.data?.type === "gauge") {
        m.data = {
          type: "sum",
          dataPoints: m.data.dataPoints,
          aggregationTemporality: t,
          isMonotonic: mono,
        };
      }
      return undefined;
    };
  },
};

function numberPoint(
  from: { attributes: KeyValue[]; startTimeUnixNano: bigint; timeUnixNano: bigint },
  value: number | bigint,
): NumberDataPoint {
  return {
    attributes: from.attributes.map((kv) => ({ key: kv.key, value: copyValue(kv.value) })),
    startTimeUnixNano: from.startTimeUnixNano,
    timeUnixNano: from.timeUnixNano,
    value,
    exemplars: [],
    flags: 0,
  };
}

function extract(name: string, kind: "sum" | "count"): FunctionDef {
  return {
    name,
    params: [{ name: "is_monotonic", kind: "bool" }, {
      name: "suffix",
      kind: "string",
      optional: true,
    }],
    contexts: METRIC,
    create(args) {
      const mono = args[0] as boolean;
      const suffix = (args[1] as string | undefined) ?? (kind === "sum" ? "_sum" : "_count");
      return (ctx) => {
        const m = ctx.metric!;
        const d = m.data;
        if (
          d === undefined ||
          (d.type !== "histogram" && d.type !== "exponentialHistogram" && d.type !== "summary")
        ) {
          throw new OttlRuntimeError(
            `${name} requires an input metric of type Histogram, ExponentialHistogram or Summary, got ${
              typeLabel(m)
            }`,
          );
        }
        const temp = d.type === "summary"
          ? AggregationTemporality.CUMULATIVE
          : d.aggregationTemporality;
        const points: NumberDataPoint[] = [];
        for (const p of d.dataPoints) {
          if (kind === "count") points.push(numberPoint(p, p.count));
          else if (p.sum !== undefined) points.push(numberPoint(p, p.sum));
        }
        if (points.length === 0) return undefined;
        ctx.metrics!.push({
          name: m.name + suffix,
          description: m.description,
          unit: kind === "sum" ? m.unit : "1",
          metadata: [],
          data: {
            type: "sum",
            dataPoints: points,
            aggregationTemporality: temp,
            isMonotonic: mono,
          },
        });
        return undefined;
      };
    },
  };
}

function typeLabel(m: Metric): string {
  switch (m.data?.type) {
    case "gauge":
      return "Gauge";
    case "sum":
      return "Sum";
    case "histogram":
      return "Histogram";
    case "exponentialHistogram":
      return "ExponentialHistogram";
    case "summary":
      return "Summary";
  }
  return "Empty";
}

function scaleNumber(v: number | bigint | undefined, f: number): number | bigint | undefined {
  if (typeof v === "number") return v * f;
  if (typeof v === "bigint") return BigInt.asIntN(64, BigInt(Math.trunc(Number(v) * f)));
  return v;
}

const scaleMetric: FunctionDef = {
  name: "scale_metric",
  params: [{ name: "factor", kind: "float" }, { name: "unit", kind: "getter", optional: true }],
  contexts: METRIC,
  create(args) {
    const f = args[0] as number;
    const unit = args[1] as Getter | undefined;
    return (ctx) => {
      const m = ctx.metric!;
      if (unit !== undefined) {
        const u = stringOf(unit(ctx), "unit");
        if (u !== undefined) m.unit = u;
      }
      const d = m.data;
      if (d === undefined) return undefined;
      switch (d.type) {
        case "gauge":
        case "sum":
          for (const p of d.dataPoints) {
            p.value = scaleNumber(p.value, f);
            for (const e of p.exemplars) e.value = scaleNumber(e.value, f);
          }
          break;
        case "histogram":
          for (const p of d.dataPoints) {
            if (p.sum !== undefined) p.sum *= f;
            if (p.min !== undefined) p.min *= f;
            if (p.max !== undefined) p.max *= f;
            p.explicitBounds = p.explicitBounds.map((b) => b * f);
            for (const e of p.exemplars) e.value = scaleNumber(e.value, f);
          }
          break;
        case "summary":
          for (const p of d.dataPoints) {
            p.sum *= f;
            for (const q of p.quantileValues) q.value *= f;
          }
          break;
        default:
          throw new OttlRuntimeError(`unsupported metric type: ${typeLabel(m)}`);
      }
      return undefined;
    };
  },
};

const AGGREGATIONS = ["sum", "avg", "min", "max", "median", "count"];

function aggregate(fn: string, values: number[]): number {
  switch (fn) {
    case "sum":
      return values.reduce((a, b) => a + b, 0);
    case "avg":
      return values.reduce((a, b) => a + b, 0) / values.length;
    case "min":
      return Math.min(...values);
    case "max":
      return Math.max(...values);
    case "count":
      return values.length;
    default: {
      const s = [...values].sort((a, b) => a - b);
      const mid = Math.floor(s.length / 2);
      return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
    }
  }
}

function attrKey(attrs: readonly KeyValue[]): string {
  const sorted = [...attrs].sort((a, b) => a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
  return toJson({ kvlist: sorted });
}

const aggregateOnAttributes: FunctionDef = {
  name: "aggregate_on_attributes",
  params: [{ name: "function", kind: "string" }, {
    name: "attributes",
    kind: "strings",
    optional: true,
  }],
  contexts: METRIC,
  create(args, env) {
    const fn = args[0] as string;
    if (!AGGREGATIONS.includes(fn)) {
      env.fail(
        `invalid aggregation function: '${fn}', valid options: ${AGGREGATIONS.join(", ")}`,
        0,
      );
    }
    const keep = args[1] as string[] | undefined;
    const filter = (attrs: KeyValue[]) =>
      keep === undefined || keep.length === 0 ? attrs : attrs.filter((kv) => keep.includes(kv.key));
    return (ctx) => {
      const m = ctx.metric!;
      const d = m.data;
      if (d === undefined) return undefined;
      if (d.type === "gauge" || d.type === "sum") {
        const groups = new Map<
          string,
          { first: NumberDataPoint; values: number[]; int: boolean; attrs: KeyValue[] }
        >();
        for (const p of d.dataPoints) {
          const attrs = filter(p.attributes);
          const k = attrKey(attrs);
          let g = groups.get(k);
          if (g === undefined) {
            g = { first: p, values: [], int: typeof p.value === "bigint", attrs };
            groups.set(k, g);
          }
          if (typeof p.value !== "bigint") g.int = false;
          g.values.push(Number(p.value ?? 0));
          if (p.startTimeUnixNano < g.first.startTimeUnixNano && p.startTimeUnixNano !== 0n) {
            g.first = { ...g.first, startTimeUnixNano: p.startTimeUnixNano };
          }
        }
        d.dataPoints = [...groups.values()].map((g) => {
          const v = aggregate(fn, g.values);
          const pt = numberPoint(
            { ...g.first, attributes: g.attrs },
            g.int ? BigInt(Math.trunc(v)) : v,
          );
          pt.timeUnixNano = g.first.timeUnixNano;
          return pt;
        });
        return undefined;
      }
      if (d.type === "histogram") {
        if (fn !== "sum") {
          throw new OttlRuntimeError(`${fn} aggregation is not supported for histograms`);
        }
        const groups = new Map<string, HistogramDataPoint>();
        for (const p of d.dataPoints) {
          const attrs = filter(p.attributes);
          const k = attrKey(attrs) + "|" + p.explicitBounds.join(",");
          const g = groups.get(k);
          if (g === undefined) {
            const copy = cloneData("metrics", {
              resourceMetrics: [{
                resource: { attributes: [], droppedAttributesCount: 0 },
                schemaUrl: "",
                scopeMetrics: [{
                  scope: { name: "", version: "", attributes: [], droppedAttributesCount: 0 },
                  schemaUrl: "",
                  metrics: [{
                    name: "",
                    description: "",
                    unit: "",
                    metadata: [],
                    data: { type: "histogram", aggregationTemporality: 0, dataPoints: [p] },
                  }],
                }],
              }],
            }).resourceMetrics[0]!.scopeMetrics[0]!.metrics[0]!.data as {
              dataPoints: HistogramDataPoint[];
            };
            const c = copy.dataPoints[0]!;
            c.attributes = attrs.map((kv) => ({ key: kv.key, value: copyValue(kv.value) }));
            groups.set(k, c);
            continue;
          }
          g.count += p.count;
          if (p.sum !== undefined) g.sum = (g.sum ?? 0) + p.sum;
          g.bucketCounts = g.bucketCounts.map((b, i) => b + (p.bucketCounts[i] ?? 0n));
          if (p.min !== undefined) g.min = g.min === undefined ? p.min : Math.min(g.min, p.min);
          if (p.max !== undefined) g.max = g.max === undefined ? p.max : Math.max(g.max, p.max);
        }
        d.dataPoints = [...groups.values()];
        return undefined;
      }
      throw new OttlRuntimeError(
        `aggregate_on_attributes does not support ${typeLabel(m)} metrics`,
      );
    };
  },
};

const copyMetric: FunctionDef = {
  name: "copy_metric",
  params: [
    { name: "name", kind: "getter", optional: true },
    { name: "description", kind: "getter", optional: true },
    { name: "unit", kind: "getter", optional: true },
  ],
  contexts: METRIC,
  create(args) {
    const [n, desc, unit] = args as (Getter | undefined)[];
    return (ctx) => {
      const m = ctx.metric!;
      const copy = cloneData("metrics", {
        resourceMetrics: [{
          resource: { attributes: [], droppedAttributesCount: 0 },
          schemaUrl: "",
          scopeMetrics: [{
            scope: { name: "", version: "", attributes: [], droppedAttributesCount: 0 },
            schemaUrl: "",
            metrics: [m],
          }],
        }],
      }).resourceMetrics[0]!.scopeMetrics[0]!.metrics[0]!;
      const s = (g: Getter | undefined) => g === undefined ? undefined : stringOf(g(ctx));
      copy.name = s(n) ?? copy.name;
      copy.description = s(desc) ?? copy.description;
      copy.unit = s(unit) ?? copy.unit;
      ctx.metrics!.push(copy);
      return undefined;
    };
  },
};

/** Every metric function. */
export const METRIC_FUNCTIONS: readonly FunctionDef[] = [
  convertSumToGauge,
  convertGaugeToSum,
  extract("extract_sum_metric", "sum"),
  extract("extract_count_metric", "count"),
  scaleMetric,
  aggregateOnAttributes,
  copyMetric,
];
