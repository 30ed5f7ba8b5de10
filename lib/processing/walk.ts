/**
 * Walks over the resources of any signal's data, for processors that act on resources alone.
 *
 * @module
 */
import type { Resource, Signal, SignalData } from "../pdata/types.ts";

/** Calls `fn` with every resource of `data`, in order. */
export function forEachResource<S extends Signal>(
  signal: S,
  data: SignalData[S],
  fn: (resource: Resource) => void,
): void {
  switch (signal) {
    case "traces":
      for (const rs of (data as SignalData["traces"]).resourceSpans) fn(rs.resource);
      break;
    case "metrics":
      for (const rm of (data as SignalData["metrics"]).resourceMetrics) fn(rm.resource);
      break;
    case "logs":
      for (const rl of (data as SignalData["logs"]).resourceLogs) fn(rl.resource);
      break;
  }
}
