/**
 * The sampling policies, each an evaluator over one trace's spans with the contrib Collector's
 * (v0.161) semantics: which spans and resources a policy looks at, how it reads attribute values
 * (a wrong-typed value reads as the type's zero value, as pdata's accessors return), and how the
 * `and`, `not`, `drop` and `composite` policies combine their sub-policies.
 *
 * Every evaluator also says whether it is `stateful` (its answer depends on what it answered
 * before: rate and byte limits, composite budgets) and whether it is `monotone` (once it samples a
 * trace, more spans of that trace cannot change that), which the early decision relies on.
 *
 * @module
 */
import type { Clock } from "../../../lib/clock.ts";
import { indexOfAttribute } from "../../../lib/pdata/attributes.ts";
import type {
  AnyValue,
  KeyValue,
  Resource,
  ResourceSpans,
  Span,
} from "../../../lib/pdata/types.ts";
import { goTracesSize } from "./_proto_size.ts";
import { createErrorHandler } from "../../../lib/ottl/error_mode.ts";
import { compileConditions, newTransformContext } from "../../../lib/ottl/mod.ts";
import { compileBoundedRegex } from "../../../lib/ottl/regex.ts";
import { fnv1a64Into, fnv64Limbs } from "../../../lib/sampling/fnv.ts";
import { parseTraceStateMembers } from "../../../lib/sampling/tracestate.ts";
import type { Logger } from "../../../lib/telemetry/logger.ts";
import type { PolicyConfig } from "./config.ts";
import { tokenBucket } from "./_limiter.ts";
import { Lru } from "./_lru.ts";
import type { LightSpans } from "./_encoded.ts";

/** A policy's vote, numbered as the Collector numbers them. */
export const Decision = {
  Unspecified: 0,
  Pending: 1,
  Sampled: 2,
  NotSampled: 3,
  Dropped: 4,
  Error: 5,
  InvertSampled: 6,
  InvertNotSampled: 7,
} as const;
/** One of {@linkcode Decision}. */
export type Decision = (typeof Decision)[keyof typeof Decision];

/** What a policy sees of a trace. */
export interface TraceData {
  readonly id: Uint8Array;
  /**
   * The trace's spans as they arrived, one resource entry per arrival and resource; decoded on
   * first use (policies that read attributes use it).
   */
  readonly batches: ResourceSpans[];
  /** Start, end, status and flags of every span, in the same order, without decoding. */
  readonly light: readonly LightSpans[];
  readonly spanCount: number;
}

function anyLight(t: TraceData, check: (l: LightSpans, i: number) => boolean): boolean {
  for (const l of t.light) for (let i = 0; i < l.count; i++) if (check(l, i)) return true;
  return false;
}

/** A built policy. Throwing from `evaluate` is an evaluation error. */
export interface Evaluator {
  evaluate(trace: TraceData): Decision;
  readonly stateful: boolean;
  readonly monotone: boolean;
}

/** What evaluators need from the processor. */
export interface PolicyDeps {
  readonly clock: Clock;
  readonly logger: Logger;
}

const S = Decision.Sampled;
const N = Decision.NotSampled;

function attr(attrs: readonly KeyValue[], key: string): { v: AnyValue } | undefined {
  const i = indexOfAttribute(attrs, key);
  return i < 0 ? undefined : { v: attrs[i]!.value };
}
const asInt = (v: AnyValue): bigint => (typeof v === "bigint" ? v : 0n);
const asStr = (v: AnyValue): string => (typeof v === "string" ? v : "");
const asBool = (v: AnyValue): boolean => (typeof v === "boolean" ? v : false);

function anySpan(batches: readonly ResourceSpans[], check: (span: Span) => boolean): boolean {
  for (const rs of batches) {
    for (const ss of rs.scopeSpans) for (const span of ss.spans) if (check(span)) return true;
  }
  return false;
}

/** Sampled when a resource or a span satisfies the condition. */
function resourceOrSpan(
  t: TraceData,
  res: (r: Resource) => boolean,
  span: (s: Span) => boolean,
): Decision {
  for (const rs of t.batches) {
    if (res(rs.resource)) return S;
    for (const ss of rs.scopeSpans) for (const s of ss.spans) if (span(s)) return S;
  }
  return N;
}

/** Sampled when every resource and every span satisfies the (inverted) condition. */
function everyResourceAndSpan(
  t: TraceData,
  res: (r: Resource) => boolean,
  span: (s: Span) => boolean,
): Decision {
  for (const rs of t.batches) {
    if (!res(rs.resource)) return N;
    for (const ss of rs.scopeSpans) for (const s of ss.spans) if (!span(s)) return N;
  }
  return S;
}

