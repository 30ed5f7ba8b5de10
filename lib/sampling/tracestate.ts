/**
 * W3C `tracestate` and its OpenTelemetry member (`ot=rv:…;th:…`), parsed and written as the
 * contrib `pkg/sampling` does: the `ot` member's `rv` (randomness) and `th` (threshold) are
 * read out, every other member and `ot` field is kept in order, and serializing writes `ot`
 * first (`rv`, then `th`, then the other fields), then the other members.
 *
 * @module
 */
import { rValueToRandomness, SamplingValueError, tValueToThreshold } from "./threshold.ts";
import { thresholdToTValue } from "./threshold.ts";
import { randomnessToRValue } from "./threshold.ts";

/** One key/value pair of a tracestate list. */
export interface TraceStateKV {
  key: string;
  value: string;
}

/** The OpenTelemetry (`ot`) member of a tracestate. */
export interface OTelTraceState {
  /** The `rv` text; "" when absent. */
  rvalue: string;
  randomness: bigint;
  /** The `th` text; "" when absent. */
  tvalue: string;
  threshold: bigint;
  extra: TraceStateKV[];
}

/** A parsed W3C tracestate. */
export interface W3CTraceState {
  otel: OTelTraceState;
  extra: TraceStateKV[];
}

const MAX_MEMBERS = 32;
const MAX_W3C_LENGTH = 1024;
const MAX_OTEL_LENGTH = 256;

function isLcAlpha(c: number): boolean {
  return c >= 0x61 && c <= 0x7a;
}
function isLcAlphaNum(c: number): boolean {
  return isLcAlpha(c) || (c >= 0x30 && c <= 0x39);
}
function isKeyChar(c: number): boolean {
  return isLcAlphaNum(c) || c === 0x5f || c === 0x2d || c === 0x2a || c === 0x2f;
}
function keyChars(s: string, from: number): boolean {
  for (let i = from; i < s.length; i++) if (!isKeyChar(s.charCodeAt(i))) return false;
  return true;
}
function isNonBlankValueChar(c: number): boolean {
  return (c >= 0x21 && c <= 0x2b) || (c >= 0x2d && c <= 0x3c) || (c >= 0x3e && c <= 0x7e);
}

function validW3CKey(key: string): boolean {
  if (key === "") return false;
  const at = key.indexOf("@");
  if (at >= 0) {
    const tenant = key.slice(0, at);
    const system = key.slice(at + 1);
    if (tenant === "" || system === "") return false;
    if (!isLcAlphaNum(tenant.charCodeAt(0)) || !isLcAlpha(system.charCodeAt(0))) return false;
    return keyChars(tenant, 1) && keyChars(system, 1);
  }
  return isLcAlpha(key.charCodeAt(0)) && keyChars(key, 1);
}

function validW3CValue(value: string): boolean {
  if (value === "" || value.length > 256) return false;
  if (!isNonBlankValueChar(value.charCodeAt(value.length - 1))) return false;
  for (let i = 0; i < value.length - 1; i++) {
    const c = value.charCodeAt(i);
    if (c !== 0x20 && !isNonBlankValueChar(c)) return false;
  }
  return true;
}

function trimOws(s: string): string {
  return s.replace(/^[ \t]+|[ \t]+$/g, "");
}

function validW3C(input: string): boolean {
  for (const raw of input.split(",")) {
    const member = trimOws(raw);
    if (member === "") continue;
    const eq = member.indexOf("=");
    if (eq < 1) return false;
    if (!validW3CKey(member.slice(0, eq)) || !validW3CValue(member.slice(eq + 1))) return false;
  }
  return true;
}

function validOTelValue(v: string): boolean {
  return /^[a-zA-Z0-9._-]*$/.test(v);
}

function validOTel(input: string): boolean {
  if (input === "" || input.endsWith(";")) return false;
  for (const member of input.split(";")) {
    if (member === "") return false;
    const colon = member.indexOf(":");
    if (colon < 1) return false;
    const key = member.slice(0, colon);
    if (!isLcAlpha(key.charCodeAt(0))) return false;
    for (let i = 1; i < key.length; i++) if (!isLcAlphaNum(key.charCodeAt(i))) return false;
    if (!validOTelValue(member.slice(colon + 1))) return false;
  }
  return true;
}

/** An empty OpenTelemetry member. */
function emptyOTel(): OTelTraceState {
  return { rvalue: "", randomness: 0n, tvalue: "", threshold: 0n, extra: [] };
}

/**
 * Parses the `ot` member's value. Throws {@linkcode SamplingValueError} on bad syntax; a bad
 * `rv` or `th` is left unset and reported after the rest was read.
 */
export function parseOTelTraceState(input: string): OTelTraceState {
  const ot = emptyOTel();
  if (input.length > MAX_OTEL_LENGTH) throw new SamplingValueError("invalid tracestate size");
  if (!validOTel(input)) throw new SamplingValueError("invalid syntax");
  let failure: SamplingValueError | undefined;
  for (const member of input.split(";")) {
    if (member === "") continue;
    const colon = member.indexOf(":");
    if (colon < 0) continue;
    const key = member.slice(0, colon);
    const value = member.slice(colon + 1);
    try {
      if (key === "rv") {
        ot.rvalue = "";
        ot.randomness = 0n;
        ot.randomness = rValueToRandomness(value);
        ot.rvalue = value;
      } else if (key === "th") {
        ot.tvalue = "";
        ot.threshold = 0n;
        ot.threshold = tValueToThreshold(value);
        ot.tvalue = value;
      } else {
        ot.extra.push({ key, value });
      }
    } catch (error) {
      failure ??= error as SamplingValueError;
    }
  }
  if (failure !== undefined) throw Object.assign(failure, { partial: ot });
  return ot;
}

