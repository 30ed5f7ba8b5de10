/**
 * The swappable consumer between a receiver and the pipelines it feeds. A receiver is created
 * once with its consumers and keeps them, so a reload that keeps the receiver (and its port)
 * points the switch at the new pipelines instead: {@linkcode SwitchConsumer.swap} replaces the
 * target at once, between two calls, so each call goes wholly to the old or wholly to the new
 * pipelines. While {@linkcode SwitchConsumer.hold} is in force, calls wait (they are neither
 * refused nor dropped) and go to whatever the target is when the hold is released.
 *
 * @module
 */
import type { Consumer } from "../lib/consumer/consumer.ts";
import type { Needs } from "../lib/pdata/fields.ts";
import type { Payload } from "../lib/pdata/payload.ts";
import type { Signal } from "../lib/pdata/types.ts";

/** A consumer whose target can be replaced while data flows. */
export class SwitchConsumer<S extends Signal = Signal> implements Consumer<S> {
  #target: Consumer<S>;
  #held: PromiseWithResolvers<void> | undefined;

  /** @param target where calls go until the first swap */
  constructor(target: Consumer<S>) {
    this.#target = target;
  }

  /** Whether the current target changes data in place. */
  get mutatesData(): boolean {
    return this.#target.mutatesData;
  }

  /** What of each item the current target decodes, when it knows. */
  get needs(): Needs | undefined {
    return this.#target.needs;
  }

  /** Where calls go now. */
  get target(): Consumer<S> {
    return this.#target;
  }

  /** Whether calls are being held. */
  get held(): boolean {
    return this.#held !== undefined;
  }

  /** Sends calls from now on to `target`. */
  swap(target: Consumer<S>): void {
    this.#target = target;
  }

  /** Makes calls from now on wait until {@linkcode SwitchConsumer.release}. Idempotent. */
  hold(): void {
    this.#held ??= Promise.withResolvers<void>();
  }

  /** Lets held and later calls through, to the current target. */
  release(): void {
    const held = this.#held;
    this.#held = undefined;
    held?.resolve();
  }

  /** Passes `payload` to the current target, after any hold. */
  consume(payload: Payload<S>): Promise<void> {
    if (this.#held === undefined) return this.#target.consume(payload);
    return this.#consumeAfterHold(payload);
  }

  async #consumeAfterHold(payload: Payload<S>): Promise<void> {
    while (this.#held !== undefined) await this.#held.promise;
    return await this.#target.consume(payload);
  }
}
