/**
 * Splits the mutations of one persistent-queue operation into atomic commits that respect Deno KV's
 * limits ({@linkcode KV_MAX_COMMIT_BYTES}, {@linkcode KV_MAX_COMMIT_KEY_BYTES},
 * {@linkcode KV_MAX_MUTATIONS}), with a margin; and {@linkcode GroupCommitter}, which joins the
 * one-commit operations of concurrent callers into shared commits.
 *
 * @module
 */
import {
  keySize,
  KV_MAX_COMMIT_BYTES,
  KV_MAX_COMMIT_KEY_BYTES,
  KV_MAX_MUTATIONS,
} from "../storage/limits.ts";

/** One set (with a value) or delete (without), keyed relative to the client's prefix. */
export interface Mutation {
  readonly key: Deno.KvKey;
  /** Present for a set. */
  readonly value?: unknown;
  /** An upper bound of the value's stored bytes (0 for a delete). */
  readonly valueBytes: number;
}

/** Room kept free in every commit for what the estimates may miss. */
const MARGIN_BYTES = 4096;
const MARGIN_KEY_BYTES = 2048;
const MARGIN_MUTATIONS = 8;

/** A running total of one commit's size against the limits. */
export class CommitBudget {
  #bytes = 0;
  #keyBytes = 0;
  #mutations = 0;
  readonly #prefixBytes: number;

  /** @param prefixBytes the size of the client's key prefix, counted in every key */
  constructor(prefixBytes: number) {
    this.#prefixBytes = prefixBytes;
  }

  /** Whether `mutations` fit besides what was added. */
  fits(mutations: readonly Mutation[]): boolean {
    let bytes = this.#bytes;
    let keyBytes = this.#keyBytes;
    for (const m of mutations) {
      const k = this.#prefixBytes + keySize(m.key);
      keyBytes += k;
      bytes += k + m.valueBytes;
    }
    return this.#mutations + mutations.length <= KV_MAX_MUTATIONS - MARGIN_MUTATIONS &&
      keyBytes <= KV_MAX_COMMIT_KEY_BYTES - MARGIN_KEY_BYTES &&
      bytes <= KV_MAX_COMMIT_BYTES - MARGIN_BYTES;
  }

  /** Counts `mutations` in. */
  add(mutations: readonly Mutation[]): void {
    for (const m of mutations) {
      const k = this.#prefixBytes + keySize(m.key);
      this.#keyBytes += k;
      this.#bytes += k + m.valueBytes;
    }
    this.#mutations += mutations.length;
  }
}

/** How to open and close an operation that needs several commits. */
export interface CommitEnds {
  /** Added to `body` when everything fits in one commit. */
  readonly single: readonly Mutation[];
  /** Leads the first of several commits. */
  readonly first: readonly Mutation[];
  /** Ends the last of several commits (or is a commit of its own when it does not fit). */
  readonly last: readonly Mutation[];
}

/**
 * The commits, in order, that carry `body`: one commit of `single` and `body` when they fit,
 * otherwise `first`, then `body` split greedily, then `last`. Each commit fits the KV limits as long
 * as each mutation alone does.
 * @param prefix the client's key prefix, counted in every key's size
 */
export function planCommits(
  prefix: Deno.KvKey,
  body: readonly Mutation[],
  ends: CommitEnds,
): Mutation[][] {
  const prefixBytes = keySize(prefix);
  const whole = new CommitBudget(prefixBytes);
  if (whole.fits([...ends.single, ...body])) return [[...ends.single, ...body]];
  const commits: Mutation[][] = [];
  let current: Mutation[] = [...ends.first];
  let budget = new CommitBudget(prefixBytes);
  budget.add(current);
  for (const m of body) {
    if (!budget.fits([m]) && current.length > 0) {
      commits.push(current);
      current = [];
      budget = new CommitBudget(prefixBytes);
    }
    current.push(m);
    budget.add([m]);
  }
  if (budget.fits(ends.last)) {
    current.push(...ends.last);
    commits.push(current);
  } else {
    commits.push(current, [...ends.last]);
  }
  return commits;
}

/**
 * Commits the one-commit operations of concurrent callers together (group commit): while one
 * commit is running, the operations submitted meanwhile wait and then go as one atomic commit, as
 * many as fit the KV limits, in submission order. Each operation stays all-or-nothing (it is wholly
 * inside one atomic commit), and a caller's promise settles only when its commit did, so
 * "resolved" still means "committed". A failed commit rejects every operation in it.
 */
export class GroupCommitter {
  readonly #prefixBytes: number;
  readonly #commit: (mutations: readonly Mutation[]) => Promise<void>;
  #pending: Array<{ mutations: readonly Mutation[]; done: PromiseWithResolvers<void> }> = [];
  #running = false;

  /**
   * @param prefix the client's key prefix, counted in every key's size
   * @param commit commits mutations atomically
   */
  constructor(prefix: Deno.KvKey, commit: (mutations: readonly Mutation[]) => Promise<void>) {
    this.#prefixBytes = keySize(prefix);
    this.#commit = commit;
  }

  /** Whether `mutations` fit one commit on their own (only those may be submitted). */
  fits(mutations: readonly Mutation[]): boolean {
    return new CommitBudget(this.#prefixBytes).fits(mutations);
  }

  /** An empty budget of one commit, to fill incrementally. */
  budget(): CommitBudget {
    return new CommitBudget(this.#prefixBytes);
  }

  /** Commits `mutations` (which fit one commit), possibly with others'; resolves once committed. */
  submit(mutations: readonly Mutation[]): Promise<void> {
    const done = Promise.withResolvers<void>();
    this.#pending.push({ mutations, done });
    if (!this.#running) void this.#run();
    return done.promise;
  }

  async #run(): Promise<void> {
    this.#running = true;
    try {
      while (this.#pending.length > 0) {
        const budget = new CommitBudget(this.#prefixBytes);
        let n = 0;
        for (const { mutations } of this.#pending) {
          if (n > 0 && !budget.fits(mutations)) break;
          budget.add(mutations);
          n++;
        }
        const group = this.#pending.splice(0, n);
        try {
          await this.#commit(group.flatMap((op) => op.mutations));
          for (const op of group) op.done.resolve();
        } catch (error) {
          for (const op of group) op.done.reject(error);
        }
      }
    } finally {
      this.#running = false;
    }
  }
}
