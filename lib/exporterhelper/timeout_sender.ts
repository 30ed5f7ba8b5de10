/**
 * The timeout sender: gives each attempt of an export its own deadline. The push function gets an
 * `AbortSignal` that aborts when the deadline passes (its reason a `TimeoutError` DOMException),
 * and the attempt fails with a retryable {@linkcode ConsumerError} then, even if the push ignores
 * the signal. An attempt that goes on past its deadline keeps a lease on the payload
 * (`Payload.retain`) until it really ends, so the payload's pooled bytes are not reused under it.
 *
 * @module
 */
import { retryableError } from "../consumer/consumer.ts";
import type { Payload } from "../pdata/payload.ts";
import type { Signal } from "../pdata/types.ts";
import { type Clock, SYSTEM_CLOCK } from "../clock.ts";
import { formatDuration } from "../config/schema.ts";

/** One step of the exporter helper's chain: sends a payload, or rejects with a `ConsumerError`. */
export type Sender<S extends Signal = Signal> = (payload: Payload<S>) => Promise<void>;

/**
 * An exporter's own send: one attempt to deliver a payload. It must give up when `signal` aborts
 * (deadline or shutdown) and reject with a `ConsumerError` classified as the OTLP specification
 * says (see `classify.ts`).
 */
export type PushFunc<S extends Signal = Signal> = (
  payload: Payload<S>,
  signal: AbortSignal,
) => Promise<void>;

/** Options of {@linkcode timeoutSender}. */
export interface TimeoutSenderOptions {
  /** The deadline of one attempt in milliseconds; 0 means none. */
  timeoutMs: number;
  /** Aborts attempts in flight from outside (shutdown of a persistent queue). */
  stopSignal?: AbortSignal;
  /** The clock of the deadline. @default SYSTEM_CLOCK */
  clock?: Clock;
}

/** Wraps `push` so that each call has `timeoutMs` to settle. */
export function timeoutSender<S extends Signal>(
  push: PushFunc<S>,
  options: TimeoutSenderOptions,
): Sender<S> {
  const { timeoutMs, stopSignal } = options;
  const clock = options.clock ?? SYSTEM_CLOCK;
  if (timeoutMs <= 0) {
    const never = new AbortController().signal;
    return (payload) => push(payload, stopSignal ?? never);
  }
  return (payload) => {
    const controller = new AbortController();
    const signal = stopSignal === undefined
      ? controller.signal
      : AbortSignal.any([controller.signal, stopSignal]);
    const { promise: expired, reject } = Promise.withResolvers<never>();
    const timer = clock.setTimer(() => {
      const message = `Export timed out after ${formatDuration(timeoutMs)}`;
      controller.abort(new DOMException(message, "TimeoutError"));
      reject(retryableError(message));
    }, timeoutMs);
    let attempt: Promise<void>;
    try {
      attempt = push(payload, signal);
    } catch (error) {
      attempt = Promise.reject(error);
    }
    if (payload.leased) {
      payload.retain();
      attempt.then(() => payload.release(), () => payload.release());
    }
    return Promise.race([attempt, expired]).finally(() => clock.clearTimer(timer));
  };
}
