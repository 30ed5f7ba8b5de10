/**
 * The `routing` connector's config, as the Collector contrib's (v0.120 and later): `table` of
 * routes, each an OTTL `condition` or `statement` (`route() where …`) in a `context` (`resource`
 * by default, `span`, `metric`, `datapoint`, `log`, or `request` for the client's metadata), an
 * `action` (`move`, the default, or `copy`) and its `pipelines`; `default_pipelines` for what no
 * route took; `error_mode` (`propagate` by default). `match_once` was removed from the Collector
 * in v0.120 and is refused with a pointer to `action`.
 *
 * @module
 */
import { z } from "../../../lib/config/z.js";
import { errorModeSchema } from "../../../lib/ottl/error_mode.ts";
import { compileConditions, type ContextName, FILTER_FUNCTIONS } from "../../../lib/ottl/mod.ts";
import type { Signal } from "../../../lib/pdata/types.ts";
import { parseRequestCondition } from "./_request.ts";

/** The contexts a route may use. */
export const ROUTE_CONTEXTS = [
  "resource",
  "span",
  "metric",
  "datapoint",
  "log",
  "request",
] as const;

/** The signals each OTTL context applies to. */
export const CONTEXT_SIGNALS: Readonly<Record<string, readonly Signal[]>> = {
  resource: ["traces", "metrics", "logs"],
  request: ["traces", "metrics", "logs"],
  span: ["traces"],
  metric: ["metrics"],
  datapoint: ["metrics"],
  log: ["logs"],
};

const ROUTE_STATEMENT = /^\s*route\(\s*\)\s*(?:where\s+([\s\S]*))?$/;

/** The condition of a `route()` statement ("" when it has none), or undefined for another one. */
export function statementCondition(statement: string): string | undefined {
  const m = ROUTE_STATEMENT.exec(statement);
  if (m === null) return undefined;
  return m[1] ?? "";
}

const routeSchema = z.strictObject({
  context: z.enum(ROUTE_CONTEXTS, {
    message: `must be one of ${ROUTE_CONTEXTS.join(", ")}`,
  }).default("resource"),
  statement: z.string().optional(),
  condition: z.string().optional(),
  action: z.enum(["move", "copy"], { message: 'must be "move" or "copy"' }).default("move"),
  pipelines: z.array(z.string()).default([]),
});

/** One route as configured. */
export type RouteConfig = z.output<typeof routeSchema>;

/** The `routing` connector's config schema. */
export const routingConfigSchema = z
  .strictObject({
    error_mode: errorModeSchema.default("propagate"),
    default_pipelines: z.array(z.string()).default([]),
    table: z.array(routeSchema).default([]),
    match_once: z.unknown().optional(),
  })
  .superRefine((c, ctx) => {
    if (c.match_once !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["match_once"],
        message: "was removed from the Collector in v0.120: routes match in table order; " +
          "use action: copy on a route to let later routes see its data too",
      });
    }
    if (c.table.length === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["table"],
        message: "invalid routing table: the routing table is empty",
      });
    }
    c.table.forEach((route, i) => {
      const issue = (key: string | undefined, message: string, offset?: number) =>
        ctx.addIssue({
          code: "custom",
          path: key === undefined ? ["table", i] : ["table", i, key],
          message,
          ...(offset === undefined ? {} : { params: { offset } }),
        });
      const hasStatement = (route.statement ?? "") !== "";
      const hasCondition = (route.condition ?? "") !== "";
      if (!hasStatement && !hasCondition) {
        issue(undefined, "invalid route: no condition or statement provided");
      }
      if (hasStatement && hasCondition) {
        issue(undefined, "invalid route: both condition and statement provided");
      }
      if (route.pipelines.length === 0) issue("pipelines", "invalid route: no pipelines defined");
      if (route.context === "request") {
        if (hasStatement || !hasCondition) {
          issue(undefined, "\"request\" context requires a 'condition'");
        } else {
          const r = parseRequestCondition(route.condition!);
          if (typeof r === "string") issue("condition", r);
        }
        return;
      }
      let condition = route.condition ?? "";
      let key = "condition";
      if (hasStatement) {
        key = "statement";
        const c = statementCondition(route.statement!);
        if (c === undefined) {
          issue(
            "statement",
            "only route() statements are supported (route() or route() where <condition>)",
          );
          return;
        }
        condition = c;
      }
      if (condition === "" || !(hasStatement || hasCondition)) return;
      const signal = CONTEXT_SIGNALS[route.context]![0]!;
      const r = compileConditions([condition], {
        signal,
        context: route.context as ContextName,
        functions: FILTER_FUNCTIONS,
      });
      if (!r.ok) { for (const x of r.issues) issue(key, x.message, x.offset); }
    });
  });

/** The `routing` connector's validated config. */
export type RoutingConfig = z.output<typeof routingConfigSchema>;
