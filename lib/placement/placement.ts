/**
 * How a component runs when the service runs its graph in several workers (`service.workers`):
 * the declaration a factory makes and the runtime reads. A component author only declares; the
 * graph builder places the instances and routes data between workers.
 *
 * @module
 */

/** The keys a sharded component can be sharded by. */
export type ShardKey =
  /** The span's trace ID: every span of a trace meets in one instance (`splitTracesByTraceId`). */
  | "trace_id"
  /** The resource's `service.name`: every item of a service meets in one instance. */
  | "service";

/**
 * Where a component's instances run:
 * - `"stateless"`: one instance per worker, fed whatever that worker receives (the default);
 * - `"single"`: exactly one instance in the whole service (pull receivers, the prometheus
 *   exporter, extensions, and components whose state must see all data at once);
 * - `{ sharded }`: one instance per worker, each fed the data whose key hashes to it, so related
 *   data (a trace, a service's series) meets in one instance.
 */
export type Placement = "stateless" | "single" | { readonly sharded: ShardKey };

/** The placement of a component that declares none. */
export const DEFAULT_PLACEMENT: Placement = "stateless";
