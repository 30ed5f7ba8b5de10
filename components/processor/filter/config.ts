/**
 * The filter processor's config, as the Collector's: `error_mode` (default `propagate`), OTTL
 * conditions (`traces.span`, `traces.spanevent`, `metrics.metric`, `metrics.datapoint`,
 * `logs.log_record`; any true condition drops the item) and the older match blocks
 * (`spans.include/exclude`, `metrics.include/exclude`, `logs.include/exclude`). Conditions are
 * compiled while the config is validated, with positioned issues.
 *
 * @module
 */
import { z } from "../../../lib/config/z.js";
import { errorModeSchema } from "../../../lib/ottl/error_mode.ts";
import { compileConditions, type ContextName } from "../../../lib/ottl/mod.ts";
import type { Signal } from "../../../lib/pdata/types.ts";
import { type MatchProperties, matchPropertiesSchema } from "../../../lib/processing/match.ts";

const conditions = z.array(z.string()).optional();
const keyValues = z.array(z.strictObject({ key: z.string().min(1), value: z.unknown().optional() }))
  .optional();
const matchType = z.enum(["strict", "regexp"], { message: 'must be "strict" or "regexp"' });

const metricMatchSchema = z.strictObject({
  match_type: matchType,
  metric_names: z.array(z.string()).optional(),
  resource_attributes: keyValues,
});

const logMatchSchema = z.strictObject({
  match_type: matchType,
  resource_attributes: keyValues,
  record_attributes: keyValues,
  severity_texts: z.array(z.string()).optional(),
  severity_number: z.strictObject({
    min: z.union([z.number(), z.string()]),
    match_undefined: z.boolean().default(false),
  }).optional(),
  bodies: z.array(z.string()).optional(),
});

/** The legacy `metrics.include` block as match properties. */
export function metricMatch(m: z.output<typeof metricMatchSchema>): unknown {
  return strip({
    match_type: m.match_type,
    metric_names: m.metric_names,
    resources: m.resource_attributes,
  });
}

/** The legacy `logs.include` block as match properties. */
export function logMatch(m: z.output<typeof logMatchSchema>): unknown {
  return strip({
    match_type: m.match_type,
    resources: m.resource_attributes,
    attributes: m.record_attributes,
    log_severity_texts: m.severity_texts,
    log_severity_number: m.severity_number,
    log_bodies: m.bodies,
  });
}

function strip(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/** The filter processor's config schema. */
export const filterConfigSchema = z
  .strictObject({
    error_mode: errorModeSchema.default("propagate"),
    traces: z.strictObject({ span: conditions, spanevent: conditions }).optional(),
    spans: z.strictObject({
      include: matchPropertiesSchema.optional(),
      exclude: matchPropertiesSchema.optional(),
    }).optional(),
    metrics: z.strictObject({
      metric: conditions,
      datapoint: conditions,
      include: metricMatchSchema.optional(),
      exclude: metricMatchSchema.optional(),
    }).optional(),
    logs: z.strictObject({
      log_record: conditions,
      include: logMatchSchema.optional(),
      exclude: logMatchSchema.optional(),
    }).optional(),
  })
  .superRefine((config, ctx) => {
    for (const [signal, key, context, list] of conditionLists(config)) {
      const r = compileConditions(list, { signal, context });
      if (r.ok) continue;
      for (const issue of r.issues) {
        ctx.addIssue({
          code: "custom",
          path: [signal, key, issue.index],
          message: issue.message,
          params: { offset: issue.offset },
        });
      }
    }
    for (const key of ["metrics", "logs"] as const) {
      for (const side of ["include", "exclude"] as const) {
        const block = config[key]?.[side];
        if (block === undefined) continue;
        const converted = key === "metrics"
          ? metricMatch(block as z.output<typeof metricMatchSchema>)
          : logMatch(block as z.output<typeof logMatchSchema>);
        const r = matchPropertiesSchema.safeParse(converted);
        if (!r.success) {
          for (const issue of r.error.issues) {
            ctx.addIssue({ code: "custom", path: [key, side], message: issue.message });
          }
        }
      }
    }
    if (config.metrics?.include !== undefined || config.metrics?.exclude !== undefined) {
      if (config.metrics.metric !== undefined || config.metrics.datapoint !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["metrics"],
          message: "cannot use OTTL conditions (metric, datapoint) together with include/exclude",
        });
      }
    }
    if (config.logs?.include !== undefined || config.logs?.exclude !== undefined) {
      if (config.logs.log_record !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["logs"],
          message: "cannot use OTTL conditions (log_record) together with include/exclude",
        });
      }
    }
  });

/** The filter processor's validated config. */
export type FilterConfig = z.output<typeof filterConfigSchema>;

/** Every OTTL condition list of a config: signal, key, context, conditions. */
export function conditionLists(
  config: Pick<FilterConfig, "traces" | "metrics" | "logs">,
): [Signal, string, ContextName, string[]][] {
  const out: [Signal, string, ContextName, string[]][] = [];
  const add = (s: Signal, k: string, c: ContextName, l: string[] | undefined) => {
    if (l !== undefined && l.length > 0) out.push([s, k, c, l]);
  };
  add("traces", "span", "span", config.traces?.span);
  add("traces", "spanevent", "spanevent", config.traces?.spanevent);
  add("metrics", "metric", "metric", config.metrics?.metric);
  add("metrics", "datapoint", "datapoint", config.metrics?.datapoint);
  add("logs", "log_record", "log", config.logs?.log_record);
  return out;
}

/** Legacy match blocks as {@linkcode MatchProperties}, per signal. */
export function legacyBlocks(
  config: FilterConfig,
  signal: Signal,
): { include: MatchProperties | undefined; exclude: MatchProperties | undefined } {
  const parse = (v: unknown) =>
    v === undefined ? undefined : matchPropertiesSchema.parse(v) as MatchProperties;
  if (signal === "traces") {
    return { include: config.spans?.include, exclude: config.spans?.exclude };
  }
  if (signal === "metrics") {
    const m = config.metrics;
    return {
      include: parse(m?.include === undefined ? undefined : metricMatch(m.include)),
      exclude: parse(m?.exclude === undefined ? undefined : metricMatch(m.exclude)),
    };
  }
  const l = config.logs;
  return {
    include: parse(l?.include === undefined ? undefined : logMatch(l.include)),
    exclude: parse(l?.exclude === undefined ? undefined : logMatch(l.exclude)),
  };
}
