/**
 * Runs a zod schema over a raw config node and turns every issue into a positioned diagnostic: the
 * position of the offending value, of an unknown key itself, or of the key that lacks a required
 * key. Messages follow the project style (`must be one of basic, normal, detailed`) and never
 * echo a value.
 *
 * @module
 */
import { z } from "../lib/config/z.js";
import type { Diagnostic } from "./diagnostics.ts";
import { formatPath, locate, toPlain } from "./_raw.ts";
import type { ConfigPath, Position, RawNode } from "./_raw.ts";
import { isSecretPath, scrubMessage } from "./_secrets.ts";

/** The outcome of {@linkcode parseNode}. */
export interface NodeParse {
  /** True when the schema accepted the value. */
  ok: boolean;
  /** The schema's output (defaults filled) when ok. */
  value: unknown;
  diagnostics: Diagnostic[];
}

/** Options of {@linkcode parseNode}. */
export interface ParseNodeOptions {
  /** Parse an absent or null value as `{}`. @default false */
  nullAsEmpty?: boolean;
}

const MAX_TEXT_RETRIES = 16;

/**
 * Parses the value at `node` (the config at `path`, whose key sits at `keyPos`) with `schema`.
 * A value typed from an environment expansion is retried as its text where the schema wants a
 * string, as the Collector keeps both forms of an expanded value.
 */
export function parseNode(
  schema: z.ZodType,
  node: RawNode | undefined,
  path: ConfigPath,
  keyPos: Position,
  options: ParseNodeOptions = {},
): NodeParse {
  const asText = new Set<RawNode>();
  for (let attempt = 0;; attempt++) {
    let plain = node === undefined ? undefined : toPlain(node, asText);
    if (options.nullAsEmpty && (plain === null || plain === undefined)) plain = {};
    const result = z.safeParse(schema, plain, { error: issueMessage });
    if (result.success) return { ok: true, value: result.data, diagnostics: [] };
    let retry = false;
    if (attempt < MAX_TEXT_RETRIES) {
      for (const issue of result.error.issues) {
        if (!wantsString(issue)) continue;
        const found = locate(node, issue.path as ConfigPath, keyPos).node;
        if (found?.kind === "scalar" && found.text !== undefined && !asText.has(found)) {
          asText.add(found);
          retry = true;
        }
      }
    }
    if (!retry) {
      const diagnostics = result.error.issues.flatMap((issue) =>
        issueDiagnostics(issue, schema, node, path, keyPos)
      );
      return { ok: false, value: undefined, diagnostics };
    }
  }
}

function wantsString(issue: z.core.$ZodIssue): boolean {
  if (issue.code === "invalid_type") return issue.expected === "string";
  if (issue.code === "invalid_union") {
    return issue.errors.some((branch) =>
      branch.some((i) =>
        i.path.length === 0 && i.code === "invalid_type" && i.expected === "string"
      )
    );
  }
  return false;
}

function issueDiagnostics(
  issue: z.core.$ZodIssue,
  schema: z.ZodType,
  node: RawNode | undefined,
  base: ConfigPath,
  keyPos: Position,
): Diagnostic[] {
  const rel = issue.path.map((seg) => typeof seg === "number" ? seg : String(seg));
  if (issue.code === "unrecognized_keys") {
    const allowed = allowedKeys(schema, rel);
    const hint = allowed.length > 0 ? ` (allowed: ${allowed.join(", ")})` : "";
    return issue.keys.map((key) => {
      const pos = locate(node, [...rel, key], keyPos, true).pos;
      return {
        severity: "error",
        ...pos,
        path: formatPath([...base, ...rel, key]),
        message: `unknown key "${key}"${hint}`,
      };
    });
  }
  const found = locate(node, rel, keyPos);
  const full = [...base, ...rel];
  let message = issue.message;
  if (isSecretPath(full) && found.node?.kind === "scalar") {
    message = scrubMessage(message, found.node.value);
  }
  // A check on a string's content may say where inside the string (an OTTL statement does).
  const offset = issue.code === "custom"
    ? (issue.params as { offset?: unknown } | undefined)?.offset
    : undefined;
  const pos = typeof offset === "number" && found.node?.kind === "scalar" && found.node.at
    ? found.node.at(offset)
    : found.pos;
  return [{ severity: "error", ...pos, path: formatPath(full), message }];
}

// ---------------------------------------------------------------------------------------------
// Messages

const EXPECTED: Readonly<Record<string, string>> = {
  string: "a string",
  number: "a number",
  int: "an integer",
  bigint: "an integer",
  boolean: "true or false",
  object: "a map",
  record: "a map",
  map: "a map",
  array: "a list",
  tuple: "a list",
  set: "a list",
  null: "null",
  date: "a date",
};

/** Describes a value by its kind only, never by its content. */
function describe(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "nothing";
  if (Array.isArray(value)) return "a list";
  switch (typeof value) {
    case "string":
      return value === "" ? "an empty string" : "a string";
    case "number":
      return Number.isInteger(value) ? "an integer" : "a number";
    case "boolean":
      return "a boolean";
    case "object":
      return "a map";
    default:
      return typeof value;
  }
}

function literal(v: unknown): string {
  return typeof v === "string" ? v : String(v);
}

