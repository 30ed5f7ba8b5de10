/**
 * The links between workers: what the other workers send the primary and how it answers
 * (`WorkerMessage`, `PrimaryMessage`), the primary's link receivers ({@linkcode WorkerHub}) and
 * the other workers' link exporters ({@linkcode createOutbox}).
 *
 * A forwarded request crosses as the encoded `Export*ServiceRequest` it is (encoded once if a
 * component decoded it), copied once into an `ArrayBuffer` that is transferred, not cloned; the
 * primary answers each with an acknowledgement or the refusal (permanent or retryable, with its
 * retry delay), which the sender's `consume` resolves or rejects with.
 *
 * @module
 */
import { z } from "../lib/config/z.js";
import {
  asFactory,
  type ExporterFactory,
  type Factory,
  type ReceiverFactory,
} from "../components/component.ts";
import {
  type Consumer,
  ConsumerError,
  errorMessage,
  isPermanent,
  permanentError,
  retryableError,
  type SignalConsumers,
} from "../lib/consumer/consumer.ts";
import { OTLP_SIGNALS } from "../lib/otlp/signals.ts";
import { type ClientInfo, Payload } from "../lib/pdata/payload.ts";
import type { Signal } from "../lib/pdata/types.ts";
import type { MetricSnapshot } from "../lib/telemetry/metrics.ts";
import {
  INBOX_TYPE,
  type LinkConfig,
  OUTBOX_TYPE,
  SHARD_TYPE,
  type ShardConfig,
} from "./placement.ts";
import { splitByShardKey } from "../lib/placement/shard_split.ts";
import type { ConfigSources } from "./config_sources.ts";

/** A forwarded request, or one shard of a request. */
export interface PushMessage {
  readonly t: "push";
  readonly id: number;
  /** The worker whose link receiver takes it (0: the primary). */
  readonly target: number;
  readonly pipeline: string;
  readonly signal: Signal;
  readonly bytes: Uint8Array;
  /** Its items, when the sender knows (else counted when needed). */
  readonly items?: number;
  readonly client: {
    readonly metadata: ReadonlyMap<string, readonly string[]>;
    readonly auth: ReadonlyMap<string, string>;
    readonly address?: string;
  };
}

/** The answer to a {@linkcode PushMessage}. */
export interface AckMessage {
  readonly t: "ack";
  readonly id: number;
  /** Set when the primary refused the data. */
  readonly error?: {
    readonly message: string;
    readonly permanent: boolean;
    readonly retryAfterMs?: number;
  };
}

/** What the primary sends a worker. */
export type PrimaryMessage =
  | {
    readonly t: "init";
    readonly index: number;
    readonly count: number;
    readonly sources: ConfigSources;
    /**
     * The primary's resolution of `sources` (`resolved_transport.ts`), when it has one: the
     * worker decodes it instead of validating the sources again.
     */
    readonly resolved?: Uint8Array;
    /** tfo's version, for the components' build info. */
    readonly version: string;
    /** The process's memory board: this worker publishes its live memory in slot `index`. */
    readonly memory: SharedArrayBuffer;
    /** The process's token buckets (`lib/tenancy/shared_buckets.ts`): one `rate_limit` bound. */
    readonly buckets: SharedArrayBuffer;
    /** How many times this worker's slot was started before (0: its first life). */
    readonly life: number;
  }
  | AckMessage
  | PushMessage
  | {
    readonly t: "reload";
    readonly sources: ConfigSources;
    readonly resolved?: Uint8Array;
    readonly seq: number;
  }
  | { readonly t: "snapshot" }
  | { readonly t: "stop" };

/** What a worker sends the primary. */
export type WorkerMessage =
  | { readonly t: "ready" }
  | { readonly t: "failed"; readonly message: string }
  | PushMessage
  | AckMessage
  | { readonly t: "metrics"; readonly snapshot: MetricSnapshot }
  | {
    readonly t: "reloaded";
    readonly seq: number;
    readonly ok: boolean;
    readonly message?: string;
  }
  | { readonly t: "stopped"; readonly clean: boolean; readonly snapshot: MetricSnapshot }
  /** It failed (an uncaught error): its ports refuse retryably while it drains. */
  | { readonly t: "draining"; readonly message: string }
  /** It failed and has drained: the primary ends it and starts another. */
  | {
    readonly t: "drained";
    readonly message: string;
    readonly clean: boolean;
    readonly snapshot: MetricSnapshot;
  };

const linkSchema = z.strictObject({ pipeline: z.string() });
const shardSchema = z.strictObject({
  pipeline: z.string(),
  key: z.enum(["trace_id", "service"]),
});

