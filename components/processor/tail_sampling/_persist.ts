/**
 * Pending traces in Deno KV (a `file_storage` extension's client), so that a restart or a
 * `kill -9` during `decision_wait` still decides them. Each arrival of a pending trace's spans is
 * committed before the sender is answered: its encoded `ResourceSpans` message, cut into parts under the 64 KiB value
 * limit, under `["s", <trace hex>, <arrival seq>, <part>]`, with the trace's first arrival time
 * under `["m", <trace hex>]`; a commit stays under Deno KV's 800 KiB and 1000 mutations. A decided
 * trace's keys are deleted once its spans were passed on. At start every stored trace is read back
 * and decided when its wait is over (at once if it already is).
 *
 * @module
 */

import type { StorageAtomic, StorageClient } from "../../../lib/storage/mod.ts";
import { KV_MAX_COMMIT_BYTES, KV_MAX_MUTATIONS } from "../../../lib/storage/mod.ts";
import type { Logger } from "../../../lib/telemetry/logger.ts";
import { hexKey, keyHex, keyToId, type LightSpans, regroup, type TraceGroup } from "./_encoded.ts";
import { Decision } from "./_policies.ts";
import type { TraceEntry } from "./_sampler.ts";

const PART_BYTES = 60_000;
const COMMIT_BYTES = KV_MAX_COMMIT_BYTES - 100_000;
const COMMIT_MUTATIONS = KV_MAX_MUTATIONS - 10;

/** Where pending spans are kept. */
export interface PendingStore {
  /** Commits the newly held spans. */
  append(items: { entry: TraceEntry; group: TraceGroup; isNew: boolean }[]): Promise<void>;
  /** Deletes decided traces. */
  remove(entries: TraceEntry[]): Promise<void>;
}

/** Batches mutations into commits within Deno KV's limits. */
class Committer {
  readonly #client: StorageClient;
  #atomic: StorageAtomic | undefined;
  #bytes = 0;
  #mutations = 0;
  readonly #commits: Promise<void>[] = [];

  constructor(client: StorageClient) {
    this.#client = client;
  }

  #room(bytes: number): StorageAtomic {
    if (
      this.#atomic === undefined || this.#bytes + bytes > COMMIT_BYTES ||
      this.#mutations + 1 > COMMIT_MUTATIONS
    ) {
      this.flush();
      this.#atomic = this.#client.atomic();
    }
    this.#bytes += bytes + 100;
    this.#mutations++;
    return this.#atomic!;
  }

  set(key: Deno.KvKey, value: unknown, bytes: number): void {
    this.#room(bytes).set(key, value);
  }

  delete(key: Deno.KvKey): void {
    this.#room(0).delete(key);
  }

  flush(): void {
    if (this.#atomic !== undefined && this.#mutations > 0) {
      this.#commits.push(this.#atomic.commit());
    }
    this.#atomic = undefined;
    this.#bytes = 0;
    this.#mutations = 0;
  }

  async done(): Promise<void> {
    this.flush();
    await Promise.all(this.#commits);
  }
}

/**
 * A store over a storage client, with group commit: what is asked for while a commit runs is
 * committed together next (one transaction for many requests under load, never a timer). Within
 * a group a key deleted after it was set is just deleted, and operations keep their order, so a
 * trace decided while its last arrival is being committed has that arrival deleted too.
 */
