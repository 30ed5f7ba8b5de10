/**
 * Where the probabilistic sampler reads and writes an item's sampling state, and how it finds the
 * item's randomness: spans carry it in the W3C tracestate's `ot` member, log records in the
 * `sampling.randomness` / `sampling.threshold` attributes.
 *
 * @module
 */
import type { AnyValue, KeyValue, LogRecord, Span } from "../../../lib/pdata/types.ts";
import { indexOfAttribute, setAttribute } from "../../../lib/pdata/attributes.ts";
import { valueAsString } from "../../../lib/processing/value.ts";
import {
  ALL_PROBABILITIES_RANDOMNESS,
  randomnessToRValue,
  rValueToRandomness,
  type SamplingValueError,
  thresholdToTValue,
  traceIdToRandomness,
  tValueToThreshold,
} from "../../../lib/sampling/threshold.ts";
import {
  clearThreshold,
  parseW3CTraceState,
  serializeW3CTraceState,
  setRandomness,
  updateThreshold,
  type W3CTraceState,
} from "../../../lib/sampling/tracestate.ts";
import {
  type Carrier,
  type Found,
  MISSING,
  type Mode,
  RANDOMNESS_IN_USE,
  randomnessFromBytes,
  SamplerError,
  THRESHOLD_IN_USE,
} from "./_sampler.ts";

/** True for an unset (empty or all-zero) trace ID. */
export function isEmptyId(id: Uint8Array): boolean {
  for (let i = 0; i < id.length; i++) if (id[i] !== 0) return false;
  return true;
}

function spanCarrier(span: Span, state: W3CTraceState): Carrier {
  const ot = state.otel;
  return {
    threshold: () => (ot.tvalue === "" ? undefined : ot.threshold),
    randomness: () => (ot.rvalue === "" ? undefined : ot.randomness),
    setRandomness: (rnd) => setRandomness(ot, rnd),
    clearThreshold: () => clearThreshold(ot),
    updateThreshold: (th) => updateThreshold(ot, th),
    reserialize: () => {
      span.traceState = serializeW3CTraceState(state);
    },
  };
}

/** A span's randomness and carrier in the given mode. */
export function spanRandomness(mode: Mode, span: Span): Found {
  const parsed = parseW3CTraceState(span.traceState);
  if (mode.kind === "never") {
    return {
      rnd: { value: ALL_PROBABILITIES_RANDOMNESS, policy: "sampling_priority" },
      carrier: spanCarrier(span, parsed.state),
      error: parsed.ok ? undefined : parsed.error,
    };
  }
  if (mode.kind === "hash") {
    const rnd = isEmptyId(span.traceId)
      ? MISSING
      : { value: randomnessFromBytes(span.traceId, mode.seed), policy: "trace_id_hash" };
    if (!parsed.ok) return { rnd, carrier: undefined, error: parsed.error };
    const carrier = spanCarrier(span, parsed.state);
    if (carrier.randomness() !== undefined) {
      return { rnd, carrier: undefined, error: new SamplerError(RANDOMNESS_IN_USE) };
    }
    if (carrier.threshold() !== undefined) {
      return { rnd, carrier: undefined, error: new SamplerError(THRESHOLD_IN_USE) };
    }
    carrier.setRandomness(rnd.value);
    return { rnd, carrier, error: undefined };
  }
  if (!parsed.ok) return { rnd: MISSING, carrier: undefined, error: parsed.error };
  const carrier = spanCarrier(span, parsed.state);
  const rv = carrier.randomness();
  if (rv !== undefined) {
    return { rnd: { value: rv, policy: "sampling_randomness" }, carrier, error: undefined };
  }
  if (!isEmptyId(span.traceId)) {
    return {
      rnd: { value: traceIdToRandomness(span.traceId), policy: "trace_id_w3c" },
      carrier,
      error: undefined,
    };
  }
  return { rnd: MISSING, carrier, error: undefined };
}

/** Go's `strconv.ParseFloat` syntax (decimal, exponent, inf, nan; no surrounding space). */
const GO_FLOAT = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf(?:inity)?|nan)$/i;

/** The span's `sampling.priority`: 0 means never, positive means always, else no override. */
export function spanPriority(span: Span): "never" | "always" | undefined {
  const i = indexOfAttribute(span.attributes, "sampling.priority");
  if (i < 0) return undefined;
  const v = span.attributes[i]!.value;
  let n: number | undefined;
  if (typeof v === "bigint") n = v === 0n ? 0 : v > 0n ? 1 : -1;
  else if (typeof v === "number") n = v;
  else if (typeof v === "string" && GO_FLOAT.test(v)) {
    const lower = v.toLowerCase().replace(/^\+/, "");
    n = lower.includes("nan")
      ? NaN
      : lower.includes("inf")
      ? (lower.startsWith("-") ? -Infinity : Infinity)
      : Number(v);
  }
  if (n === undefined || Number.isNaN(n)) return undefined;
  if (n === 0) return "never";
  return n > 0 ? "always" : undefined;
}

