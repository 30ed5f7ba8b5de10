/**
 * {@linkcode Payload}: one unit of telemetry moving through a pipeline. It holds the decoded model,
 * or the encoded OTLP protobuf it arrived as, or both, so a pass-through pipeline never decodes:
 * data stays encoded until a component asks for its structure.
 *
 * Read-only consumers call {@linkcode Payload.read}; consumers that declared `mutatesData` call
 * {@linkcode Payload.edit}, which drops the encoded form since it no longer matches.
 *
 * **Leases.** A payload made by {@linkcode Payload.fromPooled} holds its bytes in a buffer that a
 * `BufferPool` (`./buffer_pool.ts`) hands out again once the payload is released. The rule: whoever
 * gave a payload to a `consume` call may use it until that call settled, and so may the consumer;
 * whoever holds it past that (a batch, a queue, an attempt still running after its deadline) calls
 * {@linkcode Payload.retain} before the call settles and {@linkcode Payload.release} once it is
 * done with it; whoever made a payload (a receiver, a clone, a merge) releases it after handing it
 * on. Clones and merged batches take their own references on the buffers they share, so each
 * releases independently. Decoding a pooled payload decodes a copy of its bytes, so decoded data
 * (and payloads made from it) never points into a pooled buffer. A payload of no pool ignores
 * leases: `retain` and `release` cost nothing and check nothing.
 *
 * @module
 */
import { cloneData } from "./clone.ts";
import {
  ALL_FIELDS,
  type FieldSet,
  type ItemIndex,
  type KeyBytes,
  keyBytes,
  newItemIndex,
} from "./fields.ts";
import { countItems } from "./count.ts";
import type { BufferLease } from "./buffer_pool.ts";
import { appendData, emptyData } from "./split.ts";
import type { Signal, SignalData } from "./types.ts";

/** What is known of the client that sent a payload (OTLP receivers fill it in). */
export interface ClientInfo {
  /** Request headers or gRPC metadata, keys in lower case; present with `include_metadata`. */
  readonly metadata: ReadonlyMap<string, readonly string[]>;
  /** What an authenticator established (for example `tenant.id`, `workspace.id`). */
  readonly auth: ReadonlyMap<string, string>;
  /** The peer address, `host:port`, when known. */
  readonly address?: string;
}

/** The client info of data that came from no client (scrapers, tests, connectors). */
export const NO_CLIENT: ClientInfo = Object.freeze({
  metadata: new Map<string, readonly string[]>(),
  auth: new Map<string, string>(),
});

/** How a payload decodes its protobuf form and counts its items without decoding. */
export interface ProtoDecoder<S extends Signal> {
  /** Decodes an `Export*ServiceRequest` message. */
  decode(bytes: Uint8Array): SignalData[S];
  /** Counts items (spans, data points, log records) by scanning the message. */
  countItems(bytes: Uint8Array): number;
  /** Decoding only some fields of each item, when the signal's codec offers it. */
  partial?: PartialCodec<S>;
}

/**
 * Partial decoding (see `lib/otlp/_partial.ts`): items decoded with only some of their fields,
 * more fields decoded later, and an encoder that copies the bytes of fields the model does not own.
 */
export interface PartialCodec<S extends Signal> {
  /** The items' attributes field. */
  readonly attributes: FieldSet;
  /**
   * Decodes `bytes` with only the item fields of `want` (and, when `want` lacks the attributes,
   * the attributes with `keys`); records each item in `index`.
   */
  decode(bytes: Uint8Array, want: FieldSet, index: ItemIndex, keys?: KeyBytes): SignalData[S];
  /**
   * Decodes the item fields of `more` into every item of `index`; `keys` when the attributes
   * were decoded by those keys (the model's entries are merged in).
   */
  fill(source: Uint8Array, index: ItemIndex, more: FieldSet, keys?: KeyBytes): void;
  /**
   * Encodes `data`: indexed items' `owned` fields from the model, the rest from `source`; `keys`
   * when the attributes were decoded by those keys.
   */
  encode(
    data: SignalData[S],
    source: Uint8Array,
    index: ItemIndex,
    owned: FieldSet,
    keys?: KeyBytes,
  ): Uint8Array;
}

