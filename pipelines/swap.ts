/**
 * Replacing a running graph with one built from a new config, without losing what was accepted
 * and without closing what did not change.
 *
 * 1. Build the new graph, keeping the unchanged receivers, exporters and extensions of the running
 *    one ({@linkcode buildGraph} decides what is unchanged). Processors and connectors are new.
 *    A create that fails ends the reload here: nothing was started or stopped.
 * 2. Start the new components that can run beside the old ones, downstream first: new exporters,
 *    extensions, processors and connectors. A start that fails stops what this step started; the
 *    old graph never stopped serving.
 * 3. Swap: every kept receiver's switches point at the new pipelines at once; then the new
 *    receivers start. A new receiver that fails to start puts the switches back and stops what
 *    was started; the old graph is still whole.
 * 4. Retire the old graph's remaining components with the shutdown order: removed receivers stop
 *    accepting (their in-flight requests finish through the old chain), old processors drain
 *    upstream first (a batch flushes into exporters that are still running, kept or old), then
 *    removed exporters (a queue drains) and extensions.
 *
 * Some components cannot run beside their replacement: a changed receiver (its port), a changed
 * extension (its port or database), a changed exporter that uses an extension (a persistent
 * queue's keys), and a new receiver or extension while any old one is removed (it may take the
 * freed port). For those, step 3 becomes: hold the kept receivers' switches (their clients wait;
 * nothing is refused), retire the old graph as in step 4, start the deferred components, swap,
 * release, start the new receivers. The replaced receiver's own port is closed for that moment.
 * If a deferred start fails, what the reload started is stopped and the old config is built again
 * around the kept components (its replaced parts are new instances); if even that fails, the
 * reload is fatal and the service should stop.
 *
 * Extensions and their users: a component is kept only if its config names no extension that is
 * replaced or removed, so a storage user (a persistent queue, filelog offsets) or an authenticator
 * user restarts with its extension: the old user stops (its queue closes; the items stay on disk)
 * before the old extension stops (the database closes), and the new extension starts before the
 * new user, which resumes the queue from disk. Dependencies are found by that name only: a
 * component that reached an extension some other way would keep a handle on a stopped instance.
 *
 * @module
 */
import type { Host } from "../components/component.ts";
import type { Logger } from "../lib/telemetry/logger.ts";
import type { ResolvedConfig } from "./config.ts";
import { buildGraph, type Graph, type GraphDeps, type GraphNode, mentionsAny } from "./graph.ts";
import { drainNodes, startNodes } from "./_lifecycle.ts";

/** How a swap ended. */
export interface SwapOutcome {
  /** The graph running now: the new one on success, else the old one (or its rebuild). */
  readonly graph: Graph;
  /** Whether the new graph runs. */
  readonly ok: boolean;
  /** Why it does not. */
  readonly error?: Error;
  /** True when not even the old config could be started again: the service is broken. */
  readonly fatal?: boolean;
  /** False when retiring old components ran into the deadline (data may have been lost). */
  readonly drained: boolean;
}

/** What a swap needs besides the graphs. */
export interface SwapContext {
  readonly deps: GraphDeps;
  readonly logger: Logger;
  /** The host that a graph's components start with: it hands out that graph's extensions. */
  hostFor(graph: Graph): Host;
  /** How long retiring old components may take. */
  readonly timeoutMs: number;
}

function key(node: GraphNode): string {
  return `${node.kind} ${node.id}`;
}

/** The new nodes that may start only once the old graph is retired. */
function deferredNodes(
  fresh: readonly GraphNode[],
  retired: readonly GraphNode[],
  extensionIds: ReadonlySet<string>,
): Set<GraphNode> {
  const retiredByKey = new Map(retired.map((n) => [key(n), n]));
  const retiredKinds = new Set(retired.map((n) => n.kind));
  const exclusive = (n: GraphNode) =>
    n.kind === "receiver" || n.kind === "extension" ||
    (n.kind === "exporter" && mentionsAny(n.spec.config, extensionIds));
  const deferred = new Set<GraphNode>();
  for (const n of fresh) {
    const old = retiredByKey.get(key(n));
    if (old !== undefined && (exclusive(n) || exclusive(old))) deferred.add(n);
    // A new receiver or extension may want what a removed one frees (a port).
    if ((n.kind === "receiver" || n.kind === "extension") && retiredKinds.has(n.kind)) {
      deferred.add(n);
    }
  }
  // Whatever names a deferred extension starts after it.
  for (;;) {
    const ids = new Set([...deferred].filter((n) => n.kind === "extension").map((n) => n.id));
    const before = deferred.size;
    for (const n of fresh) if (mentionsAny(n.spec.config, ids)) deferred.add(n);
    if (deferred.size === before) return deferred;
  }
}

