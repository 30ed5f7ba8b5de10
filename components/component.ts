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

/** The five kinds of component. */
export type Kind = "receiver" | "processor" | "exporter" | "connector" | "extension";

/** Every kind, in config order. */
export const KINDS: readonly Kind[] = [
  "receiver",
  "processor",
  "exporter",
  "connector",
  "extension",
];

/** The maturity of a component for one signal. */
export type Stability =
  | "development"
  | "alpha"
  | "beta"
  | "stable"
  | "deprecated"
  | "unmaintained";

/** Something with a lifecycle. */
export interface Component {
  /** Starts work: open ports, timers, connections. Rejecting fails the service start. */
  start(host: Host): Promise<void>;
  /** Stops work and releases everything; safe to call twice and without start. */
  shutdown(): Promise<void>;
}

/** The service's state, as the health check reports it. */
export type ServiceStatus = "starting" | "running" | "stopping" | "stopped";

/** What the running service offers a component. */
export interface Host {
  /** The started extension with this ID, if it is defined. */
  getExtension(id: string): Extension | undefined;
  /** The state of the whole service. */
  status(): ServiceStatus;
  /**
   * When the service last became ready (`running`), as `Date.now()` milliseconds; undefined while
   * it is not running. A host that cannot tell leaves it out.
   */
  readySince?(): number | undefined;
}

/** A started extension. Capabilities (storage, authentication) are optional fields of it. */
export interface Extension extends Component {
  /** Capabilities this extension offers to other components, by name. */
  readonly capabilities?: Readonly<Record<string, unknown>>;
}

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
}

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

/** Makes connectors. */
export interface ConnectorFactory<C = unknown> extends FactoryBase<C> {
  readonly kind: "connector";
  readonly routes: ConnectorRoutes;
  /**
   * One instance per connector ID.
   * @param inputs the signals of the pipelines that export to it
   * @param next the consumers of the pipelines that receive from it, by signal
   */
  create(settings: CreateSettings<C>, inputs: readonly Signal[], next: SignalConsumers): Connector;
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
