/**
 * Helpers shared by the OTTL functions: typed argument access and Go-compatible text rules.
 *
 * @module
 */
import type { KeyValue, KeyValueList } from "../../pdata/types.ts";
import type { TransformContext } from "../context.ts";
import { OttlRuntimeError } from "../errors.ts";
import type { ArgValue } from "../function_types.ts";
import type { Accessor, Getter } from "../paths.ts";
import { checkRegexInput, compileBoundedRegex } from "../regex.ts";
import { isMap, typeName, type Value } from "../values.ts";

/** Argument `i` as a getter. */
export const getter = (args: readonly ArgValue[], i: number) => args[i] as Getter;
/** Argument `i` as a path accessor. */
export const accessor = (args: readonly ArgValue[], i: number) => args[i] as Accessor;

/** Reads a map (an error for anything else, nil included), as `PMapGetter`. */
export function mapOf(v: Value, what = "target"): KeyValueList {
  if (isMap(v)) return v;
  throw new OttlRuntimeError(`expected a map for ${what} but got ${typeName(v)}`);
}

/** Reads a string (an error for anything else, nil included), as `StringGetter`. */
export function stringOf(v: Value, what = "target"): string {
  if (typeof v === "string") return v;
  throw new OttlRuntimeError(`expected a string for ${what} but got ${typeName(v)}`);
}

/** Compiles a pattern argument; a refused or invalid pattern is a compile error. */
export function pattern(
  p: string,
  fail: (m: string, arg?: number) => never,
  arg: number,
): RegExp {
  try {
    return compileBoundedRegex(p);
  } catch (error) {
    return fail(`the pattern "${p}" is not valid: ${(error as Error).message}`, arg);
  }
}

/** The global variants of compiled patterns, made once per pattern rather than once per item. */
const globals = new WeakMap<RegExp, RegExp>();

/**
 * `re` with the global flag, for replacing every match. The same object comes back for the same
 * `re`; callers reset its `lastIndex` before use.
 */
export function global(re: RegExp): RegExp {
  if (re.global) return re;
  let g = globals.get(re);
  if (g === undefined) {
    g = new RegExp(re.source, re.flags + "g");
    globals.set(re, g);
  }
  return g;
}

/** Tests a pattern on a bounded input. */
export function testRegex(re: RegExp, s: string): boolean {
  checkRegexInput(s);
  re.lastIndex = 0;
  return re.test(s);
}

/**
 * Expands a Go regexp replacement template (`$1`, `${1}`, `$name`, `${name}`, `$$`) for one match:
 * unknown groups give "", a malformed `$` stays literal.
 */
export function goExpand(template: string, m: RegExpExecArray): string {
  if (!template.includes("$")) return template;
  let out = "";
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if (c !== "$") {
      out += c;
      continue;
    }
    const next = template[i + 1];
    if (next === "$") {
      out += "$";
      i++;
      continue;
    }
    let name: string | undefined;
    let end = i;
    if (next === "{") {
      const close = template.indexOf("}", i + 2);
      const inner = close < 0 ? "" : template.slice(i + 2, close);
      if (close >= 0 && /^[A-Za-z0-9_]+$/.test(inner)) {
        name = inner;
        end = close;
      }
    } else {
      const mm = /^[A-Za-z0-9_]+/.exec(template.slice(i + 1));
      if (mm !== null) {
        name = mm[0];
        end = i + mm[0].length;
      }
    }
    if (name === undefined) {
      out += "$";
      continue;
    }
    i = end;
    if (/^[0-9]+$/.test(name)) out += m[Number(name)] ?? "";
    else out += m.groups?.[name] ?? "";
  }
  return out;
}