function stringAttribute(attrs: readonly KeyValue[], key: string): string {
  const i = indexOfAttribute(attrs, key);
  if (i < 0) return "";
  const v = attrs[i]!.value;
  return typeof v === "string" ? v : "";
}

function removeAttribute(attrs: KeyValue[], key: string): void {
  const i = indexOfAttribute(attrs, key);
  if (i >= 0) attrs.splice(i, 1);
}

/** A log record's carrier; a bad `sampling.threshold` or `sampling.randomness` is an error. */
function recordCarrier(record: LogRecord): { carrier: Carrier; error: Error | undefined } {
  let tvalue = "";
  let threshold = 0n;
  let rvalue = "";
  let randomness = 0n;
  let error: Error | undefined;
  const tv = stringAttribute(record.attributes, "sampling.threshold");
  if (tv !== "") {
    try {
      threshold = tValueToThreshold(tv);
      tvalue = tv;
    } catch (e) {
      error = e as SamplingValueError;
    }
  }
  const rv = stringAttribute(record.attributes, "sampling.randomness");
  if (rv !== "") {
    try {
      randomness = rValueToRandomness(rv);
      rvalue = rv;
    } catch (e) {
      error ??= e as SamplingValueError;
    }
  }
  const carrier: Carrier = {
    threshold: () => (tvalue === "" ? undefined : threshold),
    randomness: () => (rvalue === "" ? undefined : randomness),
    setRandomness: (rnd) => {
      randomness = rnd;
      rvalue = randomnessToRValue(rnd);
      setAttribute(record.attributes, "sampling.randomness", rvalue);
    },
    clearThreshold: () => {
      tvalue = "";
      threshold = 0n;
      removeAttribute(record.attributes, "sampling.threshold");
    },
    updateThreshold: (th) => {
      if (tvalue !== "" && th < threshold) return false;
      setAttribute(record.attributes, "sampling.threshold", thresholdToTValue(th));
      return true;
    },
    reserialize: () => {},
  };
  return { carrier, error };
}

function attributeBytes(v: AnyValue): Uint8Array {
  if (v instanceof Uint8Array) return v;
  return new TextEncoder().encode(valueAsString(v));
}

/** What the logs side of the config says about randomness sources. */
export interface LogSource {
  /** The trace ID is the first source (`attribute_source: traceID`). */
  traceId: boolean;
  /** The attribute hashed otherwise (`from_attribute`). */
  fromAttribute: string;
}

/** A log record's randomness and carrier in the given mode. */
export function recordRandomness(mode: Mode, record: LogRecord, source: LogSource): Found {
  const { carrier, error } = recordCarrier(record);
  if (mode.kind === "never") {
    return {
      rnd: { value: ALL_PROBABILITIES_RANDOMNESS, policy: "sampling_priority" },
      carrier,
      error,
    };
  }
  if (mode.kind === "hash") {
    let rnd = MISSING;
    if (source.traceId && !isEmptyId(record.traceId)) {
      rnd = { value: randomnessFromBytes(record.traceId, mode.seed), policy: "trace_id_hash" };
    }
    if (rnd === MISSING && source.fromAttribute !== "") {
      const i = indexOfAttribute(record.attributes, source.fromAttribute);
      if (i >= 0) {
        const bytes = attributeBytes(record.attributes[i]!.value);
        if (bytes.length > 0) {
          rnd = { value: randomnessFromBytes(bytes, mode.seed), policy: source.fromAttribute };
        }
      }
    }
    if (error !== undefined) return { rnd, carrier: undefined, error };
    if (carrier.randomness() !== undefined) {
      return { rnd, carrier: undefined, error: new SamplerError(RANDOMNESS_IN_USE) };
    }
    if (carrier.threshold() !== undefined) {
      return { rnd, carrier: undefined, error: new SamplerError(THRESHOLD_IN_USE) };
    }
    if (rnd !== MISSING) carrier.setRandomness(rnd.value);
    return { rnd, carrier, error: undefined };
  }
  if (error !== undefined) return { rnd: MISSING, carrier: undefined, error };
  const rv = carrier.randomness();
  if (rv !== undefined) {
    return { rnd: { value: rv, policy: "sampling_randomness" }, carrier, error };
  }
  if (!isEmptyId(record.traceId)) {
    return {
      rnd: { value: traceIdToRandomness(record.traceId), policy: "trace_id_w3c" },
      carrier,
      error,
    };
  }
  return { rnd: MISSING, carrier, error };
}
