/**
 * Which item fields (span, log record) a group of compiled statements or conditions reads or
 * writes, so that a processor can ask its payload for only those (`Payload.read(fields)`): a
 * statement that names `span.attributes` and `span.name` lets the rest of every span stay encoded.
 *
 * Anything this cannot account for exactly asks for every field: a path it does not know or a
 * function outside the standard tables (the metric functions among them). Metrics are always
 * decoded down to the metric; of data points only the attributes can be told apart.
 *
 * @module
 */
import {
  ALL_FIELDS,
  DATA_POINT,
  type FieldSet,
  LOG_RECORD,
  type Needs,
  NO_FIELDS,
  SPAN,
} from "../pdata/fields.ts";
import type { Signal } from "../pdata/types.ts";
import type { Uses } from "./compile.ts";
import type { ContextName } from "./context.ts";
import { CONVERTERS } from "./funcs/converters.ts";
import { EDITORS } from "./funcs/editors.ts";

/** Span paths (the first name of the field, without `_unix_nano` or `.string`) to fields. */
const SPAN_PATHS: Readonly<Record<string, FieldSet>> = {
  trace_id: SPAN.traceId,
  span_id: SPAN.spanId,
  trace_state: SPAN.traceState,
  parent_span_id: SPAN.parentSpanId,
  name: SPAN.name,
  kind: SPAN.kind,
  start_time: SPAN.startTimeUnixNano,
  end_time: SPAN.endTimeUnixNano,
  attributes: SPAN.attributes,
  dropped_attributes_count: SPAN.droppedAttributesCount,
  dropped_events_count: SPAN.droppedEventsCount,
  dropped_links_count: SPAN.droppedLinksCount,
  status: SPAN.status,
  flags: SPAN.flags,
};

/** Log record paths to fields. */
const LOG_PATHS: Readonly<Record<string, FieldSet>> = {
  time: LOG_RECORD.timeUnixNano,
  observed_time: LOG_RECORD.observedTimeUnixNano,
  severity_number: LOG_RECORD.severityNumber,
  severity_text: LOG_RECORD.severityText,
  body: LOG_RECORD.body,
  attributes: LOG_RECORD.attributes,
  dropped_attributes_count: LOG_RECORD.droppedAttributesCount,
  flags: LOG_RECORD.flags,
  trace_id: LOG_RECORD.traceId,
  span_id: LOG_RECORD.spanId,
  event_name: LOG_RECORD.eventName,
};

/** Functions that read item fields no argument names. */
const IMPLICIT: Readonly<Record<string, FieldSet>> = {
  IsRootSpan: SPAN.parentSpanId,
};

/** Functions that touch nothing but their arguments. */
const PURE: ReadonlySet<string> = new Set(
  [...EDITORS, ...CONVERTERS].map((d) => d.name).filter((n) => IMPLICIT[n] === undefined),
);

function pathField(table: Readonly<Record<string, FieldSet>>, field: string): FieldSet {
  const first = field.split(".")[0]!;
  const base = first.endsWith("_unix_nano") ? first.slice(0, -"_unix_nano".length) : first;
  return Object.hasOwn(table, base) ? table[base]! : ALL_FIELDS;
}

/**
 * What of each item `items` (compiled for `signal` in `context`) read or write: the fields, and
 * the attribute keys when they use the item's attributes only through literal keys
 * (`attributes["k"]`), or every field when that cannot be told exactly.
 */
export function itemNeeds(
  signal: Signal,
  context: ContextName,
  items: readonly { readonly uses: Uses }[],
): Needs {
  const keys = new Set<string>();
  let whole = false;
  const attributes = signal === "traces"
    ? SPAN.attributes
    : signal === "logs"
    ? LOG_RECORD.attributes
    : DATA_POINT.attributes;
  const itemContext = signal === "traces" ? "span" : signal === "logs" ? "log" : "datapoint";
  for (const { uses } of items) {
    for (const p of uses.paths) {
      if (p.context !== itemContext || p.field !== "attributes") continue;
      if (p.key === undefined) whole = true;
      else keys.add(p.key);
    }
  }
  const fields = signal === "metrics" ? pointFields(items) : itemFields(signal, context, items);
  if (fields === ALL_FIELDS || whole || (fields & attributes) === 0) {
    return { fields, keys: [] };
  }
  return { fields: fields & ~attributes, keys: [...keys] };
}

/**
 * The item fields that `items` (compiled for `signal` in `context`) read or write, or
 * {@linkcode ALL_FIELDS} when they cannot be told exactly.
 */
export function itemFields(
  signal: Signal,
  context: ContextName,
  items: readonly { readonly uses: Uses }[],
): FieldSet {
  if (signal === "metrics") return pointFields(items);
  const table = signal === "traces" ? SPAN_PATHS : LOG_PATHS;
  const itemContext = signal === "traces" ? "span" : "log";
  // A span event statement walks every span's events.
  let fields = context === "spanevent" ? SPAN.events : NO_FIELDS;
  for (const { uses } of items) {
    for (const p of uses.paths) {
      if (
        p.field === "cache" || p.field === "metadata" || p.context === "resource" ||
        p.context === "scope"
      ) continue;
      if (p.context === "spanevent" && signal === "traces") fields |= SPAN.events;
      else if (p.context === itemContext) fields |= pathField(table, p.field);
      else return ALL_FIELDS;
    }
    for (const name of uses.calls) {
      const implicit = IMPLICIT[name];
      if (implicit !== undefined) fields |= implicit;
      else if (!PURE.has(name)) return ALL_FIELDS;
    }
  }
  return fields;
}

/** The data point fields that metric and data point statements or conditions use. */
function pointFields(items: readonly { readonly uses: Uses }[]): FieldSet {
  let fields = NO_FIELDS;
  for (const { uses } of items) {
    for (const p of uses.paths) {
      if (p.field === "cache" || p.field === "metadata") continue;
      if (p.context === "datapoint") {
        if (p.field.split(".")[0] !== "attributes") return ALL_FIELDS;
        fields |= DATA_POINT.attributes;
      } else if (p.context !== "metric" && p.context !== "resource" && p.context !== "scope") {
        return ALL_FIELDS;
      }
    }
    for (const name of uses.calls) if (!PURE.has(name)) return ALL_FIELDS;
  }
  return fields;
}
