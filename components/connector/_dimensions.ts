/**
 * Metric dimensions taken from spans, shared by the span-derived connectors (`spanmetrics`,
 * `servicegraph`): a dimension is an attribute `name` (with an optional `default` when neither the
 * span nor its resource has it) or a `glob` over attribute names, as the Collector's
 * (gobwas/glob with `.` as the separator: `*` stops at a dot, `**` does not). Also the Collector's
 * strings for span kinds and status codes.
 *
 * @module
 */
import { z } from "../../lib/config/z.js";
import type { AnyValue, KeyValue } from "../../lib/pdata/types.ts";

/** One dimension as configured: exactly one of `name` (with an optional `default`) or `glob`. */
export const dimensionSchema = z.strictObject({
  name: z.string().optional(),
  default: z.string().optional(),
  glob: z.string().optional(),
});

/** A configured dimension. */
export type DimensionConfig = z.output<typeof dimensionSchema>;

/** Dimensions ready to match: named ones in order, then globs. */
export interface Dimensions {
  readonly named: readonly { readonly name: string; readonly default: string | undefined }[];
  readonly globs: readonly RegExp[];
}

/** No dimensions. */
export const NO_DIMENSIONS: Dimensions = { named: [], globs: [] };

/**
 * A gobwas-style glob (`.` separator) as an anchored regular expression, or an error message:
 * `*` any run without `.`, `**` any run, `?` one character but `.`, `[abc]`, `[!abc]`, `[a-z]`,
 * `{a,b}` alternatives, `\` escapes.
 */