/**
 * The primary's end: one link receiver per forwarded pipeline registers the pipeline's entry
 * here, and {@linkcode WorkerHub.deliver} feeds it what a worker sent.
 */
export class WorkerHub {
  readonly #entries = new Map<string, Consumer>();
  /** Makes the link receivers (one factory object for the service's life, so reloads keep them). */
  readonly inbox: ReceiverFactory<LinkConfig>;

  constructor() {
    const entries = this.#entries;
    this.inbox = {
      type: INBOX_TYPE,
      kind: "receiver",
      signals: { traces: "development", metrics: "development", logs: "development" },
      configSchema: linkSchema,
      placement: "single",
      create(settings, next: SignalConsumers) {
        const consumer = Object.values(next)[0] as Consumer | undefined;
        const pipeline = settings.config.pipeline;
        return {
          start() {
            if (consumer !== undefined) entries.set(pipeline, consumer);
            return Promise.resolve();
          },
          shutdown() {
            if (entries.get(pipeline) === consumer) entries.delete(pipeline);
            return Promise.resolve();
          },
        };
      },
    };
  }

  /** The inbox factory, widened for a `ComponentConfig`. */
  get inboxFactory(): Factory {
    return asFactory(this.inbox);
  }

  /** Feeds a forwarded request to its pipeline; resolves to the answer for the worker. */
  async deliver(message: PushMessage): Promise<AckMessage> {
    const entry = this.#entries.get(message.pipeline);
    if (entry === undefined) {
      return {
        t: "ack",
        id: message.id,
        error: {
          message: `Pipeline "${message.pipeline}" is not running in the primary worker`,
          permanent: false,
        },
      };
    }
    const signal = message.signal;
    const client: ClientInfo = message.client;
    const payload = Payload.fromProto(
      signal,
      message.bytes,
      OTLP_SIGNALS[signal].proto,
      client,
      message.items,
    );
    try {
      await entry.consume(payload as Payload<never>);
      return { t: "ack", id: message.id };
    } catch (error) {
      const retryAfterMs = error instanceof ConsumerError ? error.retryAfterMs : undefined;
      return {
        t: "ack",
        id: message.id,
        error: {
          message: errorMessage(error),
          permanent: isPermanent(error),
          ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
        },
      };
    }
  }
}

/** A worker's end of the links: the link exporter factory and the answers it waits for. */
export interface Outbox {
  readonly factory: ExporterFactory<LinkConfig>;
  /** Sends `bytes` (transferred: the caller gives them up) to worker `target`'s link receiver. */
  sendTo(
    target: number,
    pipeline: string,
    signal: Signal,
    bytes: Uint8Array,
    client: ClientInfo,
    items?: number,
  ): Promise<void>;
  /** Settles the `consume` an answer is for. */
  settle(ack: AckMessage): void;
  /** Rejects (retryably) every `consume` still waiting. */
  failAll(reason: string): void;
}

/** Makes a worker's link exporters, which `post` their requests to the primary. */
export function createOutbox(
  post: (message: PushMessage, transfer: Transferable[]) => void,
): Outbox {
  const waiting = new Map<number, PromiseWithResolvers<void>>();
  let next = 1;
  const sendTo = (
    target: number,
    pipeline: string,
    signal: Signal,
    bytes: Uint8Array,
    client: ClientInfo,
    items?: number,
  ) => {
    const id = next++;
    const pending = Promise.withResolvers<void>();
    waiting.set(id, pending);
    post(pushMessage(id, target, pipeline, signal, bytes, client, items), [
      bytes.buffer as ArrayBuffer,
    ]);
    return pending.promise;
  };
  const send = <S extends Signal>(pipeline: string, signal: S, payload: Payload<S>) => {
    const encoded = payload.toProto(OTLP_SIGNALS[signal].encodeProto);
    // One copy into a buffer of its own, transferred: the payload's bytes may be shared with
    // other branches or be a view into a larger request body.
    return sendTo(0, pipeline, signal, encoded.slice(), payload.client, payload.itemCount);
  };
  const factory: ExporterFactory<LinkConfig> = {
    type: OUTBOX_TYPE,
    kind: "exporter",
    signals: { traces: "development", metrics: "development", logs: "development" },
    configSchema: linkSchema,
    placement: "stateless",
    create(settings, signals) {
      const consumers: SignalConsumers = {};
      for (const signal of signals) {
        (consumers as Record<Signal, Consumer>)[signal] = {
          mutatesData: false,
          consume: (payload) => send(settings.config.pipeline, signal, payload),
        };
      }
      return {
        consumers,
        start: () => Promise.resolve(),
        shutdown: () => Promise.resolve(),
      };
    },
  };
  return {
    factory,
    sendTo,
    settle(ack) {
      const pending = waiting.get(ack.id);
      if (pending === undefined) return;
      waiting.delete(ack.id);
      const error = ackError(ack);
      if (error === undefined) pending.resolve();
      else pending.reject(error);
    },
    failAll(reason) {
      for (const pending of waiting.values()) pending.reject(retryableError(reason));
      waiting.clear();
    },
  };
}

