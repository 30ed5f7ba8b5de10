/**
 * What an introspection extension (the pipeline page, zpages) may see of the running service,
 * as plain data: the graph as drawn (nodes and edges with stable keys), items and refusals per
 * edge, each component's redacted config and recent log lines, the last failed start or reload,
 * and a tap on the payloads leaving a component. The service (`pipelines/`) fills it in; the
 * extension (`components/`) only reads it, so it lives here where both can name it.
 *
 * Counting costs one closure call and two additions per payload per edge, never per item.
 *
 * @module
 */
import type { Payload } from "../pdata/payload.ts";
import type { Signal } from "../pdata/types.ts";
import type { Consumer } from "../consumer/consumer.ts";
import type { Kind, ServiceStatus } from "./host.ts";

/** A node as drawn: receivers, exporters and connectors once, processors per pipeline. */
export interface ViewNode {
  /** `receiver:otlp`, `processor:traces:batch`, `exporter:otlphttp`, `connector:forward`. */
  readonly key: string;
  readonly kind: Exclude<Kind, "extension">;
  /** The component ID (`otlp`, `batch/fast`). */
  readonly id: string;
  /** The component type (`otlp`, `batch`). */
  readonly type: string;
  /** The pipeline of a processor; shared nodes have none. */
  readonly pipeline?: string;
}

/** An edge: what `from` hands `to` for one signal. */
export interface ViewEdge {
  /** `${from}->${to}:${signal}`. */
  readonly key: string;
  readonly from: string;
  readonly to: string;
  readonly signal: Signal;
}

/** A pipeline as configured. */
export interface ViewPipeline {
  readonly id: string;
  readonly signal: Signal;
  readonly receivers: readonly string[];
  readonly processors: readonly string[];
  readonly exporters: readonly string[];
}

/** A component's configuration with secrets replaced, by component key. */
export interface ViewComponent {
  readonly kind: Kind;
  readonly id: string;
  readonly type: string;
  /** The validated config, secrets replaced by `[REDACTED]`. */
  readonly config: unknown;
}

/** The running graph as drawn. */
export interface GraphView {
  readonly nodes: readonly ViewNode[];
  readonly edges: readonly ViewEdge[];
  readonly pipelines: readonly ViewPipeline[];
  /** Every defined component, extensions included, keyed `kind:id`. */
  readonly components: ReadonlyMap<string, ViewComponent>;
  /** Started extension IDs, in start order. */
  readonly extensions: readonly string[];
}

/** Cumulative counts of one edge. */
export interface EdgeCount {
  /** Items handed over and accepted downstream. */
  items: number;
  /** Items handed over that downstream refused (the consume rejected). */
  refused: number;
  /** Payloads that downstream refused. */
  refusedBatches: number;
}

/** One log line kept for the component page. */
export interface ViewLogLine {
  readonly ts: string;
  readonly level: string;
  readonly message: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

/** A failed start or reload: its message and, for an invalid config, every diagnostic. */
export interface ViewFailure {
  readonly at: string;
  readonly what: "start" | "reload";
  readonly message: string;
  /** `file:line:col  error: …` lines, when the config was invalid. */
  readonly diagnostics: readonly string[];
}

/** Receives payloads a tap saw; called synchronously, must not keep the payload. */
export type TapListener = (payload: Payload, signal: Signal, edge: string) => void;

/** What the service shows an introspection extension. */
export interface ServiceView {
  status(): ServiceStatus;
  /** When the service last became ready, `Date.now()` ms. */
  readySince(): number | undefined;
  /** The graph that runs now (a new object after a reload). */
  graph(): GraphView;
  /** Cumulative counts per edge key; edges of earlier graphs keep their counts. */
  edgeCounts(): ReadonlyMap<string, Readonly<EdgeCount>>;
  /** Recent log lines of a component (`kind:id`), oldest first, bounded. */
  logs(componentKey: string): readonly ViewLogLine[];
  /** The last failed start or reload, until a later one succeeds. */
  lastFailure(): ViewFailure | undefined;
  /** tfo's own metrics in the Prometheus text format, as `/metrics` serves them. */
  metricsText(): string;
  /** Calls `listener` with payloads leaving the node `nodeKey`; returns the unsubscribe. */
  tap(nodeKey: string, listener: TapListener): () => void;
}

/** Counts edges and dispatches taps; the graph builder wraps consumers with {@linkcode EdgeMeter.edge}. */
export interface EdgeMeter {
  /** The counting cell of an edge, created on first use and kept across reloads. */
  edge(from: string, to: string, signal: Signal): EdgeCell;
  counts(): ReadonlyMap<string, Readonly<EdgeCount>>;
  tap(nodeKey: string, listener: TapListener): () => void;
}

/** One edge's counter and tap hook. */
export interface EdgeCell {
  readonly key: string;
  /** Offers a payload about to cross the edge to the taps of the edge's source. */
  offer(payload: Payload): void;
  /** Counts `items` downstream accepted. */
  accepted(items: number): void;
  /** Counts `items` downstream refused, as one refused payload. */
  refused(items: number): void;
}

/** The key of an edge. */
export function edgeKey(from: string, to: string, signal: Signal): string {
  return `${from}->${to}:${signal}`;
}

/** `next` behind an edge that counts what crosses it and lets taps see it first. */
export function countedEdge<S extends Signal>(cell: EdgeCell, next: Consumer<S>): Consumer<S> {
  return {
    mutatesData: next.mutatesData,
    needs: next.needs,
    async consume(payload) {
      const items = payload.itemCount;
      cell.offer(payload);
      try {
        await next.consume(payload);
      } catch (error) {
        cell.refused(items);
        throw error;
      }
      cell.accepted(items);
    },
  };
}

/** Creates an {@linkcode EdgeMeter}. */
export function createEdgeMeter(): EdgeMeter {
  const cells = new Map<string, EdgeCell>();
  const counts = new Map<string, EdgeCount>();
  const taps = new Map<string, Set<TapListener>>();
  return {
    edge(from, to, signal) {
      const key = edgeKey(from, to, signal);
      const existing = cells.get(key);
      if (existing !== undefined) return existing;
      const count: EdgeCount = { items: 0, refused: 0, refusedBatches: 0 };
      counts.set(key, count);
      const cell: EdgeCell = {
        key,
        offer(payload) {
          const listeners = taps.get(from);
          if (listeners === undefined) return;
          for (const listener of listeners) {
            try {
              listener(payload, signal, key);
            } catch {
              // a tap never disturbs the pipeline
            }
          }
        },
        accepted(items) {
          count.items += items;
        },
        refused(items) {
          count.refused += items;
          count.refusedBatches++;
        },
      };
      cells.set(key, cell);
      return cell;
    },
    counts: () => counts,
    tap(nodeKey, listener) {
      let listeners = taps.get(nodeKey);
      if (listeners === undefined) taps.set(nodeKey, listeners = new Set());
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0) taps.delete(nodeKey);
      };
    },
  };
}
