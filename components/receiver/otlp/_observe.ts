/**
 * The otlp receiver's own metrics: accepted and refused items per signal for one transport, with
 * the shared receiver counters of `lib/telemetry/receiver_metrics.ts`.
 *
 * @module
 */
import type { Signal } from "../../../lib/pdata/types.ts";
import type { Meter } from "../../../lib/telemetry/metrics.ts";
import {
  type ReceiverCounters,
  receiverCounters,
} from "../../../lib/telemetry/receiver_metrics.ts";

/** Accepted and refused item counters of one signal on one transport. */
export type ItemCounters = ReceiverCounters;

/** Counters per signal for one transport (`http` or `grpc`). */
export function itemCounters(
  meter: Meter,
  transport: "http" | "grpc",
  signals: readonly Signal[],
): Map<Signal, ItemCounters> {
  return new Map(signals.map((signal) => [signal, receiverCounters(meter, signal, transport)]));
}
