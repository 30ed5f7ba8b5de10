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
 * object to the offset of its length prefix.
 */
export type ItemIndex = Map<object, number>;

/** True when `have` holds every field of `want`. */
export function covers(have: FieldSet, want: FieldSet): boolean {
  return (want & ~have) === 0;
}
