/**
 * One backend of the `loadbalancing` exporter: an `otlp` exporter over one endpoint with its own
 * queue and retries (the `protocol.otlp` settings). When the resolver drops the backend it is
 * *retired*: from then on, each attempt — queued data drained at shutdown, the next retry of an
 * attempt that was in flight — is routed again over the remaining backends instead of being sent
 * here, so data this backend had accepted is not lost with it.
 *
 * @module
 */
import type { CreateSettings, Host } from "../../component.ts";
import { isPermanent, type SignalConsumers } from "../../../lib/consumer/consumer.ts";
import {
  createExporterHelper,
  type PushBySignal,
  type PushFunc,
} from "../../../lib/exporterhelper/exporter_helper.ts";
import type { Payload } from "../../../lib/pdata/payload.ts";
import type { Signal } from "../../../lib/pdata/types.ts";
import { hostPortLabels, withEndpointLabels } from "../../../lib/telemetry/exporter_labels.ts";
import { createOtlpSender } from "../otlp/factory.ts";
import type { BackendOtlpConfig } from "./config.ts";

/** Routes data again over the current backends. */
export type Reroute = (payload: Payload) => Promise<void>;

/** One backend and its lifecycle. */
export interface Backend {
  readonly endpoint: string;
  /** Its queue per signal. */
  readonly consumers: SignalConsumers;
  start(host: Host): Promise<void>;
  /** Stops it for good, routing what it still holds to the others with `reroute`. */
  retire(): Promise<void>;
  /** Stops it, draining what it holds to its own endpoint. */
  shutdown(): Promise<void>;
}

/** Creates the backend for `endpoint`. */
export function createBackend(
  settings: CreateSettings<unknown>,
  config: BackendOtlpConfig,
  endpoint: string,
  signals: readonly Signal[],
  reroute: Reroute,
): Backend {
  const logger = settings.logger.with({ endpoint });
  const otlpSettings = { ...settings, logger, config: { ...config, endpoint } };
  const sender = createOtlpSender(otlpSettings, signals);
  let retired = false;

  function wrap<S extends Signal>(push: PushFunc<S>): PushFunc<S> {
    return async (payload, abort) => {
      if (retired) return await reroute(payload as Payload);
      try {
        await push(payload, abort);
      } catch (error) {
        // The attempt failed while the backend went away: the others take it now.
        if (retired && !isPermanent(error)) return await reroute(payload as Payload);
        throw error;
      }
    };
  }

  const pushes: Partial<Record<Signal, PushFunc>> = {};
  for (const [signal, push] of Object.entries(sender.pushes) as [Signal, PushFunc][]) {
    pushes[signal] = wrap(push);
  }
  const labels = hostPortLabels(sender.target);
  const meter = withEndpointLabels(
    settings.meter,
    Object.fromEntries(signals.map((s) => [s, labels])),
  );
  const helper = createExporterHelper(
    { id: `${settings.id} (${endpoint})`, logger, meter },
    { ...config, timeout: 0 },
    pushes as PushBySignal,
  );

  async function stop(): Promise<void> {
    await helper.shutdown();
    sender.close();
  }

  return {
    endpoint,
    consumers: helper.consumers,
    async start(host) {
      await sender.start(host);
      await helper.start(host);
    },
    retire() {
      retired = true;
      return stop();
    },
    shutdown: stop,
  };
}
