/**
 * Constructors that fill every field of the model with its OTLP default, so code that builds data
 * (receivers, tests, generators) only names what it sets.
 *
 * @module
 */
import type {
  InstrumentationScope,
  LogRecord,
  Resource,
  Span,
  SpanEvent,
  SpanLink,
} from "./types.ts";

const EMPTY_BYTES = new Uint8Array(0);

/** A resource with the given fields and defaults for the rest. */
export function newResource(init: Partial<Resource> = {}): Resource {
  return { attributes: [], droppedAttributesCount: 0, ...init };
}

/** An instrumentation scope with the given fields and defaults for the rest. */
export function newScope(init: Partial<InstrumentationScope> = {}): InstrumentationScope {
  return { name: "", version: "", attributes: [], droppedAttributesCount: 0, ...init };
}

/** A span with the given fields and defaults for the rest. */
export function newSpan(init: Partial<Span> = {}): Span {
  return {
    traceId: EMPTY_BYTES,
    spanId: EMPTY_BYTES,
    traceState: "",
    parentSpanId: EMPTY_BYTES,
    flags: 0,
    name: "",
    kind: 0,
    startTimeUnixNano: 0n,
    endTimeUnixNano: 0n,
    attributes: [],
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: { message: "", code: 0 },
    ...init,
  };
}

/** A span event with the given fields and defaults for the rest. */
export function newSpanEvent(init: Partial<SpanEvent> = {}): SpanEvent {
  return { timeUnixNano: 0n, name: "", attributes: [], droppedAttributesCount: 0, ...init };
}

/** A span link with the given fields and defaults for the rest. */
export function newSpanLink(init: Partial<SpanLink> = {}): SpanLink {
  return {
    traceId: EMPTY_BYTES,
    spanId: EMPTY_BYTES,
    traceState: "",
    attributes: [],
    droppedAttributesCount: 0,
    flags: 0,
    ...init,
  };
}

/** A log record with the given fields and defaults for the rest. */
export function newLogRecord(init: Partial<LogRecord> = {}): LogRecord {
  return {
    timeUnixNano: 0n,
    observedTimeUnixNano: 0n,
    severityNumber: 0,
    severityText: "",
    body: undefined,
    attributes: [],
    droppedAttributesCount: 0,
    flags: 0,
    traceId: EMPTY_BYTES,
    spanId: EMPTY_BYTES,
    eventName: "",
    ...init,
  };
}