/** A {@linkcode PushMessage}. */
export function pushMessage(
  id: number,
  target: number,
  pipeline: string,
  signal: Signal,
  bytes: Uint8Array,
  client: ClientInfo,
  items?: number,
): PushMessage {
  const { metadata, auth, address } = client;
  return {
    t: "push",
    id,
    target,
    pipeline,
    signal,
    bytes,
    ...(items === undefined ? {} : { items }),
    client: { metadata, auth, ...(address === undefined ? {} : { address }) },
  };
}

/** The refusal an answer carries, as the error the sender's `consume` rejects with. */
export function ackError(ack: AckMessage): ConsumerError | undefined {
  if (ack.error === undefined) return undefined;
  const { message, permanent, retryAfterMs } = ack.error;
  return new ConsumerError(message, permanent, retryAfterMs === undefined ? {} : { retryAfterMs });
}

/** What a shard router needs of the worker it runs in. */
export interface ShardRouterOptions {
  /** This worker's index (0: the primary). */
  readonly index: number;
  /** Workers in all. */
  readonly count: number;
  /** This worker's link receivers. */
  readonly hub: WorkerHub;
  /** Sends a shard (its bytes transferred) to another worker's link receiver. */
  send(
    target: number,
    pipeline: string,
    signal: Signal,
    bytes: Uint8Array,
    client: ClientInfo,
  ): Promise<void>;
}

/**
 * Makes shard routers: exporters that split each request of a sharded pipeline by the pipeline's
 * key (`lib/placement/shard_split.ts`, on the encoded bytes) and hand shard `j` to worker `j`'s
 * link receiver — their own shard straight to their own. A request is accepted once every shard
 * is; a refusal of any refuses it (retryable when any refusal is), and the sender retries it whole.
 */
export function createShardRouter(options: ShardRouterOptions): ExporterFactory<ShardConfig> {
  const { index, count, hub } = options;
  let next = 1;
  async function route<S extends Signal>(config: ShardConfig, signal: S, payload: Payload<S>) {
    const bytes = payload.toProto(OTLP_SIGNALS[signal].encodeProto);
    let parts: Uint8Array[];
    try {
      parts = splitByShardKey(config.key, signal, bytes, count);
    } catch (error) {
      throw permanentError(`Cannot shard the request: ${errorMessage(error)}`);
    }
    const sends: Promise<void>[] = [];
    for (let j = 0; j < parts.length; j++) {
      let part = parts[j]!;
      if (part.length === 0) continue;
      if (j === index) {
        // The local pipeline gets a payload of no pool: a part that is a view of pooled bytes is
        // copied, since a holder there would not keep the pooled buffer leased.
        if (payload.leased && part.buffer === bytes.buffer) part = part.slice();
        sends.push(
          hub.deliver(pushMessage(next++, j, config.pipeline, signal, part, payload.client))
            .then((ack) => {
              const error = ackError(ack);
              if (error !== undefined) throw error;
            }),
        );
        continue;
      }
      // A shard that is the input itself, or a view into a larger buffer, is copied once into a
      // buffer of its own to be transferred.
      const own = part === bytes || part.byteOffset !== 0 ||
          part.byteLength !== part.buffer.byteLength
        ? part.slice()
        : part;
      sends.push(options.send(j, config.pipeline, signal, own, payload.client));
    }
    const results = await Promise.allSettled(sends);
    const errors = results.flatMap((r) => r.status === "rejected" ? [r.reason] : []);
    if (errors.length > 0) throw errors.find((e) => !isPermanent(e)) ?? errors[0];
  }
  return {
    type: SHARD_TYPE,
    kind: "exporter",
    signals: { traces: "development", metrics: "development", logs: "development" },
    configSchema: shardSchema,
    placement: "stateless",
    create(settings, signals) {
      const consumers: SignalConsumers = {};
      for (const signal of signals) {
        (consumers as Record<Signal, Consumer>)[signal] = {
          mutatesData: false,
          consume: (payload) => route(settings.config, signal, payload),
        };
      }
      return { consumers, start: () => Promise.resolve(), shutdown: () => Promise.resolve() };
    },
  };
}
