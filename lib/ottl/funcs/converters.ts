/**
 * The OTTL converters of `ottlfuncs` that tfo offers: type conversion and checks, strings,
 * hashing, parsing, formatting, time, IDs and map helpers.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { AnyValue, KeyValue } from "../../pdata/types.ts";
import { OttlRuntimeError } from "../errors.ts";
import type { FunctionDef } from "../function_types.ts";
import type { Getter } from "../paths.ts";
import { checkRegexInput } from "../regex.ts";
import { captureGroups } from "../../processing/regex.ts";
import {
  copyValue,
  hex,
  isMap,
  MAX_VALUE_DEPTH,
  OttlDuration,
  OttlId,
  OttlTime,
  stringLike,
  typeName,
  type Value,
} from "../values.ts";
import { getter, mapOf, pattern, sprintf, stringOf, testRegex } from "./_util.ts";
import { layoutError, parseGoDuration, parseTime, zoneError } from "./_time.ts";

const targetG = { name: "target", kind: "getter" } as const;

/** A one-argument converter over the evaluated value. */
function unary(name: string, argName: string, f: (v: Value) => Value): FunctionDef {
  return {
    name,
    params: [{ name: argName, kind: "getter" }],
    create(args) {
      const g = getter(args, 0);
      return (ctx) => f(g(ctx));
    },
  };
}

/**
 * A conversion whose literal string argument is converted when the statement compiles, as the
 * Collector does: a literal that cannot convert is a compile error.
 */
function conversion(name: string, f: (v: Value) => Value, parse: string): FunctionDef {
  return {
    name,
    params: [{ name: "value", kind: "getter" }],
    create(args, env) {
      const lit = env.literal(0);
      if (typeof lit === "string") {
        try {
          f(lit);
        } catch {
          env.fail(`strconv.${parse}: parsing "${lit}": invalid syntax`, 0);
        }
      }
      const g = getter(args, 0);
      return (ctx) => f(g(ctx));
    },
  };
}

/** A one-argument converter that needs a string (nil or another type is an error). */
function onString(name: string, f: (s: string) => Value, argName = "target"): FunctionDef {
  return unary(name, argName, (v) => {
    const s = stringOf(v, argName);
    if (s === undefined) throw new OttlRuntimeError(`${name}: expected a string but got nil`);
    return f(s);
  });
}

// ---------------------------------------------------------------------------------------------
// Type conversion and checks

function toDouble(v: Value): Value {
  switch (typeof v) {
    case "number":
      return v;
    case "bigint":
      return Number(v);
    case "boolean":
      return v ? 1 : 0;
    case "string": {
      const t = v.trim() === v ? v : "";
      if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(inf|infinity|nan)$/i.test(t)) {
        throw new OttlRuntimeError(`strconv.ParseFloat: parsing "${v}": invalid syntax`);
      }
      return /inf/i.test(t) ? (t.startsWith("-") ? -Infinity : Infinity) : Number(t);
    }
  }
  return undefined;
}

function toInt(v: Value): Value {
  switch (typeof v) {
    case "bigint":
      return v;
    case "number":
      if (!Number.isFinite(v)) return undefined;
      return BigInt.asIntN(64, BigInt(Math.trunc(v)));
    case "boolean":
      return v ? 1n : 0n;
    case "string": {
      const n = /^[+-]?\d+$/.test(v) ? BigInt(v) : undefined;
      if (n === undefined || n !== BigInt.asIntN(64, n)) {
        throw new OttlRuntimeError(`strconv.ParseInt: parsing "${v}": invalid syntax`);
      }
      return n;
    }
  }
  return undefined;
}