/** An attribute condition on resources and spans, inverted with `invert_match`. */
function attributeFilter(
  invert: boolean,
  match: (v: AnyValue, onSpan: boolean) => boolean,
  key: string,
): Evaluator {
  if (invert) {
    const test = (attrs: readonly KeyValue[], onSpan: boolean) => {
      const a = attr(attrs, key);
      return a === undefined || !match(a.v, onSpan);
    };
    return {
      evaluate: (t) =>
        everyResourceAndSpan(t, (r) => test(r.attributes, false), (s) => test(s.attributes, true)),
      stateful: false,
      monotone: false,
    };
  }
  const test = (attrs: readonly KeyValue[], onSpan: boolean) => {
    const a = attr(attrs, key);
    return a !== undefined && match(a.v, onSpan);
  };
  return {
    evaluate: (t) =>
      resourceOrSpan(t, (r) => test(r.attributes, false), (s) => test(s.attributes, true)),
    stateful: false,
    monotone: true,
  };
}

function latencyPolicy(thresholdMs: number, upperMs: number): Evaluator {
  const lower = BigInt(thresholdMs);
  const upper = BigInt(upperMs);
  const running = (t: TraceData): boolean => {
    let min = 0n;
    let max = 0n;
    return anyLight(t, (l, i) => {
      const s = l.start[i]!;
      const e = l.end[i]!;
      if (min === 0n || s < min) min = s;
      if (max === 0n || e > max) max = e;
      // Go's int64 nanoseconds between the two, truncated to milliseconds
      const ms = BigInt.asIntN(64, max - min) / 1_000_000n;
      return upperMs === 0 ? ms > lower : lower < ms && ms <= upper;
    });
  };
  if (upperMs === 0 && thresholdMs >= 0) {
    // The running duration only grows, so "some prefix is over the threshold" is "the whole is".
    const over = (lower + 1n) * 1_000_000n;
    return {
      evaluate(t) {
        let min = 0n;
        let max = 0n;
        let any = false;
        for (const l of t.light) {
          for (let i = 0; i < l.count; i++) {
            const s = l.start[i]!;
            const e = l.end[i]!;
            // A zero timestamp restarts the Collector's running minimum: take its exact path.
            if (s === 0n || e === 0n) return running(t) ? S : N;
            any = true;
            if (min === 0n || s < min) min = s;
            if (max === 0n || e > max) max = e;
          }
        }
        const d = BigInt.asIntN(64, max - min);
        return any && d >= over ? S : N;
      },
      stateful: false,
      monotone: true,
    };
  }
  return {
    evaluate: (t) => (running(t) ? S : N),
    stateful: upperMs > 0,
    monotone: upperMs === 0,
  };
}

const MAX_UINT64 = (1n << 64n) - 1n;

/**
 * `MaxUint64 × ratio` as Go's `big.Float` computes it for the probabilistic policy: the product
 * rounded to 64 significant bits (to nearest, ties to even), then truncated to an integer.
 */
export function probabilisticThreshold(ratio: number): bigint {
  if (!(ratio > 0)) return 0n;
  if (!Number.isFinite(ratio)) return MAX_UINT64;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, ratio);
  const bits = view.getBigUint64(0);
  const biased = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  const mantissa = biased === 0 ? fraction : fraction | (1n << 52n);
  let exp = (biased === 0 ? 1 : biased) - 1075;
  let product = MAX_UINT64 * mantissa;
  const length = product.toString(2).length;
  if (length > 64) {
    const shift = BigInt(length - 64);
    let q = product >> shift;
    const rem = product & ((1n << shift) - 1n);
    const half = 1n << (shift - 1n);
    if (rem > half || (rem === half && (q & 1n) === 1n)) q += 1n;
    product = q;
    exp += Number(shift);
  }
  const value = exp >= 0 ? product << BigInt(exp) : product >> BigInt(-exp);
  return value > MAX_UINT64 ? MAX_UINT64 : value;
}

function probabilisticPolicy(salt: string, percentage: number): Evaluator {
  const saltBytes = new TextEncoder().encode(salt === "" ? "default-hash-seed" : salt);
  const threshold = fnv64Limbs(probabilisticThreshold(percentage / 100));
  const hash: number[] = [0, 0, 0, 0];
  return {
    evaluate(t) {
      fnv1a64Into(hash, saltBytes, t.id);
      for (let i = 3; i >= 0; i--) {
        if (hash[i]! !== threshold[i]!) return hash[i]! < threshold[i]! ? S : N;
      }
      return S;
    },
    stateful: false,
    monotone: true,
  };
}

