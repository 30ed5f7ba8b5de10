/**
 * Starting and stopping sets of graph nodes, shared by the service's start and shutdown and by
 * reloads: start in order (downstream first, receivers last), stop receivers first (awaited),
 * then the rest upstream first, within a deadline so data drains.
 *
 * @module
 */
import type { Host } from "../components/component.ts";
import { errorMessage } from "../lib/consumer/consumer.ts";
import type { Logger } from "../lib/telemetry/logger.ts";
import type { FailedComponent, GraphNode } from "./graph.ts";

/** A component failed to start; what had started was stopped again. */
export class StartError extends Error {
  /** The component that failed, when known. */
  readonly component: FailedComponent | undefined;
  constructor(message: string, options?: ErrorOptions & { component?: FailedComponent }) {
    super(message, options);
    this.name = "StartError";
    this.component = options?.component;
  }
}

/** `receiver "otlp"` or `processor "batch" in pipeline "traces"`. */
export function nodeName(node: GraphNode): string {
  return node.pipeline === undefined
    ? `${node.kind} "${node.id}"`
    : `${node.kind} "${node.id}" in pipeline "${node.pipeline}"`;
}

/**
 * A component's start error without the `Cannot start <kind> "<id>": ` it may begin with (several
 * components name themselves, as an error thrown outside the service should), so that the
 * service's message names the component once.
 */
function startDetail(node: GraphNode, message: string): string {
  const own = `Cannot start ${node.kind} "${node.id}": `;
  return message.startsWith(own) ? message.slice(own.length) : message;
}

/** What {@linkcode startNodes} did. */
export interface StartResult {
  /** The nodes whose start was called, the failed one included (it may hold something). */
  readonly started: GraphNode[];
  /** Why the last one failed, naming it; undefined when all started. */
  readonly error?: StartError;
}

/** Options of {@linkcode startNodes}. */
export interface StartNodesOptions {
  /**
   * Called once, after every node before the first receiver started and before that receiver
   * starts (opens its ports); not called when no receiver is among `nodes` or a node before it
   * failed. @default none
   */
  beforeReceivers?: () => void | Promise<void>;
}

/** Starts `nodes` in order, stopping at the first failure. */
export async function startNodes(
  nodes: readonly GraphNode[],
  host: Host,
  logger: Logger,
  options: StartNodesOptions = {},
): Promise<StartResult> {
  const started: GraphNode[] = [];
  let receiversNext = options.beforeReceivers !== undefined;
  for (const node of nodes) {
    if (receiversNext && node.kind === "receiver") {
      receiversNext = false;
      await options.beforeReceivers!();
    }
    logger.debug("Starting component", {
      "otelcol.component.kind": node.kind,
      "otelcol.component.id": node.id,
    });
    started.push(node);
    try {
      await node.component.start(host);
    } catch (error) {
      const message = `Cannot start ${nodeName(node)}: ${startDetail(node, errorMessage(error))}`;
      const component = { kind: node.kind, id: node.id };
      return { started, error: new StartError(message, { cause: error, component }) };
    }
  }
  return { started };
}

/**
 * Stops `nodes` (given in start order) so that data drains: first every receiver (scrapers
 * included), all at once, and waits until each has stopped — no new data enters and in-flight
 * requests were answered; then processors, connectors and exporters one by one in reverse start
 * order (so each flushes into components still running), extensions last. Awaiting the receivers
 * first cannot deadlock: an in-flight request waits only until its data is queued (or held by a
 * batch processor), never for a batch timeout or a backend behind a queue. Resolves to false when
 * the deadline cut the drain short.
 */
export async function drainNodes(
  nodes: readonly GraphNode[],
  deadline: number,
  logger: Logger,
): Promise<boolean> {
  const reversed = nodes.toReversed();
  let clean = true;
  const receivers = reversed.filter((n) => n.kind === "receiver");
  for (const stopped of await Promise.all(receivers.map((n) => stopNode(n, deadline, logger)))) {
    if (!stopped) clean = false;
  }
  for (const node of reversed) {
    if (node.kind === "receiver") continue;
    if (!(await stopNode(node, deadline, logger))) clean = false;
  }
  return clean;
}

/** Stops one node before the deadline; false when the deadline passed first. */
export async function stopNode(
  node: GraphNode,
  deadline: number,
  logger: Logger,
): Promise<boolean> {
  const fields = { "otelcol.component.kind": node.kind, "otelcol.component.id": node.id };
  const left = deadline - Date.now();
  if (left <= 0) {
    logger.error(`Not stopping ${nodeName(node)}: the shutdown timeout was reached`, fields);
    return false;
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), left);
  });
  try {
    const result = await Promise.race([node.component.shutdown(), timedOut]);
    if (result === "timeout") {
      logger.error(`The shutdown timeout was reached while stopping ${nodeName(node)}`, fields);
      return false;
    }
    return true;
  } catch (error) {
    logger.error(`Cannot stop ${nodeName(node)} cleanly`, { ...fields, error });
    return true;
  } finally {
    clearTimeout(timer);
  }
}
