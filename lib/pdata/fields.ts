/**
 * Field sets of the per-item messages (spans, log records): which fields of an item a component
 * reads or writes, as a bit set over the item's OTLP protobuf field numbers (bit `n` is field `n`).
 * A payload decoded for a consumer that declares its fields decodes only those and keeps the rest
 * as bytes that the encoder copies (see `Payload.read`).
 *
 * @module
 */

/** A bit set of item fields: bit `n` set means OTLP field number `n` of the item message. */
export type FieldSet = number;

/** Every field (what a consumer that declares nothing gets). */
export const ALL_FIELDS: FieldSet = -1;

/** No item field: the resource, scope and container structure only. */
export const NO_FIELDS: FieldSet = 0;

/** The bit of field number `n`. */
export function field(n: number): FieldSet {
  return 1 << n;
}

/** `Span` fields (trace.proto). */
export const SPAN = {
  traceId: field(1),
  spanId: field(2),
  traceState: field(3),
  parentSpanId: field(4),
  name: field(5),
  kind: field(6),
  startTimeUnixNano: field(7),
  endTimeUnixNano: field(8),
  attributes: field(9),
  droppedAttributesCount: field(10),
  events: field(11),
  droppedEventsCount: field(12),
  links: field(13),
  droppedLinksCount: field(14),
  status: field(15),
  flags: field(16),
} as const;

/** `LogRecord` fields (logs.proto). */
export const LOG_RECORD = {
  timeUnixNano: field(1),
  severityNumber: field(2),
  severityText: field(3),
  body: field(5),
  attributes: field(6),
  droppedAttributesCount: field(7),
  flags: field(8),
  traceId: field(9),
  spanId: field(10),
  observedTimeUnixNano: field(11),
  eventName: field(12),
} as const;

/**
 * Where the items of a partially decoded payload are in the bytes it was decoded from: each item
 * object, in decode order, with its entry, the start of its record in `layout`, which the codec
 * fills while decoding (the offset of the item's length prefix, and where its decoded fields are,
 * so that encoding can copy the bytes around them without walking the item again).
 *
 * Encoding asks for the items mostly in the order they were decoded (a filter may have removed
 * some in between), so {@linkcode lookupItem} looks a few places ahead of the last item found
 * before it builds a `Map` of them all: the common case allocates nothing per item.
 */
export interface ItemIndex {
  /** The decoded items, in decode order. */
  readonly items: object[];
  /** The entry of each item of `items`, at the same position. */
  readonly entries: number[];
  /** The items' records, one after the other (small integers only). */
  readonly layout: number[];
  /** Where the next {@linkcode lookupItem} looks first. */
  cursor: number;
  /** Every item to its entry, built by the first lookup the cursor misses. */
  map: Map<object, number> | undefined;
}

/** An empty {@linkcode ItemIndex}. */
export function newItemIndex(): ItemIndex {
  return { items: [], entries: [], layout: [], cursor: 0, map: undefined };
}

/** Adds a decoded item with its entry. */
export function indexItem(index: ItemIndex, item: object, entry: number): void {
  index.items.push(item);
  index.entries.push(entry);
  index.map?.set(item, entry);
}

/** How many places past the cursor {@linkcode lookupItem} looks before it uses the map. */
const LOOK_AHEAD = 4;

/**
 * The entry of `item`, or `undefined` when it was not decoded into this index. Set `cursor` to 0
 * before asking for the items of a payload in order.
 */
export function lookupItem(index: ItemIndex, item: object): number | undefined {
  const items = index.items;
  const stop = Math.min(items.length, index.cursor + LOOK_AHEAD);
  for (let c = index.cursor; c < stop; c++) {
    if (items[c] === item) {
      index.cursor = c + 1;
      return index.entries[c];
    }
  }
  let map = index.map;
  if (map === undefined) {
    map = new Map();
    for (let i = 0; i < items.length; i++) map.set(items[i]!, index.entries[i]!);
    index.map = map;
  }
  return map.get(item);
}

/**
 * Data point fields, the same for every point type (their field numbers differ): the attributes,
 * and any other bit for everything else of the point.
 */
export const DATA_POINT = {
  attributes: field(1),
} as const;

/**
 * What a consumer decodes of each item: `fields`, and, when `fields` lacks the attributes, the
 * attribute `keys` it reads or sets by literal key (`attributes["k"]`; none: no attribute at all).
 */
export interface Needs {
  readonly fields: FieldSet;
  readonly keys: readonly string[];
}

/** Needing nothing of any item. */
export const NOTHING: Needs = Object.freeze({ fields: NO_FIELDS, keys: Object.freeze([]) });

/** What `a` and `b` need together. */
export function unionNeeds(a: Needs, b: Needs): Needs {
  if (b.fields === 0 && b.keys.length === 0) return a;
  if (a.fields === 0 && a.keys.length === 0) return b;
  return { fields: a.fields | b.fields, keys: [...new Set([...a.keys, ...b.keys])] };
}

/** Attribute keys as UTF-8, for comparing with encoded keys. */
export type KeyBytes = readonly Uint8Array[];

const utf8 = new TextEncoder();

/** The UTF-8 forms of `keys`, or `undefined` when there are none. */
export function keyBytes(keys: readonly string[] | undefined): KeyBytes | undefined {
  return keys === undefined || keys.length === 0 ? undefined : keys.map((k) => utf8.encode(k));
}

/** True when `have` holds every field of `want`. */
export function covers(have: FieldSet, want: FieldSet): boolean {
  return (want & ~have) === 0;
}
