/**
 * Partial decoding of items (spans, log records, data points): decode only the fields a pipeline
 * declared it reads or writes, keep where each item's bytes are, decode more fields later on
 * demand, and encode by copying the bytes of every field the model does not own.
 *
 * An item decoded this way is a complete model object whose undeclared fields hold their default
 * values (placeholders); the payload that holds it makes sure nobody reads them: whoever asks for
 * more fields gets them decoded first (see `Payload.read`).
 *
 * Attributes read or written only through literal keys (`attributes["k"]`) can be decoded
 * *by key*: the item's attribute list then holds just the attributes with those keys (in their
 * order), and new ones appended; the encoder writes those from the model where the matching
 * attributes were and the appended ones after the others, and copies every other attribute. A
 * later decode of all attributes merges the model's entries back in the same way.
 *
 * Skipped fields are still checked exactly as decoding them would check them, so a partial decode
 * refuses the same malformed requests a full one does.
 *
 * While decoding, each item's record in the index notes where every decoded field (and every
 * attribute with one of the keys) starts and ends: the encoder then copies the bytes between
 * those cuts without walking the item's fields a second time. An item with more than
 * {@linkcode MAX_CUTS} of them, or one that an editor changed in a field not decoded with it, is
 * encoded by walking it.
 *
 * Two differences from a full decode and encode, neither visible after decoding the output: fields
 * the schema does not know (from a newer OTLP) are copied along instead of dropped, and owned
 * fields that did not arrive, and attributes added by key, are written after the copied fields
 * instead of in field-number order.
 *
 * @module
 */
import { type FieldSet, indexItem, type ItemIndex, type KeyBytes } from "../pdata/fields.ts";
import type { KeyValue } from "../pdata/types.ts";
import { ProtoReader } from "./_proto_reader.ts";
import type { ProtoWriter } from "./_proto_writer.ts";
import { checkAnyValue, checkField, type ItemSpec } from "./validate.ts";
import { writeAttribute } from "./common_proto.ts";

/** An item with attributes. */
export interface Item {
  attributes: KeyValue[];
}

/** How one item message is decoded and encoded field by field. */
export interface ItemCodec<T extends Item> {
  /** The message's field table (for checking skipped fields). */
  readonly spec: ItemSpec;
  /** The field number of the item's attributes. */
  readonly attributesField: number;
  /** A new item with every field at its default. */
  create(): T;
  /** Gives the repeated and message fields in `want` fresh values before they are read. */
  prepare(item: T, want: FieldSet): void;
  /** Reads the field whose tag was just read into `item` (a wrong wire type throws). */
  read(r: ProtoReader, item: T, tag: number, end: number): void;
  /** Writes field number `field` of `item` (nothing when it holds the default). */
  write(w: ProtoWriter, item: T, field: number): void;
  /** The highest field number the message defines. */
  readonly maxField: number;
}

/**
 * The record of an item in `ItemIndex.layout`, from its entry `e`: `layout[e]` is the offset of
 * its length prefix, `layout[e + 1]` bit 0 whether an attribute had one of the keys, bit 1
 * whether its cuts are recorded, bits 2 and up their number, `layout[e + 2]` the fields decoded
 * with it; then per cut its field number, start (its tag) and end.
 */
const HEAD = 3;
/** Most cuts recorded per item (bounds the record's size). */
const MAX_CUTS = 16;
const MATCHED = 1;
const CUT = 2;

/** What a partial decode needs while it runs. */
export interface PartialDecode {
  /** The fields to decode. */
  readonly want: FieldSet;
  /** Filled with every decoded item. */
  readonly index: ItemIndex;
  /** When the attributes are not in `want`: decode those with these keys. */
  readonly keys: KeyBytes | undefined;
}

/**
 * True when the `KeyValue` field whose length prefix is at `r.pos` has one of `keys` (its last
 * `key` field, as decoding keeps it). Leaves `r.pos` after the field. With `check`, checks all of
 * it as decoding would (else only its framing); throws only where decoding it would.
 */
function hasKey(r: ProtoReader, limit: number, keys: KeyBytes, check: boolean): boolean {
  const buf = r.buf;
  const at = r.pos;
  // The common shape, read without the general walk: a key and one scalar value, every length a
  // single byte (`0a klen key 12 vlen value`); `simpleValueEnd` checks the value as decoding would.
  // Anything else (and anything malformed) takes the general walk from the start.
  if (at + 5 <= limit) {
    const len = buf[at]!;
    const end = at + 1 + len;
    if (len < 0x80 && end <= limit && buf[at + 1] === 10) {
      const klen = buf[at + 2]!;
      const ks = at + 3;
      const ke = ks + klen;
      if (klen < 0x80 && ke + 2 <= end && buf[ke] === 18 && buf[ke + 1]! < 0x80) {
        const vs = ke + 2;
        const ve = vs + buf[ke + 1]!;
        if (ve === end && simpleValueEnd(buf, vs, ve)) {
          r.pos = end;
          return matchesKey(keys, buf, ks, klen);
        }
      }
    }
  }
  return hasKeyWalk(r, limit, keys, check);
}

