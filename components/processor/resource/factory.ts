/**
 * The `resource` processor: runs attribute actions on the resource of every span, metric and log
 * batch. `from_context` reads the request that carried the data, so a resource can be stamped
 * with, for example, the tenant an authenticator established.
 *
 * @module
 */
import type { Processor, ProcessorFactory } from "../../component.ts";
import type { Consumer } from "../../../lib/consumer/consumer.ts";
import type { Payload } from "../../../lib/pdata/payload.ts";
import type { Signal } from "../../../lib/pdata/types.ts";
import { compileActions } from "../../../lib/processing/actions.ts";
import { forEachResource } from "../../../lib/processing/walk.ts";
import { type ResourceConfig, resourceConfigSchema } from "./config.ts";

/** Creates one resource processor instance. */
export function createResourceProcessor<S extends Signal>(
  config: ResourceConfig,
  signal: S,
  next: Consumer<S>,
): Processor<S> {
  const actions = compileActions(config.attributes);
  return {
    mutatesData: true,
    consume(payload: Payload<S>): Promise<void> {
      const context = actions.contextValues(payload.client);
      forEachResource(signal, payload.edit(), (r) => actions.apply(r.attributes, context));
      return next.consume(payload);
    },
    start: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
  };
}

/** The `resource` processor factory. */
export const resourceFactory: ProcessorFactory<ResourceConfig> = {
  kind: "processor",
  type: "resource",
  configSchema: resourceConfigSchema,
  signals: { traces: "beta", metrics: "beta", logs: "beta" },
  create: (settings, signal, next) => createResourceProcessor(settings.config, signal, next),
};
