/**
 * {@linkcode InFlightBytes}: a count of request bytes that receivers hold, shared by every
 * receiver that takes it, with a bound. A receiver charges a request's bytes as it reads them and
 * releases them once the pipeline answered the request; a charge that would take the count over
 * the bound is refused, and the receiver answers retryable (503 with Retry-After, gRPC
 * `UNAVAILABLE` with `RetryInfo`) instead of buffering. So however many clients send at once, and
 * however slow the pipeline behind is, the request bodies a process holds stay within the bound.
 *
 * A holder that holds nothing else may always go over the bound (one request larger than the
 * bound is let through when nothing else is held, as a sending queue lets one large item into an
 * empty queue), so the count never exceeds the bound by more than one request's bytes.
 *
 * {@linkcode processInFlightBytes} is the one instance of the process (of each worker): the otlp
 * receivers over HTTP and gRPC share it, so the bound holds for their sum.
 *
 * @module
 */

/** The default bound of {@linkcode processInFlightBytes}, in bytes. */
export const DEFAULT_IN_FLIGHT_BYTES = 64 * 1024 * 1024;

/** How long a client refused for the in-flight bound is asked to wait, in milliseconds. */
export const IN_FLIGHT_RETRY_MS = 1000;

/** A bounded count of bytes in flight. */
export class InFlightBytes {
  /** The bound, in bytes. */
  readonly limit: number;
  #held = 0;
  #peak = 0;
  #refused = 0;

  /** Creates a count bounded by `limit` bytes (at least 1). */
  constructor(limit: number = DEFAULT_IN_FLIGHT_BYTES) {
    if (!(limit >= 1)) throw new RangeError("In-flight byte limit must be at least 1");
    this.limit = limit;
  }

  /** The bytes held now. */
  get held(): number {
    return this.#held;
  }

  /** The most bytes held at once since creation. */
  get peak(): number {
    return this.#peak;
  }

  /** How many charges were refused since creation. */
  get refused(): number {
    return this.#refused;
  }

  /**
   * Charges `n` more bytes to a holder that holds `mine` bytes already; false (and nothing
   * charged) when that would take the count over the bound while others hold bytes too.
   */
  tryAcquire(n: number, mine = 0): boolean {
    if (n <= 0) return true;
    if (this.#held - mine > 0 && this.#held + n > this.limit) {
      this.#refused++;
      return false;
    }
    this.#held += n;
    if (this.#held > this.#peak) this.#peak = this.#held;
    return true;
  }

  /** Gives back `n` bytes charged before. */
  release(n: number): void {
    if (n <= 0) return;
    this.#held = Math.max(0, this.#held - n);
  }
}

/** One holder's share of an {@linkcode InFlightBytes}, released at once. */
export interface InFlightHold {
  /** The bytes this holder holds. */
  readonly bytes: number;
  /** Charges `n` more bytes; false (nothing charged) when they do not fit. */
  charge(n: number): boolean;
  /** Gives back everything this holder holds; safe to call twice. */
  release(): void;
}

/** A new holder on `count`, holding nothing yet. */
export function holdOn(count: InFlightBytes): InFlightHold {
  let bytes = 0;
  return {
    get bytes() {
      return bytes;
    },
    charge(n) {
      if (!count.tryAcquire(n, bytes)) return false;
      if (n > 0) bytes += n;
      return true;
    },
    release() {
      count.release(bytes);
      bytes = 0;
    },
  };
}

let shared: InFlightBytes | undefined;

/** The process's (the worker's) count, shared by every receiver that uses the default. */
export function processInFlightBytes(): InFlightBytes {
  return shared ??= new InFlightBytes();
}