/**
 * True when `[start, end)` is an `AnyValue` of one string (a one-byte length), bool, small int
 * (a varint of at most 5 bytes) or double field that fills it exactly: what decoding accepts
 * without a doubt. False sends the caller to the general walk, which decides.
 */
function simpleValueEnd(buf: Uint8Array, start: number, end: number): boolean {
  if (start === end) return true; // an empty AnyValue
  const tag = buf[start]!;
  if (tag === 10) {
    return start + 2 <= end && buf[start + 1]! < 0x80 && start + 2 + buf[start + 1]! === end;
  }
  if (tag === 16 || tag === 24) {
    let p = start + 1;
    const stop = Math.min(end, start + 6);
    while (p < stop && buf[p]! >= 0x80) p++;
    return p < stop && p + 1 === end;
  }
  if (tag === 33) return start + 9 === end;
  return false;
}

/** True when the key at `[start, start + n)` of `buf` is one of `keys`. */
function matchesKey(keys: KeyBytes, buf: Uint8Array, start: number, n: number): boolean {
  for (let k = 0; k < keys.length; k++) {
    const key = keys[k]!;
    if (key.length !== n) continue;
    let i = 0;
    while (i < n && key[i] === buf[start + i]) i++;
    if (i === n) return true;
  }
  return false;
}

/** {@linkcode hasKey} for any `KeyValue`: walks its fields as decoding would. */
function hasKeyWalk(r: ProtoReader, limit: number, keys: KeyBytes, check: boolean): boolean {
  const end = r.end(limit);
  const buf = r.buf;
  let start = -1;
  let stop = -1;
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === 10) {
      const e = r.end(end);
      start = r.pos;
      stop = e;
      r.pos = e;
    } else if (tag === 18) {
      const e = r.end(end);
      if (check) checkAnyValue(r, e);
      else r.pos = e;
    } else r.skip(tag, 6, end);
  }
  r.checkEnd(end);
  return matchesKey(keys, buf, start, stop - start);
}

/**
 * Reads the fields in `want` of the item whose content is `[r.pos, end)` into `item`. With `keys`
 * (and the attributes not in `want`), reads the attributes with those keys; with `merge` (and the
 * attributes in `want`), takes the attributes with `keys` from `merge` instead of the bytes.
 * With `layout` (not merging), appends the item's cuts to it. Returns the record's flags and cut
 * count (see {@linkcode HEAD}).
 */
function readFields<T extends Item>(
  r: ProtoReader,
  codec: ItemCodec<T>,
  item: T,
  end: number,
  want: FieldSet,
  check: boolean,
  keys: KeyBytes | undefined,
  merge: KeyValue[] | undefined,
  layout: number[] | undefined,
): number {
  const af = codec.attributesField;
  const wantsAttributes = ((want >>> af) & 1) === 1;
  const keyed = keys !== undefined && (!wantsAttributes || merge !== undefined);
  codec.prepare(item, want);
  if (keyed && !wantsAttributes) item.attributes = [];
  let next = 0;
  let matched = 0;
  let cuts = 0;
  while (r.pos < end) {
    const start = r.pos;
    const tag = r.uint32();
    const f = tag >>> 3;
    if (keyed && f === af && (tag & 7) === 2) {
      const at = r.pos;
      // Checks the attribute (when it is not decoded) and moves past it.
      const match = hasKey(r, end, keys, check);
      if (match) matched = MATCHED;
      if (merge !== undefined) {
        if (match) {
          if (next < merge.length) item.attributes.push(merge[next++]!);
        } else {
          r.pos = at;
          codec.read(r, item, tag, end);
        }
      } else if (match) {
        r.pos = at;
        codec.read(r, item, tag, end);
        if (layout !== undefined && cuts++ < MAX_CUTS) layout.push(f, start, r.pos);
      }
    } else if (f < 31 && ((want >>> f) & 1) === 1) {
      codec.read(r, item, tag, end);
      if (layout !== undefined && cuts++ < MAX_CUTS) layout.push(f, start, r.pos);
    } else if (check) checkField(r, codec.spec, tag, end);
    else r.skip(tag, 0, end);
  }
  r.checkEnd(end);
  if (merge !== undefined) {
    for (; next < merge.length; next++) item.attributes.push(merge[next]!);
  }
  return cuts <= MAX_CUTS ? matched | CUT | (cuts << 2) : matched;
}

/**
 * Indexes `item`, decoded whole from the bytes whose length prefix is at `at`, without cuts
 * (it is encoded by walking it).
 */
export function indexWhole(index: ItemIndex, item: object, at: number): void {
  const layout = index.layout;
  indexItem(index, item, layout.length);
  layout.push(at, 0, 0);
}

/** The offset of the length prefix of the item of index entry `entry`. */
export function offsetOf(index: ItemIndex, entry: number): number {
  return index.layout[entry]!;
}

/**
 * Decodes the item field whose length prefix is at `r.pos` (its tag read), with only the fields
 * of `p.want` (and the attributes with `p.keys`), and records it in `p.index`.
 */
