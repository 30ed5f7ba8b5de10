/**
 * The OTTL editors of `ottlfuncs`: `set`, `delete_key`, `delete_matching_keys`, `keep_keys`,
 * `keep_matching_keys`, `replace_pattern`, `replace_all_patterns`, `replace_match`,
 * `replace_all_matches`, `merge_maps`, `limit`, `truncate_all`, `flatten`, `append`.
 *
 * @module
 */
import type { AnyValue, KeyValue } from "../../pdata/types.ts";
import { OttlRuntimeError } from "../errors.ts";
import type { FunctionDef } from "../function_types.ts";
import type { Getter } from "../paths.ts";
import { checkRegexInput, literalOf, replaceLiteral } from "../regex.ts";
import { copyValue, isMap, MAX_VALUE_DEPTH, toStorable, type Value } from "../values.ts";
import {
  accessor,
  compileGlob,
  getter,
  mapOf,
  pattern,
  replaceAll,
  replaceList,
  sprintf,
  stringOf,
  testRegex,
} from "./_util.ts";

const target = { name: "target", kind: "getsetter" } as const;
const fnParams = [
  { name: "function", kind: "function", optional: true },
  { name: "replacement_format", kind: "string", optional: true },
] as const;

const set: FunctionDef = {
  name: "set",
  params: [target, { name: "value", kind: "getter" }],
  create(args) {
    const t = accessor(args, 0);
    const v = getter(args, 1);
    const put = t.set!;
    return (ctx) => {
      // A nil value still sets a map key (to an empty value), as the Collector does.
      const value = v(ctx);
      put(ctx, isMap(value) || Array.isArray(value) ? toStorable(value) : value);
      return undefined;
    };
  },
};

const deleteKey: FunctionDef = {
  name: "delete_key",
  params: [target, { name: "key", kind: "string" }],
  create(args) {
    const t = accessor(args, 0);
    const key = args[1] as string;
    return (ctx) => {
      const list = mapOf(t.get(ctx)).kvlist;
      // pcommon's Map.Remove moves the last entry into the gap; keep that order.
      const i = list.findIndex((kv) => kv.key === key);
      if (i >= 0) {
        const last = list.pop()!;
        if (i < list.length) list[i] = last;
      }
      return undefined;
    };
  },
};

function keyFilter(name: string, keep: boolean, byPattern: boolean): FunctionDef {
  return {
    name,
    params: [
      target,
      byPattern ? { name: "pattern", kind: "string" } : { name: "keys", kind: "strings" },
    ],
    create(args, env) {
      const t = accessor(args, 0);
      let test: (k: string) => boolean;
      if (byPattern) {
        const re = pattern(args[1] as string, env.fail, 1);
        test = (k) => testRegex(re, k);
      } else {
        const keys = new Set(args[1] as string[]);
        test = (k) => keys.has(k);
      }
      return (ctx) => {
        const list = mapOf(t.get(ctx)).kvlist;
        replaceList(list, list.filter((kv) => test(kv.key) === keep));
        return undefined;
      };
    },
  };
}

type Fn = ((v: Value) => Value) | undefined;

function checkFormat(fn: Fn, format: string | undefined, fail: (m: string) => never): void {
  if (format !== undefined && fn === undefined) fail("replacement_format needs a function");
}

const replacePattern: FunctionDef = {
  name: "replace_pattern",
  params: [
    target,
    { name: "regex", kind: "string" },
    { name: "replacement", kind: "getter" },
    ...fnParams,
  ],
  create(args, env) {
    const t = accessor(args, 0);
    const re = pattern(args[1] as string, env.fail, 1);
    const rep = getter(args, 2);
    const fn = args[3] as Fn, format = args[4] as string | undefined;
    checkFormat(fn, format, env.fail);
    // A literal pattern with a template that expands nothing needs no regex (nor a match array
    // per item): `replace_pattern(span.name, "\\{id\\}", "ID")`.
    const literal = fn === undefined ? literalOf(args[1] as string) : undefined;
    return (ctx) => {
      const v = t.get(ctx);
      if (typeof v !== "string") return undefined;
      const r = stringOf(rep(ctx), "replacement");
      if (r === undefined) return undefined;
      const out = literal !== undefined && !r.includes("$")
        ? replaceLiteral(v, literal, r)
        : replaceAll(re, v, r, fn, format);
      if (out !== v) t.set!(ctx, out);
      return undefined;
    };
  },
};