function toBool(v: Value): Value {
  switch (typeof v) {
    case "boolean":
      return v;
    case "bigint":
      return v !== 0n;
    case "number":
      return v !== 0;
    case "string":
      if (["1", "t", "T", "TRUE", "true", "True"].includes(v)) return true;
      if (["0", "f", "F", "FALSE", "false", "False"].includes(v)) return false;
      return undefined;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Case conversion (iancoleman/strcase rules, as ConvertCase)

function words(s: string): string[] {
  const out: string[] = [];
  let cur = "";
  const chars = [...s];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === " " || c === "_" || c === "-" || c === "." || c === "\t") {
      if (cur !== "") out.push(cur);
      cur = "";
      continue;
    }
    const prev = chars[i - 1];
    const next = chars[i + 1];
    const isUpper = c >= "A" && c <= "Z";
    if (
      cur !== "" && isUpper && prev !== undefined &&
      ((prev >= "a" && prev <= "z") || (prev >= "0" && prev <= "9") ||
        (prev >= "A" && prev <= "Z" && next !== undefined && next >= "a" && next <= "z"))
    ) {
      out.push(cur);
      cur = "";
    }
    cur += c;
  }
  if (cur !== "") out.push(cur);
  return out;
}

function convertCase(s: string, to: string): string {
  switch (to) {
    case "lower":
      return s.toLowerCase();
    case "upper":
      return s.toUpperCase();
    case "snake":
      return words(s).map((w) => w.toLowerCase()).join("_");
    default: // camel (UpperCamelCase)
      return words(s).map((w) => w[0]!.toUpperCase() + w.slice(1).toLowerCase()).join("");
  }
}

// ---------------------------------------------------------------------------------------------
// Bytes of a value (ByteSliceLikeGetter), hashing

function bytesLike(v: Value): Uint8Array | undefined {
  if (v === undefined) return undefined;
  if (v instanceof Uint8Array) return v;
  if (typeof v === "string") return new TextEncoder().encode(v);
  const view = new DataView(new ArrayBuffer(8));
  if (typeof v === "bigint") {
    view.setBigInt64(0, v, false);
    return new Uint8Array(view.buffer);
  }
  if (typeof v === "number") {
    view.setFloat64(0, v, false);
    return new Uint8Array(view.buffer);
  }
  if (typeof v === "boolean") return new Uint8Array([v ? 1 : 0]);
  throw new OttlRuntimeError(`cannot convert ${typeName(v)} to bytes`);
}

function digest(alg: string): (s: string) => string {
  return (s) => createHash(alg).update(s, "utf8").digest("hex");
}

function fnv1a64(s: string): bigint {
  let h = 0xcbf29ce484222325n;
  for (const b of new TextEncoder().encode(s)) {
    h ^= BigInt(b);
    h = BigInt.asUintN(64, h * 0x100000001b3n);
  }
  return BigInt.asIntN(64, h);
}

// ---------------------------------------------------------------------------------------------
// JSON and key/value parsing

function fromJson(v: unknown, depth: number): AnyValue {
  if (depth > MAX_VALUE_DEPTH) throw new OttlRuntimeError("JSON nests too deeply");
  if (v === null) return undefined;
  if (typeof v === "number") return v;
  if (typeof v === "string" || typeof v === "boolean") return v;
  if (Array.isArray(v)) return v.map((x) => fromJson(x, depth + 1));
  const kvlist: KeyValue[] = [];
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    kvlist.push({ key: k, value: fromJson(x, depth + 1) });
  }
  return { kvlist };
}

function parseJson(s: string): Value {
  let raw: unknown;
  try {
    raw = JSON.parse(s);
  } catch (error) {
    throw new OttlRuntimeError(`ParseJSON: ${(error as Error).message}`);
  }
  if (raw === null || typeof raw !== "object") {
    throw new OttlRuntimeError("ParseJSON: could only parse a JSON object or array");
  }
  return fromJson(raw, 0);
}

/** Splits on `delim` outside double or single quotes. */
function splitQuoted(s: string, delim: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quote: string | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
      cur += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      cur += c;
      continue;
    }
    if (s.startsWith(delim, i)) {
      out.push(cur);
      cur = "";
      i += delim.length - 1;
      continue;
    }
    cur += c;
  }
  if (quote !== undefined) throw new OttlRuntimeError("ParseKeyValue: unclosed quote");
  out.push(cur);
  return out;
}

