/**
 * The `transform` processor: runs OTTL statements on traces, metrics and logs, group by group in
 * config order, each on every item of its context. Statements are compiled once, when the
 * processor is created. A statement that fails on an item follows the group's `error_mode`.
 *
 * @module
 */
import type { Processor, ProcessorFactory } from "../../component.ts";
import type { Consumer } from "../../../lib/consumer/consumer.ts";
import { permanentError } from "../../../lib/consumer/consumer.ts";
import type { Payload } from "../../../lib/pdata/payload.ts";
import type { Signal } from "../../../lib/pdata/types.ts";
import { createErrorHandler, type ErrorHandler } from "../../../lib/ottl/error_mode.ts";
import { newTransformContext, type TransformContext } from "../../../lib/ottl/mod.ts";
import { walk } from "../../../lib/ottl/walk.ts";
import { itemNeeds } from "../../../lib/ottl/fields.ts";
import { type Needs, NOTHING, unionNeeds } from "../../../lib/pdata/fields.ts";
import type { Logger } from "../../../lib/telemetry/logger.ts";
import type { Counter } from "../../../lib/telemetry/metrics.ts";
import { compileTransform, type TransformGroup } from "./_compile.ts";
import { type TransformConfig, transformConfigSchema } from "./config.ts";

interface RunGroup extends TransformGroup {
  handle: ErrorHandler;
}

function runGroup<S extends Signal>(
  signal: S,
  data: Parameters<typeof walk<S>>[1],
  g: RunGroup,
  ctx: TransformContext,
): void {
  const { conditions, statements, handle } = g;
  walk(signal, data, g.context, ctx, (c) => {
    if (conditions.length > 0) {
      let any = false;
      for (const cond of conditions) {
        try {
          if (cond.evaluate(c)) {
            any = true;
            break;
          }
        } catch (error) {
          handle(error, cond.text);
        }
      }
      if (!any) return;
    }
    for (const s of statements) {
      try {
        s.execute(c);
      } catch (error) {
        handle(error, s.text);
      }
    }
  });
}

/** Options for tests: where failures are logged and counted. */
export interface TransformOptions {
  logger: Logger;
  counter?: Counter;
}

/** Creates one transform processor instance. */
export function createTransformProcessor<S extends Signal>(
  config: TransformConfig,
  signal: S,
  next: Consumer<S>,
  options: TransformOptions,
): Processor<S> {
  const r = compileTransform(config);
  if (!r.ok) throw new Error(`Invalid transform config: ${r.issues[0]!.message}`);
  const groups: RunGroup[] = r.groups[signal].map((g) => ({
    ...g,
    handle: createErrorHandler(g.errorMode, {
      logger: options.logger,
      ...(options.counter === undefined ? {} : { counter: options.counter }),
    }),
  }));
  // What of each item the statements and conditions touch: only that is decoded (and encoded
  // again); the rest of each item stays as the bytes it came as.
  let needs: Needs = NOTHING;
  for (const g of groups) {
    needs = unionNeeds(needs, itemNeeds(signal, g.context, g.statements));
    needs = unionNeeds(needs, itemNeeds(signal, g.context, g.conditions));
  }
  const ctx = newTransformContext();
  return {
    mutatesData: groups.length > 0,
    needs: unionNeeds(needs, next.needs ?? NOTHING),
    consume(payload: Payload<S>): Promise<void> {
      if (groups.length === 0) return next.consume(payload);
      const data = payload.edit(needs.fields, needs.keys);
      ctx.metadata = payload.client.metadata;
      try {
        for (const g of groups) runGroup(signal, data, g, ctx);
      } catch (error) {
        return Promise.reject(
          permanentError(`transform failed: ${(error as Error).message}`, { cause: error }),
        );
      }
      return next.consume(payload);
    },
    start: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
  };
}

/** The `transform` processor factory. */
export const transformFactory: ProcessorFactory<TransformConfig> = {
  kind: "processor",
  type: "transform",
  configSchema: transformConfigSchema,
  signals: { traces: "beta", metrics: "beta", logs: "beta" },
  create: (settings, signal, next) =>
    createTransformProcessor(settings.config, signal, next, {
      logger: settings.logger,
      counter: settings.meter.counter(
        "otelcol_processor_transform_errors",
        "Number of OTTL statements or conditions that failed at run time.",
      ),
    }),
};
