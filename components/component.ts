/**
 * The component contract. A factory is a plain record: its type, kind, the signals it supports with
 * a stability each, a zod schema whose defaults are the documented defaults (and which rejects
 * unknown keys), and a create function. A factory knows nothing of the graph.
 *
 * One instance is made per receiver, exporter, connector and extension ID (a receiver in several
 * pipelines is one instance, one port), and per processor ID *per pipeline*.
 *
 * @module
 */
import type { z } from "zod";
import type { Consumer, SignalConsumers } from "../lib/consumer/consumer.ts";
import type { Signal } from "../lib/pdata/types.ts";
import type { Logger } from "../lib/telemetry/logger.ts";
import type { Meter } from "../lib/telemetry/metrics.ts";
import type { Component, Extension, Kind } from "../lib/component/host.ts";

// The lifecycle and host types live in lib/ (which must not import components/); they are
// re-exported here so that components keep importing everything from this one module.
export {
  type Component,
  type Extension,
  type Host,
  type Kind,
  KINDS,
  type ServiceStatus,
} from "../lib/component/host.ts";

/** The maturity of a component for one signal. */
export type Stability =
  | "development"
  | "alpha"
  | "beta"
  | "stable"
  | "deprecated"
  | "unmaintained";

/** Build facts a component may report. */
export interface BuildInfo {
  readonly command: string;
  readonly version: string;
}

/** What a create function gets besides the consumers. */
export interface CreateSettings<C> {
  /** The component ID, `type` or `type/name`. */
  readonly id: string;
  /** The validated config, defaults filled in. */
  readonly config: C;
  /** A logger whose lines carry the component kind and ID. */
  readonly logger: Logger;
  /** A meter whose series carry the component's label. */
  readonly meter: Meter;
  readonly buildInfo: BuildInfo;
  /**
   * True when other workers of this process run the same component on the same ports
   * (`service.workers` above 1): listeners must set `SO_REUSEPORT` (`Deno.listen({ reusePort })`)
   * so the kernel spreads connections over them. @default false
   */
  readonly sharePorts?: boolean;
}

/** Stability per supported signal; a signal left out is not supported. */
export type SignalStability = { readonly [S in Signal]?: Stability };

interface FactoryBase<C> {
  /** The YAML key before any `/name`. */
  readonly type: string;
  /** Older names that still select this factory (a warning says so). */
  readonly aliases?: readonly string[];
  /** The config schema: defaults are the documented defaults; unknown keys are rejected. */
  readonly configSchema: z.ZodType<C>;
  /**
   * How the component runs when `service.workers` is above 1 (see {@linkcode Placement}). An
   * exporter with a persistent queue (`sending_queue.storage`) is always placed `"single"`: one
   * writer per queue.
   * @default "single" for receivers and extensions, "stateless" for the other kinds
   */
  readonly placement?: Placement;
  /**
   * For a sharded component: the config of one of `shards` instances, so that limits the user set
   * for the component (`num_traces`, a memory budget) bound all its instances together.
   * @default the config as is
   */
  shardConfig?(config: C, shards: number): C;
}

/**
 * How a component runs in a service of several workers (`service.workers`):
 * - `"stateless"`: one instance per worker; it keeps no state across requests that another
 *   worker's instance would need (OTLP push receivers, most processors and exporters).
 * - `"single"`: exactly one instance, in the primary worker; the other workers hand it their data
 *   (pull receivers, the prometheus exporter, extensions, exporters with a persistent queue).
 * - `{ sharded: key }`: related data must meet in one instance (tail sampling by `trace_id`, span
 *   metrics by `service`). Placed as `"single"` until the runtime routes by key.
 *
 * An author only declares; `pipelines/placement.ts` places the instances.
 */
export type Placement = "stateless" | "single" | { readonly sharded: "trace_id" | "service" };

/** A receiver instance: its lifecycle. Data goes to the consumers it was created with. */
export type Receiver = Component;

/** Makes receivers. */
export interface ReceiverFactory<C = unknown> extends FactoryBase<C> {
  readonly kind: "receiver";
  readonly signals: SignalStability;
  /** One instance serves every signal it has a consumer for. */
  create(settings: CreateSettings<C>, next: SignalConsumers): Receiver;
}

/** A processor instance: a consumer of one signal that passes data on. */
export interface Processor<S extends Signal = Signal> extends Component, Consumer<S> {}