/** The per-parse error map: project-style messages for zod's built-in checks. */
function issueMessage(iss: z.core.$ZodRawIssue): string {
  switch (iss.code) {
    case "invalid_type":
      if (iss.input === undefined) return "is required";
      return `must be ${EXPECTED[iss.expected] ?? iss.expected}, got ${describe(iss.input)}`;
    case "invalid_value":
      return iss.values.length === 1
        ? `must be ${literal(iss.values[0])}`
        : `must be one of ${iss.values.map(literal).join(", ")}`;
    case "too_small":
      return bound(iss.origin, iss.minimum, iss.inclusive ?? true, "small");
    case "too_big":
      return bound(iss.origin, iss.maximum, iss.inclusive ?? true, "big");
    case "invalid_format":
      if (iss.format === "regex" && "pattern" in iss) return `must match ${String(iss.pattern)}`;
      if (iss.format === "starts_with" && "prefix" in iss) {
        return `must start with "${String(iss.prefix)}"`;
      }
      if (iss.format === "ends_with" && "suffix" in iss) {
        return `must end with "${String(iss.suffix)}"`;
      }
      return `must be a valid ${iss.format}`;
    case "not_multiple_of":
      return `must be a multiple of ${String(iss.divisor)}`;
    case "unrecognized_keys":
      return `unknown keys ${iss.keys.map((k) => `"${k}"`).join(", ")}`;
    case "invalid_union": {
      const forms: string[] = [];
      for (const branch of iss.errors) {
        for (const i of branch) {
          if (i.path.length !== 0) continue;
          if (i.code === "invalid_type") forms.push(EXPECTED[i.expected] ?? i.expected);
          if (i.code === "invalid_value") forms.push(...i.values.map(literal));
        }
      }
      const unique = [...new Set(forms)];
      return unique.length > 0
        ? `must be ${unique.join(" or ")}, got ${describe(iss.input)}`
        : "does not match any allowed form";
    }
    case "invalid_key":
      return "has an invalid key";
    case "invalid_element":
      return "has an invalid item";
    default:
      return iss.message ?? "is not valid";
  }
}

function bound(origin: string, limit: unknown, inclusive: boolean, side: "small" | "big"): string {
  const n = String(limit);
  switch (origin) {
    case "string":
      if (side === "small" && n === "1") return "must not be empty";
      return `must be at ${side === "small" ? "least" : "most"} ${n} characters long`;
    case "array":
    case "set":
      if (side === "small" && n === "1") return "must not be empty";
      return `must have at ${side === "small" ? "least" : "most"} ${n} items`;
    default:
      if (side === "small") {
        return inclusive ? `must be at least ${n}` : `must be greater than ${n}`;
      }
      return inclusive ? `must be at most ${n}` : `must be less than ${n}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Allowed keys

interface AnyDef {
  type: string;
  innerType?: z.core.$ZodType;
  in?: z.core.$ZodType;
  out?: z.core.$ZodType;
  getter?: () => z.core.$ZodType;
  options?: readonly z.core.$ZodType[];
  left?: z.core.$ZodType;
  right?: z.core.$ZodType;
  shape?: Readonly<Record<string, z.core.$ZodType>>;
  valueType?: z.core.$ZodType;
  element?: z.core.$ZodType;
  items?: readonly z.core.$ZodType[];
}

function defOf(schema: z.core.$ZodType): AnyDef {
  return schema._zod.def as unknown as AnyDef;
}

/** The schemas a value may be checked against, wrappers (default, optional, pipe…) removed. */
function unwrap(schema: z.core.$ZodType, depth = 0): z.core.$ZodType[] {
  if (depth > 32) return [];
  const def = defOf(schema);
  const next = (s: z.core.$ZodType | undefined) => s === undefined ? [] : unwrap(s, depth + 1);
  switch (def.type) {
    case "optional":
    case "nullable":
    case "default":
    case "prefault":
    case "nonoptional":
    case "readonly":
    case "catch":
    case "success":
      return next(def.innerType);
    case "pipe":
      return [...next(def.in), ...next(def.out)];
    case "lazy":
      return def.getter === undefined ? [] : next(def.getter());
    case "union":
      return (def.options ?? []).flatMap((o) => next(o));
    case "intersection":
      return [...next(def.left), ...next(def.right)];
    default:
      return [schema];
  }
}

/** The keys an object schema at `path` below `schema` allows, best effort; [] when unknown. */
export function allowedKeys(schema: z.ZodType, path: ConfigPath): string[] {
  let current: z.core.$ZodType[] = unwrap(schema);
  for (const seg of path) {
    current = current.flatMap((s) => {
      const def = defOf(s);
      if (def.type === "object") {
        const child = def.shape?.[String(seg)];
        return child === undefined ? [] : unwrap(child);
      }
      if (def.type === "record" && def.valueType !== undefined) return unwrap(def.valueType);
      if (def.type === "array" && def.element !== undefined) return unwrap(def.element);
      if (def.type === "tuple" && typeof seg === "number") {
        const item = def.items?.[seg];
        return item === undefined ? [] : unwrap(item);
      }
      return [];
    });
  }
  const keys = new Set<string>();
  for (const s of current) {
    const def = defOf(s);
    if (def.type === "object") { for (const k of Object.keys(def.shape ?? {})) keys.add(k); }
  }
  return [...keys];
}
