/**
 * The service: builds the graph, starts it (extensions, then downstream first, receivers last),
 * replaces it on reload (see `swap.ts`: unchanged receivers, exporters and extensions keep
 * running) and stops it (receivers and scrapers first, awaited, so nothing new enters; then
 * processors drain into exporters, exporters drain or close their queues, extensions last —
 * `_lifecycle.ts`), within a shutdown timeout. Reloads and the shutdown run one at a
 * time, in the order they were asked for.
 *
 * @module
 */
import type { BuildInfo, Extension, Host, ServiceStatus } from "../components/component.ts";
import type { Logger } from "../lib/telemetry/logger.ts";
import { MetricRegistry } from "../lib/telemetry/metrics.ts";
import type { ResolvedConfig } from "./config.ts";
import { buildGraph, type Graph, type GraphDeps, type GraphNode } from "./graph.ts";
import { swapGraph, type SwapOutcome } from "./swap.ts";
import { drainNodes, startNodes } from "./_lifecycle.ts";
import { createEdgeMeter, type ServiceView, type ViewFailure } from "../lib/component/view.ts";
import { createLogRing, type LogRing } from "../lib/telemetry/log_ring.ts";
import { graphView } from "./graph_view.ts";

export { StartError } from "./_lifecycle.ts";
export type { SwapOutcome } from "./swap.ts";

/** Options of {@linkcode Service}. */
export interface ServiceOptions {
  readonly config: ResolvedConfig;
  readonly logger: Logger;
  readonly buildInfo: BuildInfo;
  /** Where tfo's own metrics go. @default a new registry */
  readonly registry?: MetricRegistry;
  /**
   * How long stopping (or retiring old components on reload) may take before the rest is
   * abandoned. @default the config's `service.shutdown_timeout`, else 30000
   */
  readonly shutdownTimeoutMs?: number;
  /**
   * Called once in {@linkcode Service.start}, when every component but the receivers has started
   * and before the receivers open their ports: the place for process-wide settling of start-up
   * work that would otherwise land on the first requests. @default none
   */
  readonly beforeReceivers?: () => void | Promise<void>;
  /** Other workers run the same receivers on the same ports (`service.workers`). @default false */
  readonly sharePorts?: boolean;
}

/** A running (or startable) graph of components. */
export class Service {
  readonly #options: ServiceOptions;
  readonly #logger: Logger;
  readonly registry: MetricRegistry;
  #config: ResolvedConfig;
  #graph: Graph | undefined;
  #status: ServiceStatus = "starting";
  #readySince: number | undefined;
  #started: GraphNode[] = [];
  #stopping: Promise<boolean> | undefined;
  /** The tail of the reload and shutdown queue. */
  #busy: Promise<unknown> = Promise.resolve();
  readonly #edges = createEdgeMeter();
  readonly #logs: LogRing;
  #failure: ViewFailure | undefined;
  #view: ServiceView | undefined;
  #graphView: { config: ResolvedConfig; view: ReturnType<typeof graphView> } | undefined;

  constructor(options: ServiceOptions) {
    this.#options = options;
    this.#logs = createLogRing(options.logger);
    this.#logger = this.#logs.logger;
    this.#config = options.config;
    this.registry = options.registry ?? new MetricRegistry();
  }

  /**
   * Records a failed reload (with the config's diagnostics when it was invalid) for the pipeline
   * page; `undefined` clears it after a reload succeeded.
   */
  noteFailure(failure: Omit<ViewFailure, "at"> | undefined): void {
    this.#failure = failure === undefined
      ? undefined
      : { ...failure, at: new Date().toISOString() };
  }

