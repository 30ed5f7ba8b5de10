/**
 * {@linkcode warmUpPersistentQueue}: runs the persistent queue's offer path once per signal at
 * start, on a throwaway queue — an in-memory Deno KV database and, when the real queue journals
 * (`fsync: false`), a journal in a temporary directory — so that the first request a fresh tfo
 * answers does not pay for V8 compiling that path. Nothing touches the real store.
 *
 * Through a queue sender with batching behind the queue (as a `batch` processor in front of the
 * exporter makes it): two sends (one still encoded, as the otlp receiver hands requests on; one
 * decoded, as a processor that changed data does), their batch taken, sent to nowhere and
 * acknowledged, a fold into Deno KV, then shutdown; the temporary directory is removed.
 *
 * Why: with timestamps inside tfo, a fresh tfo's first offer took 9–16 ms from the call to its
 * resolution (journal append included) on a loaded 2-core machine, and the same offer of the next
 * request 0.3–1 ms; see bench/RESULTS.md, "Request latency with the seed batch settings".
 *
 * Compiled code is per isolate, so each signal is warmed once per isolate (a worker warms its
 * own): the promise of it is kept in this module, which is state of the process's code, not of a
 * component.
 *
 * @module
 */
import { OTLP_SIGNALS, type OtlpSignal } from "../otlp/signals.ts";
import { type ClientInfo, Payload } from "../pdata/payload.ts";
import { WARM_UP_SAMPLE_ITEMS, warmUpSample } from "../pdata/sample.ts";
import type { Signal } from "../pdata/types.ts";
import { createStorageClient } from "../storage/client.ts";
import { NOOP_LOGGER } from "../telemetry/logger.ts";
import { MetricRegistry } from "../telemetry/metrics.ts";
import { createPersistentQueue } from "./persistent_queue.ts";
import { startQueueSender } from "./queue_sender.ts";

const warmed = new Map<string, Promise<boolean>>();

/** How long the warm-up waits for its items to come out of the queue. */
const SEND_WAIT_MS = 2000;

/** A client as the otlp receiver makes one for an unauthenticated request. */
const CLIENT: ClientInfo = { metadata: new Map(), auth: new Map(), address: "127.0.0.1:4317" };

async function warm(signal: Signal, journal: boolean): Promise<boolean> {
  let kv: Deno.Kv | undefined;
  let directory: string | undefined;
  try {
    kv = await Deno.openKv(":memory:");
    directory = journal ? await Deno.makeTempDir({ prefix: "tfo-queue-warm-up-" }) : undefined;
    const client = createStorageClient(
      kv,
      ["warm_up", signal],
      undefined,
      undefined,
      directory === undefined ? undefined : { directory, name: "warm_up" },
    );
    const queue = await createPersistentQueue(client, signal, { capacity: 4, foldDelayMs: 0 });
    let sentItems = 0;
    const allSent = Promise.withResolvers<void>();
    const sender = startQueueSender(
      queue,
      (payload) => {
        sentItems += payload.itemCount;
        if (sentItems >= 2 * WARM_UP_SAMPLE_ITEMS[signal]) allSent.resolve();
        return Promise.resolve();
      },
      signal,
      {
        numConsumers: 1,
        persistent: true,
        meter: new MetricRegistry().meter(),
        logger: NOOP_LOGGER,
        batch: { flushTimeoutMs: 1, minSize: 1, maxSize: 0, sizer: "items", metadataKeys: [] },
      },
    );
    const timer = setTimeout(() => allSent.resolve(), SEND_WAIT_MS);
    try {
      const codec = OTLP_SIGNALS[signal] as unknown as OtlpSignal<Signal>;
      const data = warmUpSample(signal);
      await sender.send(Payload.fromProto(signal, codec.encodeProto(data), codec.proto, CLIENT));
      await sender.send(Payload.of(signal, warmUpSample(signal), CLIENT));
      await allSent.promise;
      return sentItems === 2 * WARM_UP_SAMPLE_ITEMS[signal];
    } finally {
      clearTimeout(timer);
      await sender.shutdown(); // closes the queue
      await client.close();
    }
  } catch {
    // Only a warm-up: the first real offer compiles what this did not.
    return false;
  } finally {
    kv?.close();
    if (directory !== undefined) await Deno.remove(directory, { recursive: true }).catch(() => {});
  }
}

/**
 * Warms the persistent queue's paths for `signal` (with the journal when `journal`), once per
 * isolate; later calls share the first one's promise. Resolves with whether the warm-up items
 * went all the way through; never rejects.
 */
export function warmUpPersistentQueue(signal: Signal, journal: boolean): Promise<boolean> {
  const key = `${signal}:${journal}`;
  let done = warmed.get(key);
  if (done === undefined) {
    done = warm(signal, journal);
    warmed.set(key, done);
  }
  return done;
}