/** A Go regular expression as a JavaScript one (a leading `(?i)` etc. becomes flags). */
function goRegex(pattern: string): RegExp {
  const m = /^\(\?([imsU]+)\)/.exec(pattern);
  let flags = "";
  if (m !== null) {
    for (const f of m[1]!) if (f === "i" || f === "m" || f === "s") flags += f;
    pattern = pattern.slice(m[0].length);
  }
  return compileBoundedRegex(pattern, flags);
}

function stringPolicy(c: NonNullable<PolicyConfig["string_attribute"]>): Evaluator {
  let matcher: (s: string) => boolean;
  if (c.enabled_regex_matching) {
    const cache = new Lru<string, boolean>(c.cache_max_size <= 0 ? 128 : c.cache_max_size);
    const regexes = c.values.map(goRegex);
    matcher = (s) => {
      const hit = cache.get(s);
      if (hit !== undefined) return hit;
      const r = regexes.some((re) => re.test(s));
      cache.set(s, r);
      return r;
    };
  } else {
    const set = new Set(c.values.filter((v) => v !== ""));
    matcher = (s) => set.has(s);
  }
  return attributeFilter(c.invert_match, (v, onSpan) => {
    const s = asStr(v);
    // The Collector skips empty span values (not resource ones) before matching.
    if (onSpan && s === "") return false;
    return matcher(s);
  }, c.key);
}

function traceStatePolicy(c: NonNullable<PolicyConfig["trace_state"]>): Evaluator {
  const set = new Set(c.values.filter((v) => v !== "" && c.key.length + v.length < 256));
  return {
    evaluate: (t) =>
      anySpan(t.batches, (span) => {
          const members = parseTraceStateMembers(span.traceState);
          if (members === undefined) return false;
          const m = members.find((kv) => kv.key === c.key);
          return set.has(m?.value ?? "");
        })
        ? S
        : N,
    stateful: false,
    monotone: true,
  };
}

function ottlPolicy(c: NonNullable<PolicyConfig["ottl_condition"]>, deps: PolicyDeps): Evaluator {
  const compile = (texts: string[], context: "span" | "spanevent") => {
    if (texts.length === 0) return undefined;
    const r = compileConditions(texts, { signal: "traces", context });
    if (!r.ok) throw new Error(`Invalid OTTL condition: ${r.issues[0]!.message}`);
    return r.items;
  };
  const spanConds = compile(c.span, "span");
  const eventConds = compile(c.spanevent, "spanevent");
  const handle = createErrorHandler(c.error_mode, { logger: deps.logger });
  const ctx = newTransformContext();
  const any = (conds: NonNullable<typeof spanConds>) => {
    for (const cond of conds) {
      try {
        if (cond.evaluate(ctx)) return true;
      } catch (error) {
        handle(error, cond.text); // throws under `propagate`: an evaluation error
      }
    }
    return false;
  };
  return {
    evaluate(t) {
      for (const rs of t.batches) {
        ctx.resource = rs.resource;
        ctx.resourceHolder = rs;
        for (const ss of rs.scopeSpans) {
          ctx.scope = ss.scope;
          ctx.scopeHolder = ss;
          for (const span of ss.spans) {
            ctx.span = span;
            ctx.event = undefined;
            ctx.cache = undefined;
            if (spanConds !== undefined && any(spanConds)) return S;
            if (eventConds !== undefined) {
              for (const [i, event] of span.events.entries()) {
                ctx.event = event;
                ctx.eventIndex = i;
                ctx.cache = undefined;
                if (any(eventConds)) return S;
              }
            }
          }
        }
      }
      return N;
    },
    stateful: false,
    monotone: true,
  };
}