const replaceAllPatterns: FunctionDef = {
  name: "replace_all_patterns",
  params: [
    target,
    { name: "mode", kind: "string" },
    { name: "regex", kind: "string" },
    { name: "replacement", kind: "getter" },
    ...fnParams,
  ],
  create(args, env) {
    const t = accessor(args, 0);
    const mode = args[1] as string;
    if (mode !== "key" && mode !== "value") {
      env.fail(`invalid mode "${mode}", must be "key" or "value"`, 1);
    }
    const re = pattern(args[2] as string, env.fail, 2);
    const rep = getter(args, 3);
    const fn = args[4] as Fn, format = args[5] as string | undefined;
    checkFormat(fn, format, env.fail);
    return (ctx) => {
      const list = mapOf(t.get(ctx)).kvlist;
      const r = stringOf(rep(ctx), "replacement");
      if (r === undefined) return undefined;
      if (mode === "value") {
        for (const kv of list) {
          if (typeof kv.value === "string" && testRegex(re, kv.value)) {
            kv.value = replaceAll(re, kv.value, r, fn, format);
          }
        }
      } else {
        const out: KeyValue[] = [];
        for (const kv of list) {
          const key = testRegex(re, kv.key) ? replaceAll(re, kv.key, r, fn, format) : kv.key;
          const i = out.findIndex((o) => o.key === key);
          if (i >= 0) out[i]!.value = kv.value;
          else out.push({ key, value: kv.value });
        }
        replaceList(list, out);
      }
      return undefined;
    };
  },
};

function globArg(p: string, fail: (m: string) => never): RegExp {
  try {
    return compileGlob(p);
  } catch (error) {
    return fail(`the pattern "${p}" is not a valid glob: ${(error as Error).message}`);
  }
}

function applyFn(r: string, fn: Fn, format: string | undefined): string {
  if (fn === undefined) return r;
  const v = fn(r);
  const s = typeof v === "string" ? v : v === undefined ? "" : String(v);
  return format === undefined ? s : sprintf(format, [s]);
}

const replaceMatch: FunctionDef = {
  name: "replace_match",
  params: [
    target,
    { name: "pattern", kind: "string" },
    { name: "replacement", kind: "getter" },
    ...fnParams,
  ],
  create(args, env) {
    const t = accessor(args, 0);
    const glob = globArg(args[1] as string, (m) => env.fail(m, 1));
    const rep = getter(args, 2);
    const fn = args[3] as Fn, format = args[4] as string | undefined;
    checkFormat(fn, format, env.fail);
    return (ctx) => {
      const v = t.get(ctx);
      if (typeof v !== "string") return undefined;
      checkRegexInput(v);
      const r = stringOf(rep(ctx), "replacement");
      if (r !== undefined && glob.test(v)) t.set!(ctx, applyFn(r, fn, format));
      return undefined;
    };
  },
};

const replaceAllMatches: FunctionDef = {
  name: "replace_all_matches",
  params: [
    target,
    { name: "pattern", kind: "string" },
    { name: "replacement", kind: "getter" },
    ...fnParams,
  ],
  create(args, env) {
    const t = accessor(args, 0);
    const glob = globArg(args[1] as string, (m) => env.fail(m, 1));
    const rep = getter(args, 2);
    const fn = args[3] as Fn, format = args[4] as string | undefined;
    checkFormat(fn, format, env.fail);
    return (ctx) => {
      const list = mapOf(t.get(ctx)).kvlist;
      const r = stringOf(rep(ctx), "replacement");
      if (r === undefined) return undefined;
      for (const kv of list) {
        if (typeof kv.value !== "string") continue;
        checkRegexInput(kv.value);
        if (glob.test(kv.value)) kv.value = applyFn(r, fn, format);
      }
      return undefined;
    };
  },
};

const mergeMaps: FunctionDef = {
  name: "merge_maps",
  params: [target, { name: "source", kind: "getter" }, { name: "strategy", kind: "string" }],
  create(args, env) {
    const t = accessor(args, 0);
    const source = getter(args, 1);
    const strategy = args[2] as string;
    if (!["insert", "update", "upsert"].includes(strategy)) {
      env.fail(`invalid strategy "${strategy}", must be insert, update or upsert`, 2);
    }
    return (ctx) => {
      const list = mapOf(t.get(ctx)).kvlist;
      const src = mapOf(source(ctx), "source").kvlist;
      for (const kv of src) {
        const i = list.findIndex((x) => x.key === kv.key);
        if (i >= 0) {
          if (strategy !== "insert") list[i]!.value = copyValue(kv.value);
        } else if (strategy !== "update") list.push({ key: kv.key, value: copyValue(kv.value) });
      }
      return undefined;
    };
  },
};

