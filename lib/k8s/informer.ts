/**
 * A watch-based cache of one kind of Kubernetes object, as client-go's informers keep one: list,
 * then watch from the list's resourceVersion; bookmarks move the resourceVersion on; a watch the
 * server ends is resumed from the last resourceVersion; `410 Gone` (an expired resourceVersion,
 * as HTTP status or as an ERROR event) relists and replaces the cache, so it never drifts. The
 * cache holds exactly the objects that exist (deleted ones leave it): it is bounded by the
 * cluster, not by time. Errors (a refused RBAC permission among them) are reported through
 * `onError` and retried with backoff.
 *
 * @module
 */
import { ExponentialBackoff } from "../backoff.ts";
import { sleep, SYSTEM_CLOCK } from "../clock.ts";
import { K8sApiError, type K8sClient, type WatchEvent } from "./client.ts";

/** The metadata every object has. */
export interface ObjectMeta {
  readonly uid: string;
  readonly name: string;
  readonly namespace?: string;
  readonly resourceVersion?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
  readonly creationTimestamp?: string;
  readonly ownerReferences?: { kind: string; name: string; uid: string }[];
}

/** An object with metadata. */
export interface K8sObject {
  readonly metadata: ObjectMeta;
}

/** Options of {@linkcode startInformer}. */
export interface InformerOptions<T extends K8sObject> {
  readonly client: K8sClient;
  /** The collection, e.g. `/api/v1/pods`. */
  readonly path: string;
  /** `fieldSelector`, `labelSelector`. */
  readonly params?: Record<string, string>;
  /** Called after each change with the object (the old one for deletes). */
  readonly onChange?: (type: "upsert" | "delete", object: T, previous: T | undefined) => void;
  /** Called when a list or watch fails (then retried). */
  readonly onError?: (error: unknown) => void;
  /** Called after each successful (re)list. */
  readonly onSynced?: () => void;
}

/** A running informer. */
export interface Informer<T extends K8sObject> {
  /** The cached objects by UID. */
  readonly objects: ReadonlyMap<string, T>;
  /** Resolves after the first successful list. */
  readonly synced: Promise<void>;
  /** Lists done so far (1 after the first; more after 410 Gone). */
  readonly lists: () => number;
  stop(): Promise<void>;
}

function isGone(error: unknown): boolean {
  return error instanceof K8sApiError && error.status === 410;
}

class Gone extends Error {}

/** Starts listing and watching. */
export function startInformer<T extends K8sObject>(options: InformerOptions<T>): Informer<T> {
  const objects = new Map<string, T>();
  const abort = new AbortController();
  const params = options.params ?? {};
  let lists = 0;
  let resolveSynced!: () => void;
  const synced = new Promise<void>((resolve) => resolveSynced = resolve);
  const backoff = new ExponentialBackoff({
    initial_interval: 500,
    max_interval: 30_000,
    multiplier: 2,
    randomization_factor: 0.2,
  }, { capAtMax: true });

  function upsert(object: T): void {
    const previous = objects.get(object.metadata.uid);
    objects.set(object.metadata.uid, object);
    options.onChange?.("upsert", object, previous);
  }

  function remove(object: T): void {
    const previous = objects.get(object.metadata.uid) ?? object;
    objects.delete(object.metadata.uid);
    options.onChange?.("delete", previous, previous);
  }

  async function relist(): Promise<string> {
    const { items, resourceVersion } = await options.client.list<T>(
      options.path,
      params,
      abort.signal,
    );
    const seen = new Set<string>();
    for (const item of items) {
      seen.add(item.metadata.uid);
      upsert(item);
    }
    for (const [uid, object] of [...objects]) if (!seen.has(uid)) remove(object);
    lists++;
    resolveSynced();
    options.onSynced?.();
    return resourceVersion;
  }

  async function run(): Promise<void> {
    let resourceVersion: string | undefined;
    while (!abort.signal.aborted) {
      try {
        resourceVersion ??= await relist();
        backoff.reset();
        await options.client.watch<T>(
          options.path,
          params,
          resourceVersion,
          (event: WatchEvent<T>) => {
            switch (event.type) {
              case "ADDED":
              case "MODIFIED":
                upsert(event.object);
                break;
              case "DELETED":
                remove(event.object);
                break;
              case "ERROR": {
                const status = event.object as unknown as { code?: number; message?: string };
                if (status.code === 410) throw new Gone(status.message ?? "410 Gone");
                throw new K8sApiError(status.code ?? 500, status.message ?? "watch error");
              }
              case "BOOKMARK":
                break;
            }
            const rv = event.object.metadata?.resourceVersion;
            if (rv !== undefined && rv !== "") resourceVersion = rv;
          },
          abort.signal,
        );
        // The server ended the watch (its timeout): resume from where it was.
      } catch (error) {
        if (abort.signal.aborted) break;
        if (error instanceof Gone || isGone(error)) {
          resourceVersion = undefined; // expired: list again
          continue;
        }
        options.onError?.(error);
        resourceVersion = undefined;
        await sleep(SYSTEM_CLOCK, backoff.next(), abort.signal);
      }
    }
  }

  const loop = run();
  return {
    objects,
    synced,
    lists: () => lists,
    async stop() {
      abort.abort();
      await loop;
    },
  };
}
