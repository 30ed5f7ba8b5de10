/**
 * One frame of the pipeline page's live stats: per edge the items and refusals per second since
 * the previous frame, per node its refusals, failures and queue fill, computed once per second for
 * every open page however many there are.
 *
 * @module
 */
import type { EdgeCount, ServiceView } from "../../../lib/component/view.ts";
import { formatOfContentType, parseExposition } from "../../../lib/prometheus/parse.ts";
import { type ComponentTotals, snapshotOf } from "../../../lib/telemetry/top.ts";

/** The shortest time a rate is computed over, in seconds. */
const MIN_RATE_WINDOW_S = 0.05;

/** One edge in a frame. */
export interface EdgeFrame {
  items: number;
  refused: number;
  refusedBatches: number;
  itemsPerSecond: number;
  refusedPerSecond: number;
}

/** One node in a frame. */
export interface NodeFrame {
  incoming: number;
  outgoing: number;
  refused: number;
  failed: number;
  queueSize?: number;
  queueCapacity?: number;
  queueBytes?: number;
  /** Seconds the oldest queued item has waited. */
  queueAgeSeconds?: number;
}

/** What the page receives every second. */
export interface StatsFrame {
  at: string;
  status: string;
  graphVersion: number;
  failure: ReturnType<ServiceView["lastFailure"]>;
  edges: Record<string, EdgeFrame>;
  nodes: Record<string, NodeFrame>;
}

/**
 * Computes frames; keeps the previous counts to turn them into rates. Rates count from the
 * clock's creation: its first frame shows what flowed since then, not since the service started.
 */
export function createStatsClock(view: ServiceView, graphVersion: () => number) {
  let previous = new Map<string, EdgeCount>(
    [...view.edgeCounts()].map(([key, count]) => [key, { ...count }]),
  );
  let previousAt = performance.now();
  return function frame(): StatsFrame {
    const now = performance.now();
    const elapsed = (now - previousAt) / 1000;
    // Too short a window gives no rate worth showing (a page that connected right after the
    // clock started): rates 0, and the window stays open for the next frame.
    const seconds = elapsed < MIN_RATE_WINDOW_S ? undefined : elapsed;
    const counts = view.edgeCounts();
    const edges: Record<string, EdgeFrame> = {};
    const next = new Map<string, EdgeCount>();
    for (const [key, count] of counts) {
      const before = previous.get(key);
      const rate = (now: number, then: number | undefined) =>
        seconds === undefined ? 0 : Math.max(0, now - (then ?? 0)) / seconds;
      edges[key] = {
        ...count,
        itemsPerSecond: rate(count.items, before?.items),
        refusedPerSecond: rate(count.refused, before?.refused),
      };
      next.set(key, { ...count });
    }
    if (seconds !== undefined) {
      previous = next;
      previousAt = now;
    }
    const totals = new Map<string, ComponentTotals>();
    try {
      const text = view.metricsText();
      for (
        const t of snapshotOf(parseExposition(text, formatOfContentType("text/plain")).samples)
          .values()
      ) {
        totals.set(`${t.kind}:${t.id}`, t);
      }
    } catch {
      // the page still shows edges when the metrics cannot be read
    }
    const nodes: Record<string, NodeFrame> = {};
    for (const node of view.graph().nodes) {
      const t = totals.get(`${node.kind}:${node.id}`);
      if (t === undefined) continue;
      nodes[node.key] = {
        incoming: t.incoming,
        outgoing: t.outgoing,
        refused: t.refused,
        failed: t.failed,
        ...(t.queueSize === undefined ? {} : { queueSize: t.queueSize }),
        ...(t.queueCapacity === undefined ? {} : { queueCapacity: t.queueCapacity }),
        ...(t.queueBytes === undefined ? {} : { queueBytes: t.queueBytes }),
        ...(t.queueAgeSeconds === undefined ? {} : { queueAgeSeconds: t.queueAgeSeconds }),
      };
    }
    return {
      at: new Date().toISOString(),
      status: view.status(),
      graphVersion: graphVersion(),
      failure: view.lastFailure(),
      edges,
      nodes,
    };
  };
}
