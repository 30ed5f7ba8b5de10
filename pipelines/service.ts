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
  #stopping: Promise<boolean> | undefined;

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

  /**
   * Stops every started component, receivers first. Safe to call twice. Resolves to false when
   * the shutdown timeout cut the drain short (data held by unstopped components may be lost).
   */
  shutdown(): Promise<boolean> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  /**
   * Receivers are asked to stop first, and stop accepting at once; but their shutdown also waits
   * for in-flight requests, which wait for processors (a batch) to deliver downstream. So the
   * receivers' shutdowns run alongside the drain of everything after them, in order, and are
   * awaited last.
   */
  async #stop(): Promise<boolean> {
    this.#status = "stopping";
    const timeoutMs = this.#options.shutdownTimeoutMs ?? 30_000;
    const deadline = Date.now() + timeoutMs;
    const nodes = this.#started.toReversed();
    this.#started = [];
    const receivers = nodes.filter((n) => n.kind === "receiver");
    const receiverStops = receivers.map((n) => this.#stopNode(n, deadline));
    // Let the receivers close their listeners before the components behind them stop.
    await new Promise((resolve) => setTimeout(resolve, 0));
    let clean = true;
    for (const node of nodes) {
      if (node.kind === "receiver") continue;
      if (!(await this.#stopNode(node, deadline))) clean = false;
    }
    for (const stopped of await Promise.all(receiverStops)) if (!stopped) clean = false;
    if (!clean) {
      this.#logger.error("Shutdown timeout reached; components were abandoned", {
        timeout_ms: timeoutMs,
      });
    }
    this.#status = "stopped";
    return clean;
  }

  /** Stops one node before the deadline; false when the deadline passed first. */
  async #stopNode(node: GraphNode, deadline: number): Promise<boolean> {
    const fields = { "otelcol.component.kind": node.kind, "otelcol.component.id": node.id };
    const left = deadline - Date.now();
    if (left <= 0) {
      this.#logger.error(
        `Not stopping ${nodeName(node)}: the shutdown timeout was reached`,
        fields,
      );
      return false;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), left);
    });
    try {
      const result = await Promise.race([node.component.shutdown(), timedOut]);
      if (result === "timeout") {
        this.#logger.error(
          `The shutdown timeout was reached while stopping ${nodeName(node)}`,
          fields,
        );
        return false;
      }
      return true;
    } catch (error) {
      this.#logger.error(`Cannot stop ${nodeName(node)} cleanly`, { ...fields, error });
      return true;
    } finally {
      clearTimeout(timer);
    }
  }
}