/** One unit of telemetry of one signal, decoded lazily. */
export class Payload<S extends Signal = Signal> {
  /** The signal of this payload. */
  readonly signal: S;
  /** Who sent it. */
  readonly client: ClientInfo;
  #data: SignalData[S] | undefined;
  /**
   * The encoded form as parts whose concatenation is one `Export*ServiceRequest` (a merged batch
   * keeps its parts apart until something needs them joined), or `undefined` when not encoded.
   */
  #parts: readonly Uint8Array[] | undefined;
  #decoder: ProtoDecoder<S> | undefined;
  #count: number | undefined;
  /** For partially decoded data: the bytes it was decoded from. */
  #source: Uint8Array | undefined;
  /** For partially decoded data: where each decoded item is in `#source`. */
  #index: ItemIndex | undefined;
  /** The item fields decoded so far (all of them unless partially decoded). */
  #decoded: FieldSet = ALL_FIELDS;
  /** The item fields an editor may have changed: encoded from the model, not copied. */
  #owned: FieldSet = 0;
  /** When the attributes were decoded by key only: those keys (else `undefined`). */
  #keys: readonly string[] | undefined;
  #keyBytes: KeyBytes | undefined;
  /** Whether an editor may have changed the attributes decoded by key. */
  #keyedOwned = false;
  /** The pooled buffers the encoded parts are in, one reference each; `undefined` when none. */
  #leases: readonly BufferLease[] | undefined;
  /** References to this payload (leased payloads only): 1 when made, +1 a retain, -1 a release. */
  #holds = 1;

  private constructor(
    signal: S,
    client: ClientInfo,
    data: SignalData[S] | undefined,
    parts: readonly Uint8Array[] | undefined,
    decoder: ProtoDecoder<S> | undefined,
  ) {
    this.signal = signal;
    this.client = client;
    this.#data = data;
    this.#parts = parts;
    this.#decoder = decoder;
  }

  /** A payload over decoded data. */
  static of<S extends Signal>(
    signal: S,
    data: SignalData[S],
    client: ClientInfo = NO_CLIENT,
  ): Payload<S> {
    return new Payload<S>(signal, client, data, undefined, undefined);
  }

  /**
   * A payload over an encoded `Export*ServiceRequest`. The bytes must not change afterwards: clones
   * share them. `itemCount`, when the caller knows it (it just encoded the data), saves counting.
   */
  static fromProto<S extends Signal>(
    signal: S,
    bytes: Uint8Array,
    decoder: ProtoDecoder<S>,
    client: ClientInfo = NO_CLIENT,
    itemCount?: number,
  ): Payload<S> {
    const p = new Payload<S>(signal, client, undefined, [bytes], decoder);
    p.#count = itemCount;
    return p;
  }

  /**
   * A payload over an encoded `Export*ServiceRequest` in a pooled buffer: `bytes` lies in the
   * buffer of `lease`, and the payload takes over the caller's reference to it (the caller does
   * not release the lease itself but the payload, once it handed the payload on).
   */
  static fromPooled<S extends Signal>(
    signal: S,
    bytes: Uint8Array,
    lease: BufferLease,
    decoder: ProtoDecoder<S>,
    itemCount?: number,
    client: ClientInfo = NO_CLIENT,
  ): Payload<S> {
    const p = new Payload<S>(signal, client, undefined, [bytes], decoder);
    p.#count = itemCount;
    p.#leases = [lease];
    return p;
  }

  /** True when this payload's bytes are in pooled buffers (it then counts retains and releases). */
  get leased(): boolean {
    return this.#leases !== undefined;
  }

  /**
   * Takes a reference for a holder that keeps this payload past the `consume` call that gave it
   * (see the module doc); pair it with one {@linkcode Payload.release}. Returns the payload.
   */
  retain(): this {
    if (this.#leases === undefined) return this;
    if (this.#holds <= 0) {
      this.#leases[0]?.reportMisuse("A payload was retained after its last release");
      return this;
    }
    this.#holds++;
    return this;
  }

  /**
   * Drops a reference: the last one releases the pooled buffers (which their pool may then hand
   * out again), so nothing may read the payload's bytes afterwards. A release too many is
   * reported to the pool and otherwise ignored.
   */
  release(): void {
    const leases = this.#leases;
    if (leases === undefined) return;
    if (this.#holds <= 0) {
      leases[0]?.reportMisuse("A payload was released more often than it was retained");
      return;
    }
    if (--this.#holds > 0) return;
    for (const lease of leases) lease.release();
  }

  /** References to the pooled buffers for another payload that shares them. */
  #shareLeases(): readonly BufferLease[] | undefined {
    const leases = this.#leases;
    if (leases === undefined) return undefined;
    this.#checkLive();
    for (const lease of leases) lease.retain();
    return leases;
  }

  /** Reports a use of the bytes after the last release (their buffer may hold other data now). */
  #checkLive(): void {
    if (this.#holds <= 0 && this.#leases !== undefined) {
      this.#leases[0]?.reportMisuse("A payload's pooled bytes were used after its last release");
    }
  }

