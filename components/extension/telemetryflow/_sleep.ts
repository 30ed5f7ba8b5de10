/**
 * A cancellable, wakeable wait for background loops: `sleep` resolves when its time is up, when
 * `wake` is called, or when the loop is stopped — and never leaves a timer behind.
 *
 * @module
 */

/** Waits that a stop ends at once. */
export class Sleeper {
  #stopped = false;
  #pending: { timer: ReturnType<typeof setTimeout>; resolve: () => void } | undefined;

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
        clearTimeout(timer);
        if (this.#pending?.timer === timer) this.#pending = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
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
