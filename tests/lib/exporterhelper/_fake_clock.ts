/**
 * A fake {@linkcode Clock} for the exporter helper tests: time moves only when a test advances
 * it, timers fire in order, and promise chains settle between timers.
 */
import type { Clock } from "../../../lib/exporterhelper/_clock.ts";

interface Timer {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
}

/** Lets pending promise chains run (one real macrotask). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Time that moves only on {@linkcode FakeClock.advance}. */
export class FakeClock implements Clock {
  #now = 1_000_000;
  #nextId = 1;
  #timers: Timer[] = [];
  /** Every timer duration asked for, in order. */
  readonly requested: number[] = [];

  now(): number {
    return this.#now;
  }

  setTimer(fn: () => void, ms: number): unknown {
    const timer = { id: this.#nextId++, at: this.#now + Math.max(0, ms), fn };
    this.requested.push(ms);
    this.#timers.push(timer);
    return timer.id;
  }

  clearTimer(handle: unknown): void {
    this.#timers = this.#timers.filter((t) => t.id !== handle);
  }

  /** Timers not fired yet. */
  get pending(): number {
    return this.#timers.length;
  }

  /** Moves time forward by `ms`, firing due timers in order and settling promises between them. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    await settle();
    for (;;) {
      const due = this.#timers
        .filter((t) => t.at <= target)
        .sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (due === undefined) break;
      this.#timers = this.#timers.filter((t) => t !== due);
      this.#now = due.at;
      due.fn();
      await settle();
    }
    this.#now = target;
    await settle();
  }

  /** Advances to the next timer and fires it; false when none is pending. */
  async next(): Promise<boolean> {
    await settle();
    const due = [...this.#timers].sort((a, b) => a.at - b.at || a.id - b.id)[0];
    if (due === undefined) return false;
    await this.advance(due.at - this.#now);
    return true;
  }
}