  /** Spans, metric data points or log records in this payload. */
  get itemCount(): number {
    if (this.#count === undefined) {
      this.#count = this.#data !== undefined
        ? countItems(this.signal, this.#data)
        : this.#decoder!.countItems(this.encodedProto!);
    }
    return this.#count;
  }

  /**
   * The decoded data, for reading only. Decodes on first use. `fields` (default: all) names the
   * item fields (of spans, log records, data points) the caller reads: where the codec can, only
   * those are decoded and the others hold placeholders, which the caller must not read; a later
   * call asking for more decodes those first. `keys`: when `fields` lacks the attributes, the
   * caller reads attributes only by these keys (then the items' attribute lists may hold just
   * those). Resources, scopes, metrics and containers are always decoded.
   */
  read(fields: FieldSet = ALL_FIELDS, keys?: readonly string[]): SignalData[S] {
    const data = this.#data;
    if (data === undefined) return this.#decode(fields, keys);
    let more = fields & ~this.#decoded;
    const partial = this.#decoder?.partial;
    if (
      partial !== undefined && keys !== undefined && keys.length > 0 &&
      (this.#decoded & partial.attributes) === 0 &&
      (this.#keys === undefined || !keys.every((k) => this.#keys!.includes(k)))
    ) {
      // Keys not decoded yet: decode all the attributes (merging those decoded by key).
      more |= partial.attributes;
    }
    if (more !== 0) {
      partial!.fill(this.#source!, this.#index!, more, this.#keyBytes);
      this.#decoded |= more;
      if ((more & partial!.attributes) !== 0 && this.#keys !== undefined) {
        // The attributes are whole now; those an editor changed by key are the model's.
        this.#keys = undefined;
        this.#keyBytes = undefined;
        if (this.#keyedOwned) this.#owned |= partial!.attributes;
      }
    }
    return data;
  }

  #decode(fields: FieldSet, keys: readonly string[] | undefined): SignalData[S] {
    const decoder = this.#decoder!;
    // Decoded data may hold views of the bytes it came from (IDs, bytes values); from a pooled
    // buffer it is decoded from a copy, so it stays valid once the buffer is used again.
    const pooled = this.#leases !== undefined && this.#parts!.length === 1;
    const bytes = pooled ? this.encodedProto!.slice() : this.encodedProto!;
    const partial = decoder.partial;
    if (fields === ALL_FIELDS || partial === undefined) {
      this.#data = decoder.decode(bytes);
      return this.#data;
    }
    const index: ItemIndex = newItemIndex();
    const byKey = (fields & partial.attributes) === 0 ? keyBytes(keys) : undefined;
    this.#data = partial.decode(bytes, fields, index, byKey);
    this.#source = bytes;
    this.#index = index;
    this.#decoded = fields;
    if (byKey !== undefined) {
      this.#keys = keys;
      this.#keyBytes = byKey;
    }
    return this.#data;
  }

  /**
   * The decoded data, for reading only, without keeping it: decoded on every call unless the
   * payload already holds its decoded form. For a consumer at the end of a pipeline that reads
   * the data once, synchronously, and keeps nothing of it (an exporter that translates it): the
   * decoded objects then die young, instead of living as long as the request or queue entry that
   * holds the payload and being promoted to V8's old generation (what made the prometheus
   * exporter's peak RSS). A later `read` or `peek` decodes again.
   */
  peek(): SignalData[S] {
    return this.#data ?? this.#decoder!.decode(this.encodedProto!);
  }

  /**
   * The decoded data, for changing in place. Only consumers that declare `mutatesData` may call it.
   * The encoded form is forgotten and the item count recomputed on next use. `fields` and `keys`
   * (default: all fields) name what of each item the caller reads or changes, as for
   * {@linkcode Payload.read}; it may also remove, reorder or add items and change resources,
   * scopes and metrics, and set attributes of `keys` (an attribute list decoded by key only
   * changes by setting those keys). Fields nobody named are encoded by copying the bytes they
   * arrived as.
   */
  edit(fields: FieldSet = ALL_FIELDS, keys?: readonly string[]): SignalData[S] {
    const data = this.read(fields, keys);
    this.#parts = undefined;
    this.#count = undefined;
    this.#owned |= fields;
    if (keys !== undefined && keys.length > 0 && this.#keys !== undefined) this.#keyedOwned = true;
    if (this.#owned === ALL_FIELDS) {
      // Everything may have changed (and is decoded): nothing left to copy from the source.
      this.#source = undefined;
      this.#index = undefined;
      this.#keys = undefined;
      this.#keyBytes = undefined;
    }
    return data;
  }

  /**
   * The payload as one `Export*ServiceRequest`: the bytes it still matches when it has them, else
   * an encoding of its data — by `encode` (the signal's full encoder), or, for partially decoded
   * data, by copying every field no editor named from the bytes it was decoded from.
   */
  toProto(encode: (data: SignalData[S]) => Uint8Array): Uint8Array {
    const encoded = this.encodedProto;
    if (encoded !== undefined) return encoded;
    const index = this.#index;
    if (index !== undefined) {
      return this.#decoder!.partial!.encode(
        this.#data!,
        this.#source!,
        index,
        this.#owned,
        this.#keyBytes,
      );
    }
    return encode(this.read());
  }

  /**
   * The protobuf bytes this payload still matches exactly, if it has them. A merged batch joins
   * its parts into one array on the first call (and keeps it); {@linkcode Payload.encodedParts}
   * gives the same bytes without joining them.
   */
  get encodedProto(): Uint8Array | undefined {
    const parts = this.#parts;
    if (parts === undefined) return undefined;
    this.#checkLive();
    if (parts.length === 1) return parts[0];
    const joined = concatParts(parts);
    this.#parts = [joined];
    return joined;
  }

  /**
   * The protobuf bytes this payload still matches exactly, as parts to send one after the other
   * (their concatenation is {@linkcode Payload.encodedProto}), if it has them. Never copies. The
   * arrays must not be changed.
   */
  get encodedParts(): readonly Uint8Array[] | undefined {
    if (this.#parts !== undefined) this.#checkLive();
    return this.#parts;
  }

  /** The length of {@linkcode Payload.encodedProto}, without joining parts; `undefined` if none. */
  get encodedSize(): number | undefined {
    const parts = this.#parts;
    if (parts === undefined) return undefined;
    let size = 0;
    for (const part of parts) size += part.length;
    return size;
  }

  /**
   * One payload holding all of `parts`, in order. When every part is still encoded with the same
   * decoder nothing is decoded or copied: the result holds the parts' bytes in order (two encoded
   * `Export*ServiceRequest` messages concatenate into one valid message), joined only when
   * {@linkcode Payload.encodedProto} is asked for. The result takes its own references to the
   * parts' pooled buffers: the caller releases the parts it made or retained as usual.
   */
  static merge<S extends Signal>(
    signal: S,
    parts: readonly Payload<S>[],
    client: ClientInfo = NO_CLIENT,
  ): Payload<S> {
    const first = parts[0];
    const decoder = first === undefined ? undefined : first.#decoder;
    if (
      decoder !== undefined && parts.every((p) => p.#parts !== undefined && p.#decoder === decoder)
    ) {
      const bytes: Uint8Array[] = [];
      let leases: BufferLease[] | undefined;
      let count = 0;
      for (const p of parts) {
        for (const part of p.#parts!) if (part.length > 0) bytes.push(part);
        count += p.itemCount;
        const shared = p.#shareLeases();
        if (shared !== undefined) {
          leases ??= [];
          for (const lease of shared) leases.push(lease);
        }
      }
      const merged = new Payload<S>(signal, client, undefined, bytes, decoder);
      merged.#count = count;
      merged.#leases = leases;
      return merged;
    }
    const data = emptyData(signal);
    let count = 0;
    for (const p of parts) {
      appendData(signal, data, p.read());
      count += p.itemCount;
    }
    const merged = Payload.of(signal, data, client);
    merged.#count = count;
    return merged;
  }

  /**
   * The same data, encoded or decoded, shared rather than copied, from another client: for a
   * receiver that learns the client info from the data itself. This payload must not be used
   * afterwards (but is still released by whoever holds it: the result holds its own references).
   */
  withClient(client: ClientInfo): Payload<S> {
    const p = new Payload<S>(this.signal, client, this.#data, this.#parts, this.#decoder);
    p.#count = this.#count;
    p.#leases = this.#shareLeases();
    return p;
  }

  /**
   * An independent copy; an encoded payload's copy shares the (immutable) bytes, and their pooled
   * buffers with a reference of its own: release the copy once it was handed on.
   */
  clone(): Payload<S> {
    if (this.#parts !== undefined) {
      const copy = new Payload<S>(this.signal, this.client, undefined, this.#parts, this.#decoder);
      copy.#count = this.#count;
      copy.#leases = this.#shareLeases();
      return copy;
    }
    const copy = Payload.of(this.signal, cloneData(this.signal, this.read()), this.client);
    copy.#count = this.#count;
    return copy;
  }
}

/** Joins encoded parts into one array. */
function concatParts(parts: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const part of parts) size += part.length;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