function unquote(s: string): string {
  if (s.length >= 2 && (s[0] === '"' || s[0] === "'") && s[s.length - 1] === s[0]) {
    return s.slice(1, -1);
  }
  return s;
}

// ---------------------------------------------------------------------------------------------

const concat: FunctionDef = {
  name: "Concat",
  params: [{ name: "vals", kind: "getters" }, { name: "delimiter", kind: "string" }],
  create(args) {
    const vals = args[0] as Getter[];
    const delim = args[1] as string;
    return (ctx) => vals.map((g) => stringLike(g(ctx)) ?? "<nil>").join(delim);
  },
};

const convertCaseDef: FunctionDef = {
  name: "ConvertCase",
  params: [targetG, { name: "to_case", kind: "string" }],
  create(args, env) {
    const g = getter(args, 0);
    const to = args[1] as string;
    if (!["lower", "upper", "snake", "camel"].includes(to)) {
      env.fail(`invalid case: ${to}, allowed cases are: lower, upper, snake, camel`, 1);
    }
    return (ctx) => {
      const s = stringOf(g(ctx));
      return s === undefined ? undefined : convertCase(s, to);
    };
  },
};

const isMatch: FunctionDef = {
  name: "IsMatch",
  params: [targetG, { name: "pattern", kind: "string" }],
  create(args, env) {
    const g = getter(args, 0);
    const re = pattern(args[1] as string, env.fail, 1);
    return (ctx) => {
      const v = g(ctx);
      if (v === undefined) return false;
      const s = isMap(v) || Array.isArray(v) ? stringLike(v)! : stringLike(v);
      return s === undefined ? false : testRegex(re, s);
    };
  },
};

const split: FunctionDef = {
  name: "Split",
  params: [targetG, { name: "delimiter", kind: "string" }],
  create(args) {
    const g = getter(args, 0);
    const d = args[1] as string;
    return (ctx) => {
      const s = stringOf(g(ctx));
      return s === undefined ? undefined : d === "" ? [...s] : s.split(d);
    };
  },
};

const substring: FunctionDef = {
  name: "Substring",
  params: [targetG, { name: "start", kind: "getter" }, { name: "length", kind: "getter" }],
  create(args) {
    const g = getter(args, 0), st = getter(args, 1), ln = getter(args, 2);
    return (ctx) => {
      const s = stringOf(g(ctx));
      const start = st(ctx), length = ln(ctx);
      if (typeof start !== "bigint" || typeof length !== "bigint") {
        throw new OttlRuntimeError("Substring: start and length must be ints");
      }
      if (start < 0n) {
        throw new OttlRuntimeError(
          `invalid start for substring function, ${start} cannot be negative`,
        );
      }
      if (length <= 0n) {
        throw new OttlRuntimeError(
          `invalid length for substring function, ${length} cannot be negative or zero`,
        );
      }
      if (s === undefined) return undefined;
      const bytes = new TextEncoder().encode(s);
      if (start + length > BigInt(bytes.length)) {
        throw new OttlRuntimeError(
          `invalid range for substring function, ${
            start + length
          } cannot be greater than the length of target string(${bytes.length})`,
        );
      }
      return new TextDecoder().decode(bytes.subarray(Number(start), Number(start + length)));
    };
  },
};

const trim: FunctionDef = {
  name: "Trim",
  params: [targetG, { name: "replacement", kind: "string", optional: true }],
  create(args) {
    const g = getter(args, 0);
    const cut = new Set([...((args[1] as string | undefined) ?? " ")]);
    return (ctx) => {
      const s = stringOf(g(ctx));
      if (s === undefined) return undefined;
      const chars = [...s];
      let a = 0, b = chars.length;
      while (a < b && cut.has(chars[a]!)) a++;
      while (b > a && cut.has(chars[b - 1]!)) b--;
      return chars.slice(a, b).join("");
    };
  },
};

const utf8 = new TextEncoder();

