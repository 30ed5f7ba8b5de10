/**
 * The consumer contract between components. Awaiting {@linkcode Consumer.consume} is both the
 * backpressure and the acknowledgement: it resolves once every downstream branch accepted the data.
 *
 * @module
 */
import type { Needs } from "../pdata/fields.ts";
import type { Payload } from "../pdata/payload.ts";
import type { Signal } from "../pdata/types.ts";

/** Something that takes data of one signal. */
export interface Consumer<S extends Signal = Signal> {
  /** True when the consumer changes data in place; fan-out then gives it a copy of its own. */
  readonly mutatesData: boolean;
  /** Takes the data; resolves when it was accepted, rejects with a {@linkcode ConsumerError}. */
  consume(payload: Payload<S>): Promise<void>;
  /**
   * What of each item (see `lib/pdata/fields.ts`) this consumer and the consumers behind it
   * decode, when it knows: a receiver that decodes ahead decodes only that (a hint; whoever asks
   * for more gets it decoded). Unset: not known, decode everything.
   */
  readonly needs?: Needs | undefined;
}

/** A consumer per signal, for components that handle several. */
export type SignalConsumers = { [S in Signal]?: Consumer<S> };

/** Options of a {@linkcode ConsumerError}. */
export interface ConsumerErrorOptions {
  /** The underlying error. */
  cause?: unknown;
  /** When the sender may try again, in milliseconds, if the refusing side said so. */
  retryAfterMs?: number;
}

/**
 * Why data was not accepted. A permanent error means the data itself is bad: the sender drops and
 * counts it. Otherwise the refusal is retryable (overload, outage).
 */
export class ConsumerError extends Error {
  /** True when retrying the same data can never succeed. */
  readonly permanent: boolean;
  /** Suggested delay before a retry, in milliseconds. */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, permanent: boolean, options: ConsumerErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = permanent ? "PermanentError" : "RetryableError";
    this.permanent = permanent;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** An error for data that can never be accepted. */
export function permanentError(message: string, options: ConsumerErrorOptions = {}): ConsumerError {
  return new ConsumerError(message, true, options);
}

/** An error for a refusal that may succeed later. */
export function retryableError(message: string, options: ConsumerErrorOptions = {}): ConsumerError {
  return new ConsumerError(message, false, options);
}

/** True when an error says the data can never be accepted. Unknown errors are retryable. */
export function isPermanent(error: unknown): boolean {
  return error instanceof ConsumerError && error.permanent;
}

/** The message of any thrown value. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