/** Points every receiver of `graph` at that graph's pipelines. */
function pointReceivers(graph: Graph): void {
  for (const [node, targets] of graph.receiverTargets) {
    for (const [signal, target] of targets) node.switches?.get(signal)?.swap(target);
  }
}

/** Replaces `current` (running, built from `currentConfig`) by a graph of `config`. */
export async function swapGraph(
  current: Graph,
  currentConfig: ResolvedConfig,
  config: ResolvedConfig,
  ctx: SwapContext,
): Promise<SwapOutcome> {
  const { logger } = ctx;
  let next: Graph;
  try {
    next = buildGraph(config, ctx.deps, { reuse: current.nodes });
  } catch (error) {
    return { graph: current, ok: false, error: asError(error), drained: true };
  }
  const deadline = () => Date.now() + ctx.timeoutMs;
  const fresh = next.nodes.filter((n) => !next.reused.has(n));
  const retired = current.nodes.filter((n) => !next.reused.has(n));
  const extensionIds = new Set(
    [...current.nodes, ...next.nodes].filter((n) => n.kind === "extension").map((n) => n.id),
  );
  const deferred = deferredNodes(fresh, retired, extensionIds);
  const host = ctx.hostFor(next);
  logger.debug("Reload plan", {
    kept: [...next.reused].map(key),
    new: fresh.map(key),
    retired: retired.map(key),
    deferred: [...deferred].map(key),
  });

  const early = await startNodes(
    fresh.filter((n) => n.kind !== "receiver" && !deferred.has(n)),
    host,
    logger,
  );
  if (early.error !== undefined) {
    await drainNodes(early.started, deadline(), logger);
    return { graph: current, ok: false, error: early.error, drained: true };
  }

  if (deferred.size === 0) {
    pointReceivers(next);
    const receivers = await startNodes(fresh.filter((n) => n.kind === "receiver"), host, logger);
    if (receivers.error !== undefined) {
      pointReceivers(current);
      await drainNodes([...early.started, ...receivers.started], deadline(), logger);
      return { graph: current, ok: false, error: receivers.error, drained: true };
    }
    const drained = await drainNodes(retired, deadline(), logger);
    return { graph: next, ok: true, drained };
  }

  const held = [...next.reused].flatMap((n) => [...(n.switches?.values() ?? [])]);
  for (const s of held) s.hold();
  try {
    const drained = await drainNodes(retired, deadline(), logger);
    const late = await startNodes(
      fresh.filter((n) => n.kind !== "receiver" && deferred.has(n)),
      host,
      logger,
    );
    let error = late.error;
    let receivers: GraphNode[] = [];
    if (error === undefined) {
      pointReceivers(next);
      const started = await startNodes(fresh.filter((n) => n.kind === "receiver"), host, logger);
      receivers = started.started;
      error = started.error;
    }
    if (error === undefined) return { graph: next, ok: true, drained };

    // The old graph is gone: stop what this reload started and build the old config again.
    logger.error("Restoring the previous config after a failed reload", { error });
    await drainNodes([...early.started, ...late.started, ...receivers], deadline(), logger);
    const kept: Graph = {
      nodes: current.nodes.filter((n) => next.reused.has(n)),
      pipelineEntries: new Map(),
      receiverTargets: new Map(),
      reused: new Set(),
    };
    const restored = await swapGraph(kept, config, currentConfig, ctx);
    return restored.ok
      ? { graph: restored.graph, ok: false, error, drained }
      : { graph: restored.graph, ok: false, error, fatal: true, drained: false };
  } finally {
    for (const s of held) s.release();
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