const len: FunctionDef = unary("Len", "target", (v) => {
  // Go's len(string): UTF-8 bytes.
  if (typeof v === "string") return BigInt(utf8.encode(v).length);
  if (Array.isArray(v)) return BigInt(v.length);
  if (isMap(v)) return BigInt(v.kvlist.length);
  if (v instanceof Uint8Array) return BigInt(v.length);
  throw new OttlRuntimeError(`Len: unsupported type ${typeName(v)}`);
});

const parseKeyValue: FunctionDef = {
  name: "ParseKeyValue",
  params: [
    targetG,
    { name: "delimiter", kind: "string", optional: true },
    { name: "pair_delimiter", kind: "string", optional: true },
  ],
  create(args, env) {
    const g = getter(args, 0);
    const delim = (args[1] as string | undefined) ?? "=";
    const pairDelim = (args[2] as string | undefined) ?? " ";
    if (delim === "") env.fail("delimiter cannot be set to an empty string", 1);
    if (pairDelim === "") env.fail("pair delimiter cannot be set to an empty string", 2);
    if (delim === pairDelim) {
      env.fail(`pair delimiter "${pairDelim}" cannot be equal to delimiter "${delim}"`, 2);
    }
    return (ctx) => {
      const s = stringOf(g(ctx));
      if (s === undefined || s === "") throw new OttlRuntimeError("cannot parse from empty target");
      const kvlist: KeyValue[] = [];
      for (const pair of splitQuoted(s.trim(), pairDelim)) {
        if (pair.trim() === "") continue;
        const parts = splitQuoted(pair.trim(), delim);
        if (parts.length < 2) {
          throw new OttlRuntimeError(
            `cannot split "${pair}" into 2 items, got ${parts.length} item(s)`,
          );
        }
        const key = unquote(parts[0]!.trim());
        const val = unquote(parts.slice(1).join(delim).trim());
        const i = kvlist.findIndex((kv) => kv.key === key);
        if (i >= 0) kvlist[i]!.value = val;
        else kvlist.push({ key, value: val });
      }
      return { kvlist };
    };
  },
};

const extractPatterns: FunctionDef = {
  name: "ExtractPatterns",
  params: [targetG, { name: "pattern", kind: "string" }],
  create(args, env) {
    const g = getter(args, 0);
    const re = pattern(args[1] as string, env.fail, 1);
    const names = captureGroups(re).names;
    if (names.length === 0) {
      env.fail("at least 1 named capture group must be supplied in the given regex", 1);
    }
    return (ctx) => {
      const s = stringOf(g(ctx));
      if (s === undefined) return undefined;
      checkRegexInput(s);
      re.lastIndex = 0;
      const m = re.exec(s);
      const kvlist: KeyValue[] = [];
      if (m !== null) {
        for (const n of names) {
          const v = m.groups?.[n];
          if (v !== undefined) kvlist.push({ key: n, value: v });
        }
      }
      return { kvlist };
    };
  },
};

const format: FunctionDef = {
  name: "Format",
  params: [{ name: "format", kind: "string" }, { name: "vals", kind: "getters" }],
  create(args) {
    const f = args[0] as string;
    const vals = args[1] as Getter[];
    return (ctx) => sprintf(f, vals.map((g) => g(ctx)));
  },
};

const time: FunctionDef = {
  name: "Time",
  params: [
    { name: "time", kind: "getter" },
    { name: "format", kind: "string" },
    { name: "location", kind: "string", optional: true },
    { name: "locale", kind: "string", optional: true },
  ],
  create(args, env) {
    const g = getter(args, 0);
    const layout = args[1] as string;
    const zone = args[2] as string | undefined;
    if (layout === "") env.fail("format cannot be nil", 1);
    const le = layoutError(layout);
    if (le !== undefined) env.fail(le, 1);
    if (zone !== undefined) {
      const ze = zoneError(zone);
      if (ze !== undefined) env.fail(ze, 2);
    }
    return (ctx) => {
      const s = stringOf(g(ctx), "time");
      if (s === undefined) return undefined;
      if (s === "") throw new OttlRuntimeError("time cannot be nil");
      const r = parseTime(s, layout, zone);
      if (typeof r === "string") throw new OttlRuntimeError(r);
      return new OttlTime(r);
    };
  },
};

