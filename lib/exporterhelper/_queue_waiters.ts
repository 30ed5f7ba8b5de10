/**
 * A list of parked callers, woken one at a time or all at once: queue consumers waiting for an
 * entry, producers waiting for room. A woken caller re-checks its condition.
 *
 * @module
 */

/** Parked callers waiting for a condition to change. */
export class Waiters {
  #parked: Array<() => void> = [];

  /** Parks until woken. */
  wait(): Promise<void> {
    return new Promise((resolve) => this.#parked.push(resolve));
  }

  /** Wakes the longest-waiting caller, if any. */
  wakeOne(): void {
    this.#parked.shift()?.();
  }

  /** Wakes everyone. */
  wakeAll(): void {
    const parked = this.#parked;
    this.#parked = [];
    for (const resolve of parked) resolve();
  }

  /** How many callers are parked. */
  get size(): number {
    return this.#parked.length;
  }
}
