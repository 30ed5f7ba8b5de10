/**
 * The `loadbalancing` exporter: spreads data over a set of OTLP/gRPC backends so that what
 * belongs together (a trace, a service, a metric stream: the `routing_key`) always reaches the
 * same backend. Each request is split by routing key (`split.ts`) over a consistent-hash ring
 * (`ring.ts`), and each part goes to its backend's own `otlp` exporter queue (`backend.ts`). The
 * resolver (`resolver.ts`) gives the backends; a new list rebuilds the ring (adding a backend
 * moves only its share of keys) and retires the backends that left, whose queued and in-flight
 * data is routed again over the remaining ones. A live reload that changes the exporter's config
 * (its static list, say) replaces the instance; the old one then hands what its backends hold to
 * the new one, so a backend that left with the reload loses nothing either.
 *
 * A request is accepted once every part is accepted by its backend (queued, with the default
 * `protocol.otlp.sending_queue`); a part refused makes the whole request fail (retryably unless
 * every refusal was permanent), and a retry routes it all again: parts that had been accepted are
 * then sent twice, as in the Collector. With a single backend the request goes as it came
 * (still encoded, not split).
 *
 * Self-telemetry: `otelcol_loadbalancer_num_backends`, `otelcol_loadbalancer_num_backend_updates`
 * and `otelcol_loadbalancer_num_resolutions{success}`; each backend's sent / send-failed counters
 * carry its `server_address` and `server_port`.
 *
 * @module
 */
import type { CreateSettings, Exporter, ExporterFactory, Host } from "../../component.ts";
import { isPermanent, permanentError, retryableError } from "../../../lib/consumer/consumer.ts";
import {
  createExporterHelper,
  type PushBySignal,
  type PushFunc,
} from "../../../lib/exporterhelper/exporter_helper.ts";
import { Payload } from "../../../lib/pdata/payload.ts";
import type { Signal } from "../../../lib/pdata/types.ts";
import { type Backend, createBackend } from "./backend.ts";
import { type LoadBalancingConfig, loadBalancingConfigSchema } from "./config.ts";
import { buildRing, type Ring } from "./ring.ts";
import { type Resolver, resolverFor } from "./resolver.ts";
import { KEYS_BY_SIGNAL, type RoutingKey, splitByOwner } from "./split.ts";

/** What a successor instance offers the instance it replaces on a live reload. */
interface Successor {
  readonly signals: ReadonlySet<Signal>;
  route(payload: Payload): Promise<void>;
}

/**
 * Running instances by service (its build info object, the same for every graph of one service)
 * and exporter ID. A live reload that changes the exporter starts the new instance before it
 * stops the old one; the old one then hands what its backends still hold to the new one (whose
 * ring knows which backends remain) instead of draining it to backends that may be gone.
 */
const RUNNING = new WeakMap<object, Map<string, Set<Successor>>>();

function runningOf(settings: CreateSettings<unknown>): Set<Successor> {
  let byId = RUNNING.get(settings.buildInfo);
  if (byId === undefined) RUNNING.set(settings.buildInfo, byId = new Map());
  let set = byId.get(settings.id);
  if (set === undefined) byId.set(settings.id, set = new Set());
  return set;
}

/** Test seams of {@linkcode createLoadBalancingExporter}. */
export interface LoadBalancingOptions {
  /** @default the resolver the config names */
  resolver?: Resolver;
}

/** The routing key of each signal, or an error naming the one the config gives in vain. */
function keysFor(
  config: LoadBalancingConfig,
  signals: readonly Signal[],
): Partial<Record<Signal, RoutingKey>> {
  const keys: Partial<Record<Signal, RoutingKey>> = {};
  for (const signal of signals) {
    const allowed = KEYS_BY_SIGNAL[signal];
    const key = (config.routing_key ?? allowed[0]!) as RoutingKey;
    if (!allowed.includes(key)) {
      throw new Error(
        `routing_key "${key}" does not apply to ${signal}: use one of ${allowed.join(", ")}`,
      );
    }
    keys[signal] = key;
  }
  return keys;
}