/**
 * The outcome of parsing a tracestate: the parsed state, or why it could not be parsed with what
 * was read before (empty on a syntax error), which the Collector still writes back in places.
 */
export type TraceStateResult =
  | { ok: true; state: W3CTraceState }
  | { ok: false; error: SamplingValueError; state: W3CTraceState };

/** Parses a W3C tracestate with its OpenTelemetry member. */
export function parseW3CTraceState(input: string): TraceStateResult {
  const state: W3CTraceState = { otel: emptyOTel(), extra: [] };
  if (input === "") return { ok: true, state };
  if (input.length > MAX_W3C_LENGTH) {
    return { ok: false, error: new SamplingValueError("invalid tracestate size"), state };
  }
  if (!validW3C(input)) {
    return { ok: false, error: new SamplingValueError("invalid syntax"), state };
  }
  let failure: SamplingValueError | undefined;
  let items = 0;
  let rest = input;
  while (rest !== "") {
    items++;
    if (items >= MAX_MEMBERS) {
      return { ok: false, error: new SamplingValueError("invalid tracestate size"), state };
    }
    const sep = rest.indexOf(",");
    const raw = sep < 0 ? rest : rest.slice(0, sep);
    rest = sep < 0 ? "" : rest.slice(sep + 1);
    const member = trimOws(raw);
    if (member === "") continue;
    const eq = member.indexOf("=");
    if (eq < 0) continue;
    const key = member.slice(0, eq);
    const value = member.slice(eq + 1);
    if (key.length > 256) {
      failure ??= new SamplingValueError("invalid tracestate size");
      continue;
    }
    const at = key.indexOf("@");
    if (at >= 0 && (at > 241 || key.length - at - 1 > 14)) {
      failure ??= new SamplingValueError("invalid tracestate size");
      continue;
    }
    if (key === "ot") {
      try {
        state.otel = parseOTelTraceState(value);
      } catch (error) {
        const partial = (error as { partial?: OTelTraceState }).partial;
        state.otel = partial ?? emptyOTel();
        failure ??= error as SamplingValueError;
      }
    } else {
      state.extra.push({ key, value });
    }
  }
  return failure === undefined ? { ok: true, state } : { ok: false, error: failure, state };
}

/** True when the OpenTelemetry member has anything to write. */
function otelHasValue(ot: OTelTraceState): boolean {
  return ot.rvalue !== "" || ot.tvalue !== "" || ot.extra.length > 0;
}

/** Writes a tracestate back: `ot` first, then the other members in their order. */
export function serializeW3CTraceState(state: W3CTraceState): string {
  const members: string[] = [];
  const ot = state.otel;
  if (otelHasValue(ot)) {
    const fields: string[] = [];
    if (ot.rvalue !== "") fields.push(`rv:${ot.rvalue}`);
    if (ot.tvalue !== "") fields.push(`th:${ot.tvalue}`);
    for (const kv of ot.extra) fields.push(`${kv.key}:${kv.value}`);
    members.push(`ot=${fields.join(";")}`);
  }
  for (const kv of state.extra) members.push(`${kv.key}=${kv.value}`);
  return members.join(",");
}

/** Sets the randomness (`rv`). */
export function setRandomness(ot: OTelTraceState, rnd: bigint): void {
  ot.randomness = rnd;
  ot.rvalue = randomnessToRValue(rnd);
}

/**
 * Records that the item was sampled at `threshold`; refuses (returns false) to raise an
 * existing, stricter threshold's probability, as the specification requires.
 */
export function updateThreshold(ot: OTelTraceState, threshold: bigint): boolean {
  if (ot.tvalue !== "" && ot.threshold > threshold) return false;
  ot.threshold = threshold;
  ot.tvalue = thresholdToTValue(threshold);
  return true;
}

/** Removes the threshold (`th`). */
export function clearThreshold(ot: OTelTraceState): void {
  ot.tvalue = "";
  ot.threshold = 0n;
}

const W3C_KEY =
  /^(?:[a-z][a-z0-9_\-*/]{0,255}|[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13})$/;
const W3C_VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

/**
 * The members of a tracestate as OpenTelemetry Go's `trace.ParseTraceState` accepts them (every
 * member valid, at most 32, no key twice), or `undefined` when it would refuse the string.
 */
export function parseTraceStateMembers(input: string): TraceStateKV[] | undefined {
  const members: TraceStateKV[] = [];
  if (input === "") return members;
  const seen = new Set<string>();
  for (const raw of input.split(",")) {
    const member = trimOws(raw);
    if (member === "") continue;
    const eq = member.indexOf("=");
    if (eq < 0) return undefined;
    const key = member.slice(0, eq);
    const value = member.slice(eq + 1);
    if (!W3C_KEY.test(key) || !W3C_VALUE.test(value) || seen.has(key)) return undefined;
    seen.add(key);
    members.push({ key, value });
    if (members.length > MAX_MEMBERS) return undefined;
  }
  return members;
}
