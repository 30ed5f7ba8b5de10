/**
 * The per-request item budget of the otlp receiver. A protobuf body can hold an empty span in two
 * bytes and a JSON body an empty object in three, yet each decodes to hundreds of bytes of objects:
 * 12 MiB of empty spans would take gigabytes once a processor or a JSON exporter decodes them. So a
 * request may hold at most one item (span, data point, log record; for JSON, one object) per
 * {@linkcode BYTES_PER_ITEM} bytes of the body limit, and never fewer than
 * {@linkcode MIN_ITEM_BUDGET}: decoding a request then stays within about 16 times the body limit.
 * Over it the request is refused 413 / `RESOURCE_EXHAUSTED` before anything decodes it.
 *
 * @module
 */

import type { Payload } from "../../../lib/pdata/payload.ts";
import type { Needs } from "../../../lib/pdata/fields.ts";

/** Bytes of body limit per item allowed. */
export const BYTES_PER_ITEM = 32;
/** The smallest budget, whatever the limit. */
export const MIN_ITEM_BUDGET = 65_536;

/** A request holding more items than its budget. */
export class ItemBudgetError extends Error {
  /** The budget that was exceeded. */
  readonly budget: number;

  /** Creates the error for `count` items (or objects) against `budget`. */
  constructor(count: number, budget: number, what = "items") {
    super(`Request holds too many ${what}: ${count} > ${budget}`);
    this.name = "ItemBudgetError";
    this.budget = budget;
  }
}

/** The most items a request may hold under a body limit of `limitBytes`. */
export function itemBudget(limitBytes: number): number {
  return Math.max(MIN_ITEM_BUDGET, Math.floor(limitBytes / BYTES_PER_ITEM));
}

/** Throws {@linkcode ItemBudgetError} when `count` is over the budget of `limitBytes`. */
export function checkItemBudget(count: number, limitBytes: number, what?: string): void {
  const budget = itemBudget(limitBytes);
  if (count > budget) throw new ItemBudgetError(count, budget, what);
}

/**
 * The JSON objects in `body` (each `{` outside strings), counted without parsing, so the budget
 * holds before `JSON.parse` builds anything.
 */
export function countJsonObjects(body: Uint8Array): number {
  let objects = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b) objects++;
  }
  return objects;
}

/**
 * Every item of a protobuf request takes at least two bytes (its tag and its length), so a body of
 * `bodyBytes` holds at most half that many items.
 */
export function protoFitsBudget(bodyBytes: number, limitBytes: number): boolean {
  return bodyBytes <= 2 * itemBudget(limitBytes);
}

/**
 * Checks a protobuf payload before the pipeline takes it: it must decode and hold no more items
 * than the budget. When the pipeline changes data (`decodes`: it decodes the payload anyway) and
 * the body is too short to exceed the budget, the payload is decoded here, which checks it as the
 * validating count would and saves that second scan; otherwise the count scans it without
 * decoding. Throws `OtlpDecodeError` or {@linkcode ItemBudgetError}.
 */
export function admitProto(
  payload: Payload,
  bodyBytes: number,
  limitBytes: number,
  decodes: boolean,
  needs?: Needs,
): void {
  // Only what of each item the pipeline declared it uses (`needs`) is decoded; the rest is
  // still checked (see lib/otlp/_partial.ts).
  if (decodes && protoFitsBudget(bodyBytes, limitBytes)) {
    if (needs === undefined) payload.read();
    else payload.read(needs.fields, needs.keys);
  }
  checkItemBudget(payload.itemCount, limitBytes);
}