/** Replaces every match of `re` in `s` with the expanded template, optionally through `fn`. */
export function replaceAll(
  re: RegExp,
  s: string,
  template: string,
  fn: ((v: Value) => Value) | undefined,
  format: string | undefined,
): string {
  checkRegexInput(s);
  const g = global(re);
  g.lastIndex = 0;
  let out = "";
  let last = 0;
  for (;;) {
    const m = g.exec(s);
    if (m === null) break;
    let rep = goExpand(template, m);
    if (fn !== undefined) {
      const r = fn(rep);
      const str = typeof r === "string" ? r : r === undefined ? "" : String(r);
      rep = format === undefined ? str : sprintf(format, [str]);
    }
    out += s.slice(last, m.index) + rep;
    last = m.index + m[0].length;
    if (m[0].length === 0) {
      if (g.lastIndex < s.length) out += s[g.lastIndex];
      last = g.lastIndex + 1;
      g.lastIndex++;
      if (g.lastIndex > s.length) break;
    }
  }
  return last >= s.length ? out : out + s.slice(last);
}

/** Compiles a glob (gobwas/glob syntax: `*`, `?`, `[a-z]`, `[!a]`, `{a,b}`, `\x`) to an anchored regex. */
export function compileGlob(glob: string): RegExp {
  let src = "";
  let depth = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "\\" && i + 1 < glob.length) {
      src += escapeRegex(glob[++i]!);
    } else if (c === "*") src += "[\\s\\S]*";
    else if (c === "?") src += "[\\s\\S]";
    else if (c === "[") {
      const close = glob.indexOf("]", i + 1);
      if (close < 0) throw new Error("unclosed [");
      let body = glob.slice(i + 1, close);
      const neg = body.startsWith("!");
      if (neg) body = body.slice(1);
      src += "[" + (neg ? "^" : "") + body.replace(/[\\\]^]/g, "\\$&") + "]";
      i = close;
    } else if (c === "{") {
      depth++;
      src += "(?:";
    } else if (c === "}" && depth > 0) {
      depth--;
      src += ")";
    } else if (c === "," && depth > 0) src += "|";
    else src += escapeRegex(c);
  }
  if (depth > 0) throw new Error("unclosed {");
  return new RegExp("^(?:" + src + ")$");
}

function escapeRegex(c: string): string {
  return /[.*+?^${}()|[\]\\/-]/.test(c) ? "\\" + c : c;
}

/** Replaces the contents of `list` with `items`, keeping the same array. */
export function replaceList(list: KeyValue[], items: KeyValue[]): void {
  list.length = 0;
  for (const kv of items) list.push(kv);
}

/** Evaluates a getter. */
export const run = (g: Getter, ctx: TransformContext): Value => g(ctx);

// ---------------------------------------------------------------------------------------------
// Go's fmt.Sprintf, the common verbs

