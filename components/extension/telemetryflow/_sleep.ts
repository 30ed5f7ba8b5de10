/**
 * A cancellable, wakeable wait for background loops: `sleep` resolves when its time is up, when
 * `wake` is called, or when the loop is stopped — and never leaves a timer behind. Its timers come
 * from a {@linkcode Clock}, so tests run the loops on fake time.
 *
 * @module
 */
import { type Clock, SYSTEM_CLOCK } from "../../../lib/clock.ts";

/** Waits that a stop ends at once. */
export class Sleeper {
  readonly #clock: Clock;
  #stopped = false;
  #pending: { timer: unknown; resolve: () => void } | undefined;

  /** @param clock where the timers come from @default SYSTEM_CLOCK */
  constructor(clock: Clock = SYSTEM_CLOCK) {
    this.#clock = clock;
  }

  /** True once {@linkcode Sleeper.stop} was called. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Waits `ms` milliseconds, or less when woken or stopped. */
  sleep(ms: number): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    this.#pending?.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.#clock.clearTimer(timer);
        if (this.#pending?.timer === timer) this.#pending = undefined;
        resolve();
      };
      const timer = this.#clock.setTimer(done, ms);
      this.#pending = { timer, resolve: done };
    });
  }

  /** Ends the current wait early. */
  wake(): void {
    this.#pending?.resolve();
  }

  /** Ends the current wait and makes later ones return at once. */
  stop(): void {
    this.#stopped = true;
    this.#pending?.resolve();
  }
}
