/**
 * Partial decoding of items (spans, log records): decode only the fields a pipeline declared it
 * reads or writes, keep where each item's bytes are, decode more fields later on demand, and
 * encode by copying the bytes of every field the model does not own.
 *
 * An item decoded this way is a complete model object whose undeclared fields hold their default
 * values (placeholders); the payload that holds it makes sure nobody reads them: whoever asks for
 * more fields gets them decoded first (see `Payload.read`).
 *
 * Skipped fields are still checked exactly as decoding them would check them, so a partial decode
 * refuses the same malformed requests a full one does.
 *
 * @module
 */
import type { FieldSet, ItemIndex } from "../pdata/fields.ts";
import { ProtoReader } from "./_proto_reader.ts";
import type { ProtoWriter } from "./_proto_writer.ts";
import { checkField, type ItemSpec } from "./validate.ts";

/** How one item message is decoded and encoded field by field. */
export interface ItemCodec<T> {
  /** The message's field table (for checking skipped fields). */
  readonly spec: ItemSpec;
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

/** What a partial decode needs while it runs. */
export interface PartialDecode {
  /** The fields to decode. */
  readonly want: FieldSet;
  /** Filled with every decoded item. */
  readonly index: ItemIndex;
}

/** Reads the fields in `want` of the item whose content is `[r.pos, end)` into `item`. */
function readFields<T>(
  r: ProtoReader,
  codec: ItemCodec<T>,
  item: T,
  end: number,
  want: FieldSet,
  check: boolean,
): void {
  codec.prepare(item, want);
  while (r.pos < end) {
    const tag = r.uint32();
    const f = tag >>> 3;
    if (f < 31 && ((want >>> f) & 1) === 1) codec.read(r, item, tag, end);
    else if (check) checkField(r, codec.spec, tag, end);
    else r.skip(tag, 0, end);
  }
  r.checkEnd(end);
}

/**
 * Decodes the item field whose length prefix is at `r.pos` (its tag read), with only the fields
 * of `p.want`, and records it in `p.index`.
 */
export function readItemPartial<T extends object>(
  r: ProtoReader,
  limit: number,
  codec: ItemCodec<T>,
  p: PartialDecode,
): T {
  const at = r.pos;
  const end = r.end(limit);
  const item = codec.create();
  readFields(r, codec, item, end, p.want, true);
  p.index.set(item, at);
  return item;
}

/**
 * Decodes the fields of `more` into every item of `index` from `source`, the bytes they were
 * decoded from (which were checked then).
 */
export function fillItems<T extends object>(
  codec: ItemCodec<T>,
  source: Uint8Array,
  index: ItemIndex,
  more: FieldSet,
): void {
  const r = new ProtoReader(source);
  for (const [item, at] of index) {
    r.pos = at;
    const end = r.end(r.len);
    readFields(r, codec, item as T, end, more, false);
  }
}

/**
 * Writes the content of `item` (decoded from `source` at `at`): the fields of `owned` from the
 * model, every other field as the bytes it arrived as, in the order they arrived; owned fields
 * that did not arrive follow at the end.
 */
export function writeItemPartial<T>(
  w: ProtoWriter,
  codec: ItemCodec<T>,
  item: T,
  r: ProtoReader,
  at: number,
  owned: FieldSet,
): void {
  const source = r.buf;
  r.pos = at;
  const end = r.end(r.len);
  let copyFrom = r.pos;
  let written = 0;
  while (r.pos < end) {
    const start = r.pos;
    const tag = r.uint32();
    const f = tag >>> 3;
    if (f < 31 && ((owned >>> f) & 1) === 1) {
      w.raw(source, copyFrom, start);
      if (((written >>> f) & 1) === 0) {
        codec.write(w, item, f);
        written |= 1 << f;
      }
      r.skip(tag, 0, end);
      copyFrom = r.pos;
    } else r.skip(tag, 0, end);
  }
  w.raw(source, copyFrom, end);
  const left = owned & ~written;
  if (left === 0) return;
  for (let f = 1; f <= codec.maxField; f++) {
    if (((left >>> f) & 1) === 1) codec.write(w, item, f);
  }
}