/** Formats like Go's `fmt.Sprintf` for `%s %v %d %f %e %g %x %X %o %b %q %t %%` with flags, width, precision. */
export function sprintf(format: string, args: readonly Value[]): string {
  let out = "";
  let a = 0;
  const re = /%([-+ 0#]*)(\d+)?(?:\.(\d+))?([a-zA-Z%])/g;
  let last = 0;
  for (let m = re.exec(format); m !== null; m = re.exec(format)) {
    out += format.slice(last, m.index);
    last = re.lastIndex;
    const [, flags = "", width, prec, verb] = m;
    if (verb === "%") {
      out += "%";
      continue;
    }
    if (a >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    const v = args[a++];
    let s = formatVerb(verb!, v, prec === undefined ? undefined : Number(prec), flags);
    const w = width === undefined ? 0 : Number(width);
    if (s.length < w) {
      if (flags.includes("-")) s = s.padEnd(w);
      else if (flags.includes("0") && /[dfeEgxXob]/.test(verb!)) {
        const sign = /^[-+]/.test(s) ? s[0]! : "";
        s = sign + s.slice(sign.length).padStart(w - sign.length, "0");
      } else s = s.padStart(w);
    }
    out += s;
  }
  out += format.slice(last);
  if (a < args.length) {
    out += "%!(EXTRA " + args.slice(a).map((v) =>
      `${goType(v)}=${formatVerb("v", v, undefined, "")}`
    ).join(", ") + ")";
  }
  return out;
}

function goType(v: Value): string {
  switch (typeof v) {
    case "string":
      return "string";
    case "bigint":
      return "int64";
    case "number":
      return "float64";
    case "boolean":
      return "bool";
  }
  return v === undefined ? "<nil>" : "map[string]interface {}";
}

function formatVerb(verb: string, v: Value, prec: number | undefined, flags: string): string {
  if (v === undefined && verb !== "v") return `%!${verb}(<nil>)`;
  const plus = flags.includes("+") ? "+" : flags.includes(" ") ? " " : "";
  const signed = (s: string) => (s.startsWith("-") ? s : plus + s);
  switch (verb) {
    case "s":
    case "v": {
      if (v === undefined) return verb === "s" ? "%!s(<nil>)" : "<nil>";
      if (typeof v === "number") return fmtG(v, prec);
      if (typeof v === "string") return prec === undefined ? v : v.slice(0, prec);
      if (typeof v === "bigint" || typeof v === "boolean") return String(v);
      if (v instanceof Uint8Array) return "[" + [...v].join(" ") + "]";
      if (Array.isArray(v)) {
        return "[" + v.map((x) => formatVerb("v", x, undefined, "")).join(" ") + "]";
      }
      if (isMap(v)) {
        const entries = [...v.kvlist].sort((x, y) => x.key < y.key ? -1 : 1);
        return "map[" + entries.map((kv) =>
          `${kv.key}:${formatVerb("v", kv.value, undefined, "")}`
        ).join(" ") + "]";
      }
      return String((v as { ns: bigint }).ns);
    }
    case "d":
      if (typeof v === "bigint") return signed(String(v));
      return `%!d(${goType(v)}=${formatVerb("v", v, undefined, "")})`;
    case "f":
    case "F":
      if (typeof v === "number") return signed(v.toFixed(prec ?? 6));
      return `%!f(${goType(v)}=${formatVerb("v", v, undefined, "")})`;
    case "e":
      if (typeof v === "number") {
        return signed(v.toExponential(prec ?? 6).replace(/e([+-])(\d)$/, "e$10$2"));
      }
      return `%!e(${goType(v)}=${formatVerb("v", v, undefined, "")})`;
    case "g":
      if (typeof v === "number") return signed(fmtG(v, prec));
      return `%!g(${goType(v)}=${formatVerb("v", v, undefined, "")})`;
    case "x":
    case "X": {
      let s: string;
      if (typeof v === "bigint") s = v < 0n ? "-" + (-v).toString(16) : v.toString(16);
      else if (typeof v === "string") {
        s = [...new TextEncoder().encode(v)].map((b) => b.toString(16).padStart(2, "0")).join("");
      } else if (v instanceof Uint8Array) {
        s = [...v].map((b) => b.toString(16).padStart(2, "0")).join("");
      } else return `%!${verb}(${goType(v)}=${formatVerb("v", v, undefined, "")})`;
      return verb === "X" ? s.toUpperCase() : s;
    }
    case "o":
      return typeof v === "bigint" ? v.toString(8) : `%!o(${goType(v)})`;
    case "b":
      return typeof v === "bigint" ? v.toString(2) : `%!b(${goType(v)})`;
    case "q":
      return typeof v === "string" ? JSON.stringify(v) : `%!q(${goType(v)})`;
    case "t":
      return typeof v === "boolean" ? String(v) : `%!t(${goType(v)})`;
    default:
      return `%!${verb}(${goType(v)}=${formatVerb("v", v, undefined, "")})`;
  }
}

/** Go's %v / %g for a float64: shortest repr, exponent for exp < -4 || exp >= 21. */
function fmtG(v: number, prec: number | undefined): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  if (prec !== undefined) {
    const s = v.toPrecision(Math.max(prec, 1));
    return s.includes("e")
      ? s.replace(/e([+-])(\d)$/, "e$10$2")
      : s.replace(/(\.\d*?)0+$/, "$1").replace(/\.$/, "");
  }
  if (v === 0) return Object.is(v, -0) ? "-0" : "0";
  const exp = Math.floor(Math.log10(Math.abs(v)));
  if (exp < -4 || exp >= 21) {
    return v.toExponential().replace(/e([+-])(\d)$/, "e$10$2");
  }
  return String(v);
}
