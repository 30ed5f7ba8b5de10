/**
 * The `count` connector's config, as the Collector contrib v0.161's: per kind of item (`spans`,
 * `spanevents`, `metrics`, `datapoints`, `logs`) a map of metric name → `description`, OTTL
 * `conditions` (ORed; none counts every item) and `attributes` (`key`, `default_value`) to count
 * by. A section left out or empty keeps its default metric (`trace.span.count`,
 * `trace.span.event.count`, `metric.count`, `metric.datapoint.count`, `log.record.count`).
 * Conditions are compiled while the config is validated. Profiles are not a tfo signal, so a
 * `profiles` section is refused.
 *
 * @module
 */
import { z } from "../../../lib/config/z.js";
import { compileConditions, type ContextName } from "../../../lib/ottl/mod.ts";
import type { Signal } from "../../../lib/pdata/types.ts";
import { configValueToAnyValue } from "../../../lib/processing/value.ts";

const attributeSchema = z.strictObject({
  key: z.string().min(1, { message: "attribute key missing" }),
  default_value: z.unknown().optional(),
});

const metricInfoSchema = z.strictObject({
  description: z.string().default(""),
  conditions: z.array(z.string()).default([]),
  attributes: z.array(attributeSchema).default([]),
});

/** One counted metric as configured. */
export type MetricInfo = z.output<typeof metricInfoSchema>;

const section = z.record(
  z.string(),
  metricInfoSchema.nullable().transform((v) =>
    v ?? { description: "", conditions: [], attributes: [] }
  ),
).nullish();

/** The sections, their signal, OTTL context and default metric. */
export const SECTIONS = {
  spans: {
    signal: "traces",
    context: "span",
    name: "trace.span.count",
    description: "The number of spans observed.",
  },
  spanevents: {
    signal: "traces",
    context: "spanevent",
    name: "trace.span.event.count",
    description: "The number of span events observed.",
  },
  metrics: {
    signal: "metrics",
    context: "metric",
    name: "metric.count",
    description: "The number of metrics observed.",
  },
  datapoints: {
    signal: "metrics",
    context: "datapoint",
    name: "metric.datapoint.count",
    description: "The number of data points observed.",
  },
  logs: {
    signal: "logs",
    context: "log",
    name: "log.record.count",
    description: "The number of log records observed.",
  },
} as const satisfies Record<
  string,
  { signal: Signal; context: ContextName; name: string; description: string }
>;

/** A section name. */
export type SectionName = keyof typeof SECTIONS;

/** The `count` connector's config schema; each section becomes its effective metrics. */
export const countConfigSchema = z
  .strictObject({
    spans: section,
    spanevents: section,
    metrics: section,
    datapoints: section,
    logs: section,
  })
  .superRefine((c, ctx) => {
    for (const name of Object.keys(SECTIONS) as SectionName[]) {
      const s = SECTIONS[name];
      for (const [metric, info] of Object.entries(c[name] ?? {})) {
        if (metric === "") {
          ctx.addIssue({ code: "custom", path: [name], message: "metric name missing" });
        }
        if (info.conditions.length > 0) {
          const r = compileConditions(info.conditions, { signal: s.signal, context: s.context });
          if (!r.ok) {
            for (const issue of r.issues) {
              ctx.addIssue({
                code: "custom",
                path: [name, metric, "conditions", issue.index],
                message: issue.message,
                params: { offset: issue.offset },
              });
            }
          }
        }
        if (name === "metrics" && info.attributes.length > 0) {
          ctx.addIssue({
            code: "custom",
            path: [name, metric, "attributes"],
            message: "metrics attributes not supported",
          });
        }
        info.attributes.forEach((a, i) => {
          const v = configValueToAnyValue(a.default_value);
          if ("error" in v) {
            ctx.addIssue({
              code: "custom",
              path: [name, metric, "attributes", i, "default_value"],
              message: `invalid default value specified for attribute ${a.key}: ${v.error}`,
            });
          }
        });
      }
    }
  })
  .transform((c) => {
    const out = {} as Record<SectionName, Record<string, MetricInfo>>;
    for (const name of Object.keys(SECTIONS) as SectionName[]) {
      const given = c[name];
      out[name] = given !== undefined && given !== null && Object.keys(given).length > 0 ? given : {
        [SECTIONS[name].name]: {
          description: SECTIONS[name].description,
          conditions: [],
          attributes: [],
        },
      };
    }
    return out;
  });

/** The `count` connector's validated config: the effective metrics of every section. */
export type CountConfig = z.output<typeof countConfigSchema>;
