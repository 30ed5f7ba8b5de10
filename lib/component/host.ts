/**
 * What a running component sees of the service: its lifecycle ({@linkcode Component}), the
 * {@linkcode Host} it is started with, and the started {@linkcode Extension}s whose capabilities
 * (storage, authentication) it looks up by ID. These live in `lib/` so that library code (storage,
 * authentication, the exporter helper) can name them without importing `components/`;
 * `components/component.ts` re-exports them with the factory contract.
 *
 * @module
 */

import type { ServiceView } from "./view.ts";

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
  /**
   * What an introspection extension (the pipeline page) may see of the running service. A host
   * that offers none leaves it out.
   */
  view?(): ServiceView;
}

/** A started extension. Capabilities (storage, authentication) are optional fields of it. */
export interface Extension extends Component {
  /** Capabilities this extension offers to other components, by name. */
  readonly capabilities?: Readonly<Record<string, unknown>>;
}
