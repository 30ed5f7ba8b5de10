/** Shared helpers of the exporter helper tests: payloads, push fakes, settled-promise probes. */
import { ConsumerError, retryableError } from "../../../lib/consumer/consumer.ts";
import type { RetryConfig } from "../../../lib/exporterhelper/retry_sender.ts";
import { createLogger } from "../../../lib/telemetry/logger.ts";
import { MetricRegistry } from "../../../lib/telemetry/metrics.ts";
import type { FakeClock } from "./_fake_clock.ts";

export { tracesPayload } from "../../../tests/fixtures/graph_kit.ts";

/** The Collector's retry defaults, in milliseconds. */
export const RETRY_DEFAULTS: RetryConfig = {
  enabled: true,
  initial_interval: 5000,
  randomization_factor: 0.5,
  multiplier: 1.5,
  max_interval: 30_000,
  max_elapsed_time: 300_000,
};

/** A logger that keeps its lines, and a registry with a meter labelled like an exporter's. */
export function observed(id = "otlphttp") {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: "debug", write: (l) => lines.push(JSON.parse(l)) });
  const registry = new MetricRegistry();
  const meter = registry.meter({ exporter: id });
  return { logger, lines, registry, meter };
}

/** What a promise did so far. */
export interface Probe<T> {
  readonly settled: boolean;
  readonly value: T | undefined;
  readonly error: unknown;
}

/** Watches a promise without awaiting it. */
export function probe<T>(promise: Promise<T>): Probe<T> {
  const state = { settled: false, value: undefined as T | undefined, error: undefined as unknown };
  promise.then(
    (v) => Object.assign(state, { settled: true, value: v }),
    (e) => Object.assign(state, { settled: true, error: e }),
  );
  return state;
}

/** Fires the fake clock's timers until `promise` settles (at most `limit` timers). */
export async function drive<T>(clock: FakeClock, promise: Promise<T>, limit = 1000) {
  const p = probe(promise);
  for (let i = 0; i < limit && !p.settled; i++) {
    if (!await clock.next()) break;
  }
  return p;
}

/** The error of a settled probe, as a ConsumerError. */
export function consumerError(p: Probe<unknown>): ConsumerError {
  if (!(p.error instanceof ConsumerError)) throw new Error(`Expected a ConsumerError: ${p.error}`);
  return p.error;
}

/** A push that fails retryably `failures` times (optionally with a Retry-After), then succeeds. */
export function flakyPush(failures: number, retryAfterMs?: number) {
  const calls: number[] = [];
  let n = 0;
  return {
    calls,
    push: (_payload: unknown, _signal?: AbortSignal): Promise<void> => {
      calls.push(n);
      if (n++ < failures) {
        return Promise.reject(
          retryableError("HTTP 503", retryAfterMs === undefined ? {} : { retryAfterMs }),
        );
      }
      return Promise.resolve();
    },
  };
}
