/**
 * The service: builds the graph, starts it (extensions, then downstream first, receivers last) and
 * stops it (receivers first, so in-flight data drains through processors to exporters, extensions
 * last), within a shutdown timeout.
 *
 * @module
 */
import type { BuildInfo, Extension, Host, ServiceStatus } from "../components/component.ts";
import { errorMessage } from "../lib/consumer/consumer.ts";
import type { Logger } from "../lib/telemetry/logger.ts";
import { MetricRegistry } from "../lib/telemetry/metrics.ts";
import type { ResolvedConfig } from "./config.ts";
import { buildGraph, type Graph, type GraphNode } from "./graph.ts";

/** Options of {@linkcode Service}. */
export interface ServiceOptions {
  readonly config: ResolvedConfig;
  readonly logger: Logger;
  readonly buildInfo: BuildInfo;
  /** Where tfo's own metrics go. @default a new registry */
  readonly registry?: MetricRegistry;
  /** How long stopping may take before the rest is abandoned. @default 30000 */
  readonly shutdownTimeoutMs?: number;
}

/** A component failed to start; the service stopped what had started. */
export class StartError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StartError";
  }
}

function nodeName(node: GraphNode): string {
  return node.pipeline === undefined
    ? `${node.kind} "${node.id}"`
    : `${node.kind} "${node.id}" in pipeline "${node.pipeline}"`;
}

/** A running (or startable) graph of components. */
export class Service {
  readonly #options: ServiceOptions;
  readonly #logger: Logger;
  readonly registry: MetricRegistry;
  #graph: Graph | undefined;
  #status: ServiceStatus = "starting";
  #started: GraphNode[] = [];
  #stopping: Promise<void> | undefined;

  constructor(options: ServiceOptions) {
    this.#options = options;
    this.#logger = options.logger;
    this.registry = options.registry ?? new MetricRegistry();
  }

  /** The service's state. */
  get status(): ServiceStatus {
    return this.#status;
  }

  /** The graph, once built. */
  get graph(): Graph | undefined {
    return this.#graph;
  }

  #host(): Host {
    const extensions = new Map<string, Extension>();
    for (const node of this.#graph?.nodes ?? []) {
      if (node.kind === "extension") extensions.set(node.id, node.component as Extension);
    }
    return {
      getExtension: (id) => extensions.get(id),
      status: () => this.#status,
    };
  }

  /**
   * Builds the graph and starts every component in order. On failure, stops what started and
   * throws a {@linkcode StartError} naming the component.
   */
  async start(): Promise<void> {
    this.#status = "starting";
    this.#graph = buildGraph(this.#options.config, {
      logger: this.#logger,
      registry: this.registry,
      buildInfo: this.#options.buildInfo,
    });
    const host = this.#host();
    for (const node of this.#graph.nodes) {
      this.#logger.debug("Starting component", {
        "otelcol.component.kind": node.kind,
        "otelcol.component.id": node.id,
      });
      try {
        this.#started.push(node);
        await node.component.start(host);
      } catch (error) {
        const message = `Cannot start ${nodeName(node)}: ${errorMessage(error)}`;
        await this.shutdown();
        throw new StartError(message, { cause: error });
      }
    }
    this.#status = "running";
    this.#logger.info("Everything is ready. Begin running and processing data.");
  }

  /** Stops every started component, receivers first. Safe to call twice. */
  shutdown(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#status = "stopping";
    const timeoutMs = this.#options.shutdownTimeoutMs ?? 30_000;
    const deadline = Date.now() + timeoutMs;
    const nodes = this.#started.toReversed();
    this.#started = [];
    for (const node of nodes) {
      const left = deadline - Date.now();
      if (left <= 0) {
        this.#logger.error("Shutdown timeout reached; abandoning the rest", {
          "otelcol.component.kind": node.kind,
          "otelcol.component.id": node.id,
          timeout_ms: timeoutMs,
        });
        break;
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), left);
      });
      try {
        const result = await Promise.race([node.component.shutdown(), timedOut]);
        if (result === "timeout") {
          this.#logger.error("Shutdown timeout reached while stopping a component", {
            "otelcol.component.kind": node.kind,
            "otelcol.component.id": node.id,
            timeout_ms: timeoutMs,
          });
        }
      } catch (error) {
        this.#logger.error(`Cannot stop ${nodeName(node)} cleanly`, { error });
      } finally {
        clearTimeout(timer);
      }
    }
    this.#status = "stopped";
  }
}
