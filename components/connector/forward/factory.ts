/**
 * The `forward` connector: passes data from the pipelines that export to it into the pipelines of
 * the same signal that receive from it, unchanged.
 *
 * @module
 */
import type { Connector, ConnectorFactory } from "../../component.ts";
import type { Consumer, SignalConsumers } from "../../../lib/consumer/consumer.ts";
import { type ForwardConfig, forwardConfigSchema } from "./config.ts";

/** The `forward` connector factory. */
export const forwardFactory: ConnectorFactory<ForwardConfig> = {
  kind: "connector",
  type: "forward",
  configSchema: forwardConfigSchema,
  routes: {
    traces: { traces: "beta" },
    metrics: { metrics: "beta" },
    logs: { logs: "beta" },
  },
  create(_settings, inputs, next): Connector {
    const consumers: Record<string, Consumer> = {};
    for (const signal of inputs) {
      const out = next[signal] as Consumer | undefined;
      if (out === undefined) {
        throw new Error(`No pipeline of signal ${signal} receives from this connector`);
      }
      consumers[signal] = out;
    }
    return {
      consumers: consumers as SignalConsumers,
      start: () => Promise.resolve(),
      shutdown: () => Promise.resolve(),
    };
  },
};