export function readItemPartial<T extends Item>(
  r: ProtoReader,
  limit: number,
  codec: ItemCodec<T>,
  p: PartialDecode,
): T {
  const at = r.pos;
  const end = r.end(limit);
  const item = codec.create();
  const index = p.index;
  const layout = index.layout;
  const entry = layout.length;
  layout.push(at, 0, p.want);
  const meta = readFields(r, codec, item, end, p.want, true, p.keys, undefined, layout);
  layout[entry + 1] = meta;
  // An item with too many cuts keeps none (it is encoded by walking it).
  if ((meta & CUT) === 0) layout.length = entry + HEAD;
  indexItem(index, item, entry);
  return item;
}

/**
 * Decodes the fields of `more` into every item of `index` from `source`, the bytes they were
 * decoded from (which were checked then). `keys`: the attributes were decoded by these keys; when
 * `more` holds the attributes, the model's entries are merged into the whole list.
 */
export function fillItems<T extends Item>(
  codec: ItemCodec<T>,
  source: Uint8Array,
  index: ItemIndex,
  more: FieldSet,
  keys: KeyBytes | undefined,
): void {
  const r = new ProtoReader(source);
  const { items, entries, layout } = index;
  for (let i = 0; i < items.length; i++) {
    fillItem(r, codec, items[i] as T, layout[entries[i]!]!, more, keys);
  }
}

/** {@linkcode fillItems} for one item, whose length prefix is at `at` in `r`'s buffer. */
export function fillItem<T extends Item>(
  r: ProtoReader,
  codec: ItemCodec<T>,
  item: T,
  at: number,
  more: FieldSet,
  keys: KeyBytes | undefined,
): void {
  const merging = keys !== undefined && ((more >>> codec.attributesField) & 1) === 1;
  r.pos = at;
  const end = r.end(r.len);
  if (merging) readFields(r, codec, item, end, more, false, keys, item.attributes, undefined);
  else readFields(r, codec, item, end, more, false, undefined, undefined, undefined);
}

/**
 * Writes the content of `item` (decoded from `r`'s buffer, which must be attached to `w`, index
 * entry `entry` of `layout`): the
 * fields of `owned` from the model, every other field as the bytes it arrived as, in the order
 * they arrived; owned fields that did not arrive follow at the end. With `keys` (attributes
 * decoded by key, not owned whole), the model's attributes replace those with the keys, and the
 * rest of them follow the last attribute.
 */
export function writeItemPartial<T extends Item>(
  w: ProtoWriter,
  codec: ItemCodec<T>,
  item: T,
  r: ProtoReader,
  layout: readonly number[],
  entry: number,
  owned: FieldSet,
  keys: KeyBytes | undefined,
): void {
  const af = codec.attributesField;
  const keyed = keys !== undefined && ((owned >>> af) & 1) === 0;
  const meta = layout[entry + 1]!;
  // When no attribute had a key, every attribute is copied and the model's are all new.
  const matched = (meta & MATCHED) !== 0;
  const model = item.attributes;
  let next = 0;
  r.pos = layout[entry]!;
  const end = r.end(r.len);
  let copyFrom = r.pos;
  let written = 0;
  if ((meta & CUT) !== 0 && (owned & ~layout[entry + 2]!) === 0) {
    // Every owned field's occurrences are cuts: copy around them.
    const last = entry + HEAD + 3 * (meta >>> 2);
    for (let c = entry + HEAD; c < last; c += 3) {
      const f = layout[c]!;
      if (keyed && f === af) {
        w.copy(copyFrom, layout[c + 1]!);
        if (next < model.length) writeAttribute(w, af, model[next++]!);
        copyFrom = layout[c + 2]!;
      } else if (((owned >>> f) & 1) === 1) {
        w.copy(copyFrom, layout[c + 1]!);
        if (((written >>> f) & 1) === 0) {
          codec.write(w, item, f);
          written |= 1 << f;
        }
        copyFrom = layout[c + 2]!;
      }
    }
  } else {
    while (r.pos < end) {
      const start = r.pos;
      const tag = r.uint32();
      const f = tag >>> 3;
      if (keyed && matched && f === af && (tag & 7) === 2) {
        // hasKey leaves r.pos after the attribute.
        if (hasKey(r, end, keys, false)) {
          w.copy(copyFrom, start);
          if (next < model.length) writeAttribute(w, af, model[next++]!);
          copyFrom = r.pos;
        }
      } else if (f < 31 && ((owned >>> f) & 1) === 1) {
        w.copy(copyFrom, start);
        if (((written >>> f) & 1) === 0) {
          codec.write(w, item, f);
          written |= 1 << f;
        }
        r.skip(tag, 0, end);
        copyFrom = r.pos;
      } else r.skip(tag, 0, end);
    }
  }
  w.copy(copyFrom, end);
  // Attributes the model added: after the others (a repeated field's entries need not be
  // adjacent), so they decode last, as appended.
  for (; keyed && next < model.length; next++) writeAttribute(w, af, model[next]!);
  const left = owned & ~written;
  if (left === 0) return;
  for (let f = 1; f <= codec.maxField; f++) {
    if (((left >>> f) & 1) === 1) codec.write(w, item, f);
  }
}