/** Makes processors. */
export interface ProcessorFactory<C = unknown> extends FactoryBase<C> {
  readonly kind: "processor";
  readonly signals: SignalStability;
  /** One instance per pipeline that lists the processor. */
  create<S extends Signal>(settings: CreateSettings<C>, signal: S, next: Consumer<S>): Processor<S>;
}

/** An exporter instance: a consumer per signal it was created for. */
export interface Exporter extends Component {
  readonly consumers: SignalConsumers;
}

/** Makes exporters. */
export interface ExporterFactory<C = unknown> extends FactoryBase<C> {
  readonly kind: "exporter";
  readonly signals: SignalStability;
  /** One instance serves every signal it is used for. */
  create(settings: CreateSettings<C>, signals: readonly Signal[]): Exporter;
}

/** Supported (input signal → output signal) pairs of a connector, with a stability each. */
export type ConnectorRoutes = { readonly [From in Signal]?: SignalStability };

/** A connector instance: consumers for its input signals, feeding its output consumers. */
export interface Connector extends Component {
  readonly consumers: SignalConsumers;
}

/**
 * The one consumer that feeds the named pipelines (among those that receive from the connector),
 * fanned out as the graph does it; throws for a pipeline that does not receive from it. The
 * Collector's connector router, for connectors that pick pipelines (`routing`).
 */
export type PipelineRouter = (pipelineIds: readonly string[]) => Consumer;

/** A pipeline that receives from a connector. */
export interface ReceivingPipeline {
  readonly id: string;
  readonly signal: Signal;
}

/** A problem with a connector's config found against the pipelines around it. */
export interface ConnectorConfigIssue {
  /** The key path inside the connector's config. */
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/** Makes connectors. */
export interface ConnectorFactory<C = unknown> extends FactoryBase<C> {
  readonly kind: "connector";
  readonly routes: ConnectorRoutes;
  /**
   * One instance per connector ID.
   * @param inputs the signals of the pipelines that export to it
   * @param next the consumers of the pipelines that receive from it, by signal
   * @param router consumers of chosen pipelines among those that receive from it
   */
  create(
    settings: CreateSettings<C>,
    inputs: readonly Signal[],
    next: SignalConsumers,
    router?: PipelineRouter,
  ): Connector;
  /**
   * Checks a valid config against the pipelines that export to and receive from the connector
   * (for configs that name pipelines); `tfo validate` reports what it returns.
   */
  checkPipelines?(
    config: C,
    pipelines: {
      readonly exporters: readonly Signal[];
      readonly receivers: readonly ReceivingPipeline[];
    },
  ): ConnectorConfigIssue[];
}

/** Makes extensions. */
export interface ExtensionFactory<C = unknown> extends FactoryBase<C> {
  readonly kind: "extension";
  readonly stability: Stability;
  create(settings: CreateSettings<C>): Extension;
}

/** Any factory. */
export type Factory =
  | ReceiverFactory
  | ProcessorFactory
  | ExporterFactory
  | ConnectorFactory
  | ExtensionFactory;

/** Where an ID's type ends and its name starts. */
export function parseComponentId(id: string): { type: string; name: string | undefined } {
  const slash = id.indexOf("/");
  return slash < 0
    ? { type: id, name: undefined }
    : { type: id.slice(0, slash), name: id.slice(slash + 1) };
}

/**
 * Widens a typed factory for the registry. Factories are written against their own config type;
 * the service hands each one the config its own schema produced.
 */
export function asFactory<C>(
  factory:
    | ReceiverFactory<C>
    | ProcessorFactory<C>
    | ExporterFactory<C>
    | ConnectorFactory<C>
    | ExtensionFactory<C>,
): Factory {
  return factory as unknown as Factory;
}

/** What names a component without loading it: its kind, type and older names. */
export interface ComponentName {
  readonly kind: Kind;
  /** The YAML key before any `/name`. */
  readonly type: string;
  /** Older names that still select it. */
  readonly aliases?: readonly string[];
}

/**
 * A registry row: a component's names, and how to load its factory. The factory module (its
 * config schema, its implementation and their dependencies) is imported by `load`, on the first
 * call only; every call gives the same factory object (the graph compares factories by identity
 * when it reuses components across a reload).
 */
export interface LazyFactory extends ComponentName {
  load(): Promise<Factory>;
}

/** A factory, or a registry row that loads one. */
export type FactoryEntry = Factory | LazyFactory;

/** True for a registry row that has not necessarily loaded its factory yet. */
export function isLazyFactory(entry: FactoryEntry): entry is LazyFactory {
  return "load" in entry && typeof entry.load === "function";
}