/** Builds the evaluator of a policy of a shared type, or of `and` / `not` / `drop` / `composite`. */
export function buildEvaluator(p: PolicyConfig, deps: PolicyDeps): Evaluator {
  switch (p.type) {
    case "always_sample":
      return { evaluate: () => S, stateful: false, monotone: true };
    case "latency":
      return latencyPolicy(p.latency?.threshold_ms ?? 0, p.latency?.upper_threshold_ms ?? 0);
    case "numeric_attribute": {
      const c = p.numeric_attribute!;
      const min = c.min_value !== 0 ? BigInt(c.min_value) : -(1n << 63n);
      const max = c.max_value !== 0 ? BigInt(c.max_value) : (1n << 63n) - 1n;
      return attributeFilter(c.invert_match, (v) => {
        const n = asInt(v);
        return n >= min && n <= max;
      }, c.key);
    }
    case "probabilistic":
      return probabilisticPolicy(
        p.probabilistic?.hash_salt ?? "",
        p.probabilistic?.sampling_percentage ?? 0,
      );
    case "status_code": {
      const codes = new Set(
        p.status_code!.status_codes.map((c) => ({ UNSET: 0, OK: 1, ERROR: 2 })[c]),
      );
      return {
        evaluate: (t) => (anyLight(t, (l, i) => codes.has(l.code[i]! as 0 | 1 | 2)) ? S : N),
        stateful: false,
        monotone: true,
      };
    }
    case "string_attribute":
      return stringPolicy(p.string_attribute!);
    case "boolean_attribute": {
      const c = p.boolean_attribute!;
      return attributeFilter(c.invert_match, (v) => asBool(v) === c.value, c.key);
    }
    case "rate_limiting": {
      const c = p.rate_limiting ?? { spans_per_second: 0, burst_capacity: 0 };
      const burst = c.burst_capacity > 0 ? c.burst_capacity : c.spans_per_second * 2;
      const bucket = tokenBucket(c.spans_per_second, burst, deps.clock);
      return {
        evaluate: (t) => (bucket.allow(t.spanCount) ? S : N),
        stateful: true,
        monotone: false,
      };
    }
    case "bytes_limiting": {
      const c = p.bytes_limiting ?? { bytes_per_second: 0, burst_capacity: 0 };
      const burst = c.burst_capacity > 0 ? c.burst_capacity : c.bytes_per_second * 2;
      const bucket = tokenBucket(c.bytes_per_second, burst, deps.clock);
      return {
        evaluate: (t) => (bucket.allow(goTracesSize(t.batches)) ? S : N),
        stateful: true,
        monotone: false,
      };
    }
    case "span_count": {
      const min = p.span_count?.min_spans ?? 0;
      const max = p.span_count?.max_spans ?? 0;
      return {
        evaluate: (t) =>
          (max === 0 && t.spanCount >= min) || (t.spanCount >= min && t.spanCount <= max) ? S : N,
        stateful: max > 0,
        monotone: max === 0,
      };
    }
    case "trace_state":
      return traceStatePolicy(p.trace_state!);
    case "trace_flags":
      return {
        evaluate: (t) => (anyLight(t, (l, i) => (l.flags[i]! & 0x01) !== 0) ? S : N),
        stateful: false,
        monotone: true,
      };
    case "ottl_condition":
      return ottlPolicy(p.ottl_condition!, deps);
    case "and":
      return andPolicy((p.and?.and_sub_policy ?? []).map((s) => buildEvaluator(s, deps)));
    case "not": {
      const sub = buildEvaluator(p.not!.not_sub_policy, deps);
      return {
        evaluate(t) {
          const d = sub.evaluate(t);
          return d === S ? N : d === N ? S : d;
        },
        stateful: sub.stateful,
        monotone: false,
      };
    }
    case "drop": {
      const subs = (p.drop?.drop_sub_policy ?? []).map((s) => buildEvaluator(s, deps));
      return {
        evaluate(t) {
          for (const sub of subs) {
            const d = sub.evaluate(t);
            if (d === N || d === Decision.InvertNotSampled) return N;
          }
          return Decision.Dropped;
        },
        stateful: subs.some((s) => s.stateful),
        monotone: false,
      };
    }
    case "composite":
      return compositePolicy(p.composite!, deps);
    default:
      throw new Error(`unknown sampling policy type ${p.type}`);
  }
}

function andPolicy(subs: Evaluator[]): Evaluator {
  return {
    evaluate(t) {
      for (const sub of subs) {
        const d = sub.evaluate(t);
        if (d === N || d === Decision.InvertNotSampled) return N;
      }
      return S;
    },
    stateful: subs.some((s) => s.stateful),
    monotone: subs.every((s) => s.monotone),
  };
}

function compositePolicy(c: NonNullable<PolicyConfig["composite"]>, deps: PolicyDeps): Evaluator {
  const max = c.max_total_spans_per_second;
  const subs = c.composite_sub_policy;
  const percent = new Map(c.rate_allocation.map((r) => [r.policy, r.percent]));
  const items = subs.map((s) => {
    const pct = percent.get(s.name);
    // Go converts the float64 allocation to int64, truncating.
    const allocated = Math.trunc(
      pct !== undefined && pct > 0 ? (pct / 100) * max : max / subs.length,
    );
    return { evaluator: buildEvaluator(s, deps), allocated, sampled: 0 };
  });
  let second = Number.NaN;
  return {
    evaluate(t) {
      const now = Math.floor(deps.clock.now() / 1000);
      if (now !== second) {
        second = now;
        for (const item of items) item.sampled = 0;
      }
      for (const item of items) {
        const d = item.evaluator.evaluate(t);
        if (d === S || d === Decision.InvertSampled) {
          const next = item.sampled + t.spanCount;
          if (next <= item.allocated && next <= max) {
            item.sampled = next;
            return S;
          }
          return N;
        }
      }
      return N;
    },
    stateful: true,
    monotone: false,
  };
}