/** Creates one `loadbalancing` exporter instance serving `signals`. */
export function createLoadBalancingExporter(
  settings: CreateSettings<LoadBalancingConfig>,
  signals: readonly Signal[],
  options: LoadBalancingOptions = {},
): Exporter {
  const { config, logger, meter } = settings;
  const keys = keysFor(config, signals);
  const resolutions = (success: boolean) =>
    meter.counter(
      "otelcol_loadbalancer_num_resolutions",
      "Resolutions of the backends, by outcome.",
      { success: String(success) },
    ).add(1);
  const resolver = options.resolver ?? resolverFor(config.resolver, logger, resolutions);
  const updates = meter.counter(
    "otelcol_loadbalancer_num_backend_updates",
    "Times the list of backends changed.",
  );
  const backends = new Map<string, Backend>();
  const retiring = new Set<Promise<void>>();
  let ring: Ring = buildRing([]);
  let host: Host | undefined;
  let updating: Promise<void> = Promise.resolve();
  meter.observe(
    "otelcol_loadbalancer_num_backends",
    "Backends in the ring.",
    {},
    () => ring.endpoints.length,
  );

  async function route<S extends Signal>(payload: Payload<S>): Promise<void> {
    const signal = payload.signal;
    const current = ring;
    if (current.endpoints.length === 0) {
      throw retryableError(`Cannot export ${signal} with "${settings.id}": no backends`);
    }
    if (current.endpoints.length === 1) {
      return await backends.get(current.endpoints[0]!)!.consumers[signal]!.consume(payload);
    }
    const parts = splitByOwner(signal, payload.read(), keys[signal]!, (h) => current.owner(h)!);
    const results = await Promise.allSettled(
      [...parts].map(([owner, data]) =>
        backends.get(owner)!.consumers[signal]!.consume(Payload.of(signal, data, payload.client))
      ),
    );
    const failures = results.filter((r) => r.status === "rejected").map((r) => r.reason);
    if (failures.length === 0) return;
    const message =
      `Cannot export ${signal} with "${settings.id}" to ${failures.length} of ${results.length} backends: ${
        failures[0] instanceof Error ? failures[0].message : String(failures[0])
      }`;
    throw failures.every(isPermanent)
      ? permanentError(message, { cause: failures[0] })
      : retryableError(message, { cause: failures[0] });
  }

  let handoff: Successor | undefined;
  const reroute = (payload: Payload) => (handoff ?? self).route(payload);
  const self: Successor = { signals: new Set(signals), route: (payload) => route(payload) };

  async function applyBackends(endpoints: readonly string[]): Promise<void> {
    const wanted = new Set(endpoints);
    for (const endpoint of wanted) {
      if (backends.has(endpoint)) continue;
      const backend = createBackend(settings, config.protocol.otlp, endpoint, signals, reroute);
      try {
        await backend.start(host!);
      } catch (error) {
        logger.error("Cannot start the backend; leaving it out of the ring", { endpoint, error });
        wanted.delete(endpoint);
        await backend.shutdown().catch(() => {});
        continue;
      }
      backends.set(endpoint, backend);
    }
    // The ring and the map change together (no await between): a routed part always finds its
    // backend, and a retired one is in neither.
    const leaving = [...backends.values()].filter((b) => !wanted.has(b.endpoint));
    for (const backend of leaving) backends.delete(backend.endpoint);
    ring = buildRing(backends.keys());
    updates.add(1);
    logger.info("Backends changed", {
      backends: ring.endpoints.join(","),
      removed: leaving.map((b) => b.endpoint).join(","),
    });
    for (const backend of leaving) {
      const done = backend.retire().catch((error) =>
        logger.error("Cannot retire the backend", { endpoint: backend.endpoint, error })
      );
      retiring.add(done);
      done.finally(() => retiring.delete(done));
    }
  }

  function onBackends(endpoints: readonly string[]): Promise<void> {
    updating = updating.then(() => applyBackends(endpoints));
    return updating;
  }

  const pushes: Partial<Record<Signal, PushFunc>> = {};
  for (const signal of signals) pushes[signal] = (payload) => route(payload);
  const helper = createExporterHelper(settings, config, pushes as PushBySignal);
  let started = false;

  return {
    consumers: helper.consumers,
    async start(h) {
      if (started) return;
      started = true;
      host = h;
      await resolver.start(onBackends);
      await helper.start(h);
      runningOf(settings).add(self);
    },
    async shutdown() {
      const running = runningOf(settings);
      running.delete(self);
      await helper.shutdown();
      await resolver.shutdown();
      await updating;
      // The newest other instance of this exporter in this service, when it serves our signals.
      const successor = [...running].reverse().find((s) => signals.every((x) => s.signals.has(x)));
      if (successor !== undefined) {
        handoff = successor;
        logger.info("Handing what the backends hold to the exporter that replaces this one");
      }
      while (retiring.size > 0) await Promise.all([...retiring]);
      await Promise.all(
        [...backends.values()].map((b) => successor === undefined ? b.shutdown() : b.retire()),
      );
      backends.clear();
      ring = buildRing([]);
    },
  };
}

/** The `loadbalancing` exporter factory. */
export const loadBalancingExporterFactory: ExporterFactory<LoadBalancingConfig> = {
  kind: "exporter",
  type: "loadbalancing",
  configSchema: loadBalancingConfigSchema,
  signals: { traces: "beta", logs: "beta", metrics: "development" },
  create: (settings, signals) => createLoadBalancingExporter(settings, signals),
};
