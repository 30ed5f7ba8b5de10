/**
 * Fan-out: one consumer that hands data to several. Read-only consumers share the original; every
 * consumer that mutates gets its own copy, except that when nobody only reads, the last mutating
 * consumer takes the original. Nothing is copied when no consumer mutates.
 *
 * Leases (`Payload.retain`): the original stays the caller's, held until this call settles; a
 * copy for an extra branch shares the encoded bytes with a reference of its own, released once
 * its branch's call settled (a branch that keeps it longer retained it).
 *
 * @module
 */
import { type Consumer, ConsumerError, isPermanent } from "../lib/consumer/consumer.ts";
import type { Payload } from "../lib/pdata/payload.ts";
import type { Signal } from "../lib/pdata/types.ts";
import { NOTHING, unionNeeds } from "../lib/pdata/fields.ts";

/**
 * Combines the refusals of several branches: permanent only when every refusal is permanent, so a
 * sender retries while any branch could still take the data.
 */
export function combineErrors(errors: readonly unknown[]): unknown {
  if (errors.length === 1) return errors[0];
  const permanent = errors.every(isPermanent);
  const retryAfterMs = Math.max(
    0,
    ...errors.map((e) => (e instanceof ConsumerError ? e.retryAfterMs ?? 0 : 0)),
  );
  const message = errors.map((e) => (e instanceof Error ? e.message : String(e))).join("; ");
  return new ConsumerError(message, permanent, {
    cause: new AggregateError(errors),
    ...(retryAfterMs > 0 ? { retryAfterMs } : {}),
  });
}

/** A consumer that passes data to all of `consumers`, resolving when all accepted it. */
export function fanout<S extends Signal>(consumers: readonly Consumer<S>[]): Consumer<S> {
  if (consumers.length === 1) return consumers[0]!;
  const readers = consumers.filter((c) => !c.mutatesData);
  const mutators = consumers.filter((c) => c.mutatesData);
  const lastTakesOriginal = readers.length === 0;

  async function consume(payload: Payload<S>): Promise<void> {
    const pending: Promise<void>[] = [];
    for (const r of readers) pending.push(r.consume(payload));
    for (let i = 0; i < mutators.length; i++) {
      if (lastTakesOriginal && i === mutators.length - 1) {
        pending.push(mutators[i]!.consume(payload));
        continue;
      }
      const own = payload.clone();
      let done: Promise<void>;
      try {
        done = mutators[i]!.consume(own);
      } catch (error) {
        done = Promise.reject(error);
      }
      pending.push(done.finally(() => own.release()));
    }
    const results = await Promise.allSettled(pending);
    const errors: unknown[] = [];
    for (const r of results) if (r.status === "rejected") errors.push(r.reason);
    if (errors.length > 0) throw combineErrors(errors);
  }

  // The original reaches a mutating consumer only when nobody reads it.
  // Each branch decodes what it declared; a branch that declares nothing may decode anything.
  const needs = consumers.some((c) => c.needs === undefined)
    ? undefined
    : consumers.reduce((n, c) => unionNeeds(n, c.needs!), NOTHING);
  return { mutatesData: mutators.length > 0 && lastTakesOriginal, needs, consume };
}