export function kvPendingStore(client: StorageClient): PendingStore {
  type Mutation = { set: true; value: Uint8Array | number; bytes: number } | { set: false };
  let group = new Map<string, { key: Deno.KvKey; m: Mutation }>();
  let waiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  let running = false;
  const flush = async () => {
    running = true;
    while (group.size > 0) {
      const batch = group;
      const batchWaiters = waiters;
      group = new Map();
      waiters = [];
      const c = new Committer(client);
      for (const { key, m } of batch.values()) {
        if (m.set) c.set(key, m.value, m.bytes);
        else c.delete(key);
      }
      try {
        await c.done();
        for (const w of batchWaiters) w.resolve();
      } catch (error) {
        for (const w of batchWaiters) w.reject(error);
      }
    }
    running = false;
  };
  const submit = (): Promise<void> => {
    const done = new Promise<void>((resolve, reject) => waiters.push({ resolve, reject }));
    if (!running) void flush();
    return done;
  };
  const put = (key: Deno.KvKey, m: Mutation) => group.set(JSON.stringify(key), { key, m });
  return {
    append(items) {
      if (items.length === 0) return Promise.resolve();
      for (const { entry, group: g, isNew } of items) {
        const hex = keyHex(entry.key);
        const keys = entry.storedKeys ??= [];
        if (isNew) {
          const key = ["m", hex];
          put(key, { set: true, value: entry.arrival, bytes: 16 });
          keys.push(key);
        }
        const bytes = g.body;
        const seq = entry.stored++;
        const parts = Math.max(1, Math.ceil(bytes.length / PART_BYTES));
        for (let i = 0; i < parts; i++) {
          const part = bytes.subarray(i * PART_BYTES, (i + 1) * PART_BYTES);
          const key = ["s", hex, seq, i, parts];
          put(key, { set: true, value: part, bytes: part.length });
          keys.push(key);
        }
      }
      return submit();
    },
    remove(entries) {
      if (entries.length === 0) return Promise.resolve();
      for (const entry of entries) {
        for (const key of entry.storedKeys ?? []) put(key, { set: false });
        entry.storedKeys = [];
        entry.stored = 0;
      }
      return submit();
    },
  };
}

/** Reads every stored pending trace back as table entries (undecided, spans held). */
export async function loadPending(
  client: StorageClient,
  now: number,
  logger: Logger,
): Promise<TraceEntry[]> {
  const arrivals = new Map<string, number>();
  const keys = new Map<string, Deno.KvKey[]>();
  const keysOf = (hex: string) => {
    let k = keys.get(hex);
    if (k === undefined) keys.set(hex, k = []);
    return k;
  };
  for await (const e of client.list<number>(["m"])) {
    arrivals.set(String(e.key[1]), e.value);
    keysOf(String(e.key[1])).push(e.key);
  }
  const byTrace = new Map<string, Map<number, { parts: Uint8Array[]; count: number }>>();
  for await (const e of client.list<Uint8Array>(["s"])) {
    const [, hex, seq, , count] = e.key as [string, string, number, number, number];
    keysOf(hex).push(e.key);
    let seqs = byTrace.get(hex);
    if (seqs === undefined) byTrace.set(hex, seqs = new Map());
    let s = seqs.get(seq);
    if (s === undefined) seqs.set(seq, s = { parts: [], count });
    s.parts.push(e.value);
  }
  const out: TraceEntry[] = [];
  for (const [hex, seqs] of byTrace) {
    const bodies: Uint8Array[] = [];
    const light: LightSpans[] = [];
    let spans = 0;
    let stored = 0;
    for (const [seq, s] of [...seqs].sort((a, b) => a[0] - b[0])) {
      stored = Math.max(stored, seq + 1);
      if (s.parts.length !== s.count) {
        logger.warn("A stored arrival of a pending trace is incomplete and is skipped", {
          trace_id: hex,
        });
        continue;
      }
      const bytes = new Uint8Array(s.parts.reduce((n, p) => n + p.length, 0));
      let off = 0;
      for (const p of s.parts) {
        bytes.set(p, off);
        off += p.length;
      }
      try {
        for (const g of regroup(bytes)) {
          bodies.push(g.body);
          light.push(g.light);
          spans += g.spanCount;
        }
      } catch (error) {
        logger.warn("A stored arrival of a pending trace does not decode and is skipped", {
          trace_id: hex,
          error: (error as Error).message,
        });
      }
    }
    const key = hexKey(hex);
    out.push({
      key,
      id: keyToId(key),
      bodies,
      light,
      spanCount: spans,
      bytes: 0,
      protoBytes: 0,
      arrival: arrivals.get(hex) ?? now,
      decision: Decision.Unspecified,
      decisionTime: 0,
      policy: "",
      batch: 0,
      stored: Math.max(stored, 1),
      storedKeys: keysOf(hex),
    });
  }
  return out;
}