function timeOf(v: Value): OttlTime {
  if (v instanceof OttlTime) return v;
  throw new OttlRuntimeError(`expected a time but got ${typeName(v)}`);
}

function idConverter(name: string, size: number): FunctionDef {
  return {
    name,
    params: [{ name: "bytes", kind: "getter" }],
    create(args, env) {
      const g = getter(args, 0);
      return (ctx) => {
        const v = g(ctx);
        if (v instanceof Uint8Array && v.length === size) return new OttlId(v);
        if (v instanceof Uint8Array) {
          throw new OttlRuntimeError(`${name}: expected ${size} bytes, got ${v.length}`);
        }
        return env.fail(`expected a ${size}-byte slice`);
      };
    },
  };
}

const isRootSpan: FunctionDef = {
  name: "IsRootSpan",
  params: [],
  contexts: ["span", "spanevent"],
  create() {
    return (ctx) =>
      ctx.span!.parentSpanId.length === 0 || ctx.span!.parentSpanId.every((b) => b === 0);
  },
};

const now: FunctionDef = {
  name: "Now",
  params: [],
  create() {
    return () => new OttlTime(BigInt(Date.now()) * 1_000_000n);
  },
};

/** Every converter. */
export const CONVERTERS: readonly FunctionDef[] = [
  concat,
  convertCaseDef,
  conversion("Double", toDouble, "ParseFloat"),
  conversion("Int", toInt, "ParseInt"),
  unary("String", "value", (v) => stringLike(v)),
  unary("Bool", "value", toBool),
  isMatch,
  unary("IsString", "value", (v) => typeof v === "string"),
  unary("IsInt", "value", (v) => typeof v === "bigint"),
  unary("IsDouble", "value", (v) => typeof v === "number"),
  unary("IsBool", "value", (v) => typeof v === "boolean"),
  unary("IsMap", "value", (v) => isMap(v)),
  unary("IsList", "value", (v) => Array.isArray(v)),
  len,
  split,
  substring,
  trim,
  onString("ToLowerCase", (s) => s.toLowerCase()),
  onString("ToUpperCase", (s) => s.toUpperCase()),
  onString("SHA1", digest("sha1"), "value"),
  onString("SHA256", digest("sha256"), "value"),
  onString("SHA512", digest("sha512"), "value"),
  onString("MD5", digest("md5"), "value"),
  onString("FNV", fnv1a64, "value"),
  onString("ParseJSON", parseJson),
  parseKeyValue,
  extractPatterns,
  format,
  unary("Hex", "value", (v) => {
    const b = bytesLike(v);
    return b === undefined ? "" : hex(b);
  }),
  time,
  now,
  unary("UnixNano", "time", (v) => timeOf(v).ns),
  unary("UnixMilli", "time", (v) => floorDiv(timeOf(v).ns, 1_000_000n)),
  unary("UnixMicro", "time", (v) => floorDiv(timeOf(v).ns, 1_000n)),
  unary("UnixSeconds", "time", (v) => floorDiv(timeOf(v).ns, 1_000_000_000n)),
  onString("Duration", (s) => {
    const ns = parseGoDuration(s);
    if (ns === undefined) throw new OttlRuntimeError(`time: invalid duration "${s}"`);
    return new OttlDuration(ns);
  }, "duration"),
  unary("Nanoseconds", "duration", (v) => durationOf(v)),
  unary("Seconds", "duration", (v) => Number(durationOf(v)) / 1e9),
  idConverter("TraceID", 16),
  idConverter("SpanID", 8),
  isRootSpan,
  unary("Keys", "input", (v) => mapOf(v, "input").kvlist.map((kv) => kv.key)),
  unary("Values", "input", (v) => mapOf(v, "input").kvlist.map((kv) => copyValue(kv.value))),
];

function durationOf(v: Value): bigint {
  if (v instanceof OttlDuration) return v.ns;
  throw new OttlRuntimeError(`expected a duration but got ${typeName(v)}`);
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && (a < 0n) !== (b < 0n) ? q - 1n : q;
}