  /** What introspection extensions see; one object for the service's life. */
  view(): ServiceView {
    return this.#view ??= {
      status: () => this.#status,
      readySince: () => this.#status === "running" ? this.#readySince : undefined,
      graph: () => {
        if (this.#graphView?.config !== this.#config) {
          this.#graphView = { config: this.#config, view: graphView(this.#config) };
        }
        return this.#graphView.view;
      },
      edgeCounts: () => this.#edges.counts(),
      logs: (key) => this.#logs.lines(key),
      lastFailure: () => this.#failure,
      metricsText: () => this.registry.render(),
      tap: (key, listener) => this.#edges.tap(key, listener),
    };
  }

  /** The service's state. */
  get status(): ServiceStatus {
    return this.#status;
  }

  /** The graph, once built. */
  get graph(): Graph | undefined {
    return this.#graph;
  }

  /** The config of the graph that runs. */
  get config(): ResolvedConfig {
    return this.#config;
  }

  /** The started extension with this ID in the running graph. */
  getExtension(id: string): Extension | undefined {
    return this.#hostFor(this.#graph)?.getExtension(id);
  }

  #deps(): GraphDeps {
    return {
      logger: this.#logger,
      registry: this.registry,
      buildInfo: this.#options.buildInfo,
      edges: this.#edges,
      ...(this.#options.sharePorts === true ? { sharePorts: true } : {}),
    };
  }

  #timeoutMs(): number {
    return this.#options.shutdownTimeoutMs ?? this.#config.service.shutdownTimeoutMs ?? 30_000;
  }

  /** A host handing out the extensions of `graph`. */
  #hostFor(graph: Graph | undefined): Host {
    const extensions = new Map<string, Extension>();
    for (const node of graph?.nodes ?? []) {
      if (node.kind === "extension") extensions.set(node.id, node.component as Extension);
    }
    return {
      getExtension: (id) => extensions.get(id),
      status: () => this.#status,
      readySince: () => this.#status === "running" ? this.#readySince : undefined,
      view: () => this.view(),
    };
  }

  /**
   * Builds the graph and starts every component in order. On failure, stops what started and
   * throws a {@linkcode StartError} naming the component.
   */
  async start(): Promise<void> {
    this.#status = "starting";
    this.#graph = buildGraph(this.#config, this.#deps());
    const { started, error } = await startNodes(
      this.#graph.nodes,
      this.#hostFor(this.#graph),
      this.#logger,
      this.#options.beforeReceivers === undefined
        ? {}
        : { beforeReceivers: this.#options.beforeReceivers },
    );
    this.#started = started;
    if (error !== undefined) {
      await this.shutdown();
      throw error;
    }
    this.#status = "running";
    this.#readySince = Date.now();
    this.#logger.info("Everything is ready. Begin running and processing data.");
  }

  /**
   * Replaces the running graph by one built from `config`, keeping what did not change. When the
   * new graph cannot be built or started, the old one keeps running (the outcome says why). Runs
   * after any reload or shutdown asked for before it; refused once the service stops.
   */
  reload(config: ResolvedConfig): Promise<SwapOutcome> {
    const run = this.#busy.then(() => this.#reload(config));
    this.#busy = run.catch(() => {});
    return run;
  }

  async #reload(config: ResolvedConfig): Promise<SwapOutcome> {
    const graph = this.#graph;
    if (this.#status !== "running" || graph === undefined) {
      const error = new Error(`Cannot reload: the service is ${this.#status}`);
      return { graph: graph ?? emptyGraph(), ok: false, error, drained: true };
    }
    const outcome = await swapGraph(graph, this.#config, config, {
      deps: this.#deps(),
      logger: this.#logger,
      hostFor: (g) => this.#hostFor(g),
      timeoutMs: this.#timeoutMs(),
    });
    this.#graph = outcome.graph;
    this.#started = [...outcome.graph.nodes];
    if (outcome.ok) this.#config = config;
    return outcome;
  }

  /**
   * Stops every started component, receivers first. Safe to call twice; waits for a reload in
   * progress. Resolves to false when the shutdown timeout cut the drain short (data held by
   * unstopped components may be lost).
   */
  shutdown(): Promise<boolean> {
    if (this.#stopping === undefined) {
      this.#stopping = this.#busy.then(() => this.#stop());
      this.#busy = this.#stopping.catch(() => {});
    }
    return this.#stopping;
  }

  async #stop(): Promise<boolean> {
    this.#status = "stopping";
    const timeoutMs = this.#timeoutMs();
    const nodes = this.#started;
    this.#started = [];
    const clean = await drainNodes(nodes, Date.now() + timeoutMs, this.#logger);
    if (!clean) {
      this.#logger.error("Shutdown timeout reached; components were abandoned", {
        timeout_ms: timeoutMs,
      });
    }
    this.#status = "stopped";
    return clean;
  }
}

function emptyGraph(): Graph {
  return { nodes: [], pipelineEntries: new Map(), receiverTargets: new Map(), reused: new Set() };
}