const limit: FunctionDef = {
  name: "limit",
  params: [target, { name: "limit", kind: "int" }, { name: "priority_keys", kind: "strings" }],
  create(args, env) {
    const t = accessor(args, 0);
    const n = args[1] as bigint;
    const priority = new Set(args[2] as string[]);
    if (n < 1n) env.fail(`invalid limit for limit function, ${n} cannot be less than 1`, 1);
    if (BigInt(priority.size) > n) {
      env.fail(
        `number of priority keys (${priority.size}) cannot be greater than the limit (${n})`,
        2,
      );
    }
    const max = Number(n);
    return (ctx) => {
      const list = mapOf(t.get(ctx)).kvlist;
      if (list.length <= max) return undefined;
      let count = 0;
      for (const kv of list) if (priority.has(kv.key)) count++;
      replaceList(
        list,
        list.filter((kv) => {
          if (priority.has(kv.key)) return true;
          if (count < max) {
            count++;
            return true;
          }
          return false;
        }),
      );
      return undefined;
    };
  },
};

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Truncates to at most `n` UTF-8 bytes without splitting a character. */
export function truncateUtf8(s: string, n: number): string {
  if (s.length <= n / 3) return s;
  const bytes = encoder.encode(s);
  if (bytes.length <= n) return s;
  let end = n;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return decoder.decode(bytes.subarray(0, end));
}

const truncateAll: FunctionDef = {
  name: "truncate_all",
  params: [target, { name: "limit", kind: "int" }],
  create(args, env) {
    const t = accessor(args, 0);
    const n = args[1] as bigint;
    if (n < 0n) env.fail(`invalid limit for truncate_all function, ${n} cannot be negative`, 1);
    const max = Number(n);
    return (ctx) => {
      for (const kv of mapOf(t.get(ctx)).kvlist) {
        if (typeof kv.value === "string") kv.value = truncateUtf8(kv.value, max);
      }
      return undefined;
    };
  },
};

function flattenInto(
  out: KeyValue[],
  list: readonly KeyValue[],
  prefix: string,
  depth: number,
  maxDepth: number,
): void {
  if (depth > MAX_VALUE_DEPTH) throw new OttlRuntimeError("value nests too deeply to flatten");
  for (const kv of list) {
    const key = prefix === "" ? kv.key : `${prefix}.${kv.key}`;
    flattenValue(out, key, kv.value, depth, maxDepth);
  }
}

function flattenValue(
  out: KeyValue[],
  key: string,
  v: AnyValue,
  depth: number,
  maxDepth: number,
): void {
  if (isMap(v) && depth < maxDepth) flattenInto(out, v.kvlist, key, depth + 1, maxDepth);
  else if (Array.isArray(v) && depth < maxDepth) {
    v.forEach((item, i) => {
      const k = `${key}.${i}`;
      if (isMap(item)) flattenValue(out, k, item, depth, maxDepth);
      else out.push({ key: k, value: copyValue(item) });
    });
  } else {
    const i = out.findIndex((o) => o.key === key);
    if (i >= 0) out[i]!.value = copyValue(v);
    else out.push({ key, value: copyValue(v) });
  }
}

const flatten: FunctionDef = {
  name: "flatten",
  params: [
    target,
    { name: "prefix", kind: "string", optional: true },
    { name: "depth", kind: "int", optional: true },
  ],
  create(args, env) {
    const t = accessor(args, 0);
    const prefix = (args[1] as string | undefined) ?? "";
    const d = args[2] as bigint | undefined;
    if (d !== undefined && d < 0n) {
      env.fail(`invalid depth for flatten function, ${d} cannot be negative`, 2);
    }
    const maxDepth = d === undefined ? Number.MAX_SAFE_INTEGER : Number(d);
    return (ctx) => {
      const list = mapOf(t.get(ctx)).kvlist;
      const out: KeyValue[] = [];
      flattenInto(out, list, prefix, 0, maxDepth);
      replaceList(list, out);
      return undefined;
    };
  },
};

const append: FunctionDef = {
  name: "append",
  params: [target, { name: "value", kind: "getter", optional: true }, {
    name: "values",
    kind: "getters",
    optional: true,
  }],
  create(args, env) {
    const t = accessor(args, 0);
    const one = args[1] as Getter | undefined;
    const many = args[2] as Getter[] | undefined;
    if (one === undefined && many === undefined) {
      env.fail("at least one of the optional arguments (value or values) must be provided");
    }
    return (ctx) => {
      const cur = t.get(ctx);
      const out: AnyValue[] = cur === undefined
        ? []
        : Array.isArray(cur)
        ? cur.map((v) => copyValue(v))
        : [toStorable(cur)];
      if (one !== undefined) {
        const v = one(ctx);
        if (v !== undefined) out.push(toStorable(v));
      }
      if (many !== undefined) { for (const g of many) out.push(toStorable(g(ctx))); }
      t.set!(ctx, out);
      return undefined;
    };
  },
};

/** Every editor. */
export const EDITORS: readonly FunctionDef[] = [
  set,
  deleteKey,
  keyFilter("delete_matching_keys", false, true),
  keyFilter("keep_keys", true, false),
  keyFilter("keep_matching_keys", true, true),
  replacePattern,
  replaceAllPatterns,
  replaceMatch,
  replaceAllMatches,
  mergeMaps,
  limit,
  truncateAll,
  flatten,
  append,
];