export function globToRegExp(glob: string): RegExp | string {
  let out = "";
  let depth = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "\\") {
      const n = glob[i + 1];
      if (n === undefined) return "ends with an unfinished escape";
      out += escapeRegExp(n);
      i++;
    } else if (c === "*") {
      if (glob[i + 1] === "*") {
        out += ".*";
        i++;
      } else out += "[^.]*";
    } else if (c === "?") out += "[^.]";
    else if (c === "[") {
      const end = glob.indexOf("]", i + 2);
      if (end < 0) return "has an unclosed [";
      let body = glob.slice(i + 1, end);
      const negate = body.startsWith("!");
      if (negate) body = body.slice(1);
      if (body === "") return "has an empty []";
      out += `[${negate ? "^" : ""}${body.replace(/[\\\]^]/g, "\\$&")}]`;
      i = end;
    } else if (c === "{") {
      depth++;
      out += "(?:";
    } else if (c === "}" && depth > 0) {
      depth--;
      out += ")";
    } else if (c === "," && depth > 0) out += "|";
    else out += escapeRegExp(c);
  }
  if (depth > 0) return "has an unclosed {";
  try {
    return new RegExp(`^(?:${out})$`, "s");
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

function escapeRegExp(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/**
 * Checks one dimension list as the Collector does: each entry has exactly one of `name` or `glob`,
 * no `default` on a glob, no name twice or equal to a reserved one, no glob matching a name.
 * Returns the messages with the index of the entry they concern.
 */
export function checkDimensions(
  list: readonly DimensionConfig[],
  reserved: readonly string[],
): { index: number; message: string }[] {
  const issues: { index: number; message: string }[] = [];
  const names = new Set(reserved);
  const globs: [number, string, RegExp][] = [];
  list.forEach((d, index) => {
    if (d.name !== undefined && d.name !== "" && d.glob !== undefined && d.glob !== "") {
      issues.push({ index, message: "must set only one of name or glob, not both" });
    } else if ((d.name ?? "") === "" && (d.glob ?? "") === "") {
      issues.push({ index, message: "must set one of name or glob" });
    } else if (d.name !== undefined && d.name !== "") {
      if (names.has(d.name)) {
        issues.push({ index, message: `duplicate dimension name "${d.name}"` });
      }
      names.add(d.name);
    } else {
      if (d.default !== undefined) {
        issues.push({ index, message: `default is not supported on glob dimension "${d.glob}"` });
      }
      const r = globToRegExp(d.glob!);
      if (typeof r === "string") {
        issues.push({ index, message: `invalid dimension glob "${d.glob}": ${r}` });
      } else globs.push([index, d.glob!, r]);
    }
  });
  for (const name of names) {
    for (const [index, text, re] of globs) {
      if (re.test(name)) {
        issues.push({
          index,
          message: `duplicate dimension name "${name}" conflicting with glob "${text}"`,
        });
      }
    }
  }
  return issues;
}

/** Compiles a checked dimension list. */
export function compileDimensions(list: readonly DimensionConfig[]): Dimensions {
  if (list.length === 0) return NO_DIMENSIONS;
  const named: { name: string; default: string | undefined }[] = [];
  const globs: RegExp[] = [];
  for (const d of list) {
    if (d.glob !== undefined && d.glob !== "") {
      const r = globToRegExp(d.glob);
      if (typeof r !== "string") globs.push(r);
    } else if (d.name !== undefined) named.push({ name: d.name, default: d.default });
  }
  return { named, globs };
}

function find(attributes: readonly KeyValue[], key: string): KeyValue | undefined {
  for (let i = 0; i < attributes.length; i++) {
    const kv = attributes[i]!;
    if (kv.key === key) return kv;
  }
  return undefined;
}

function sortedKeys(attributes: readonly KeyValue[]): string[] {
  return attributes.map((kv) => kv.key).sort();
}

/**
 * Calls `f` with each dimension's name and value for one span, as the Collector's
 * `matchDimensions`: named ones from the span's attributes, else the other attributes (resource,
 * or resource and event), else the default; then glob matches over the span's attribute names and
 * over the other names the span does not have, each in sorted order.
 */
export function forEachDimension(
  dimensions: Dimensions,
  spanAttributes: readonly KeyValue[],
  otherAttributes: readonly KeyValue[],
  f: (name: string, value: AnyValue) => void,
): void {
  for (const d of dimensions.named) {
    const kv = find(spanAttributes, d.name) ?? find(otherAttributes, d.name);
    if (kv !== undefined) f(d.name, kv.value);
    else if (d.default !== undefined) f(d.name, d.default);
  }
  if (dimensions.globs.length === 0) return;
  for (const name of sortedKeys(spanAttributes)) {
    if (dimensions.globs.some((g) => g.test(name))) f(name, find(spanAttributes, name)!.value);
  }
  for (const name of sortedKeys(otherAttributes)) {
    if (find(spanAttributes, name) !== undefined) continue;
    if (dimensions.globs.some((g) => g.test(name))) f(name, find(otherAttributes, name)!.value);
  }
}

/**
 * The part of a series key the dimensions give for one span: `\0name:value` per dimension found,
 * in {@linkcode forEachDimension}'s order, values as the Collector's `AsString`.
 */
export function dimensionsKey(
  dimensions: Dimensions,
  spanAttributes: readonly KeyValue[],
  otherAttributes: readonly KeyValue[],
  asString: (v: AnyValue) => string,
): string {
  let key = "";
  const named = dimensions.named;
  for (let i = 0; i < named.length; i++) {
    const d = named[i]!;
    const kv = find(spanAttributes, d.name) ?? find(otherAttributes, d.name);
    if (kv !== undefined) key += `\u0000${d.name}:${asString(kv.value)}`;
    else if (d.default !== undefined) key += `\u0000${d.name}:${d.default}`;
  }
  if (dimensions.globs.length === 0) return key;
  forEachDimension(
    { named: [], globs: dimensions.globs },
    spanAttributes,
    otherAttributes,
    (n, v) => {
      key += `\u0000${n}:${asString(v)}`;
    },
  );
  return key;
}

const KIND_NAMES = [
  "SPAN_KIND_UNSPECIFIED",
  "SPAN_KIND_INTERNAL",
  "SPAN_KIND_SERVER",
  "SPAN_KIND_CLIENT",
  "SPAN_KIND_PRODUCER",
  "SPAN_KIND_CONSUMER",
];
const STATUS_NAMES = ["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"];

/** A span kind as the Collector writes it (`SPAN_KIND_SERVER`); "" for an unknown kind. */
export function spanKindName(kind: number): string {
  return KIND_NAMES[kind] ?? "";
}

/** A status code as the Collector writes it (`STATUS_CODE_ERROR`); "" for an unknown code. */
export function statusCodeName(code: number): string {
  return STATUS_NAMES[code] ?? "";
}
