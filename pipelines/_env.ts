/**
 * Environment expansion in scalar strings: `${env:VAR}`, `${VAR}`, `${env:VAR:-default}` and `$$`
 * for a literal `$`. An unset variable without a default expands to the empty string, as in the
 * OpenTelemetry Collector, with a warning. A plain (unquoted) value that is exactly one reference
 * is typed from its expansion: `port: ${env:PORT}` with `PORT=4318` gives the number 4318.
 *
 * @module
 */
import { yamlLib } from "../lib/config/yaml.ts";
import type { Diagnostic } from "./diagnostics.ts";
import { formatPath } from "./_raw.ts";
import type { ConfigPath, RawEntry, RawNode, RawScalar } from "./_raw.ts";

/** The environment expansion reads. */
export type Env = Readonly<Record<string, string | undefined>>;

/** The outcome of expanding one string. */
export interface Expansion {
  /** The expanded text. */
  text: string;
  /** True when the whole input was one reference. */
  whole: boolean;
  /** Variables that were not set and had no default. */
  unset: string[];
  /** Problems with the references themselves. */
  errors: string[];
}

const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*$/;

/** Expands the references in one string. */
export function expandString(input: string, env: Env): Expansion {
  let text = "";
  const unset: string[] = [];
  const errors: string[] = [];
  let refs = 0;
  let literal = false;
  let i = 0;
  while (i < input.length) {
    const dollar = input.indexOf("$", i);
    if (dollar < 0) {
      text += input.slice(i);
      literal = true;
      break;
    }
    if (dollar > i) literal = true;
    text += input.slice(i, dollar);
    const next = input[dollar + 1];
    if (next === "$") {
      text += "$";
      literal = true;
      i = dollar + 2;
      continue;
    }
    if (next !== "{") {
      text += "$";
      literal = true;
      i = dollar + 1;
      continue;
    }
    const close = input.indexOf("}", dollar + 2);
    if (close < 0) {
      errors.push('unterminated "${" (write "$$" for a literal "$")');
      text += input.slice(dollar);
      break;
    }
    const ref = input.slice(dollar + 2, close);
    refs++;
    i = close + 1;
    const resolved = resolveRef(ref, env);
    if (typeof resolved === "string") {
      text += resolved;
    } else if ("error" in resolved) {
      errors.push(resolved.error);
      text += input.slice(dollar, close + 1);
    } else {
      unset.push(resolved.unset);
    }
  }
  return { text, whole: refs === 1 && !literal, unset, errors };
}

function resolveRef(ref: string, env: Env): string | { unset: string } | { error: string } {
  let body = ref;
  const colon = ref.indexOf(":");
  if (colon >= 0 && ref.slice(colon, colon + 2) !== ":-") {
    const scheme = ref.slice(0, colon);
    if (scheme !== "env") {
      return SCHEME.test(scheme)
        ? { error: `unsupported reference "\${${scheme}:…}": only "\${env:NAME}" is supported` }
        : { error: `invalid reference "\${${ref}}"` };
    }
    body = ref.slice(colon + 1);
  }
  const dash = body.indexOf(":-");
  const name = dash < 0 ? body : body.slice(0, dash);
  if (!VAR_NAME.test(name)) {
    return { error: `invalid environment variable name "${name}" in "\${${ref}}"` };
  }
  const value = env[name];
  if (value !== undefined) return value;
  if (dash >= 0) return body.slice(dash + 2);
  return { unset: name };
}

/** Expands every scalar string of a tree; keys are left alone. Returns a new tree. */
export function expandTree(
  node: RawNode,
  env: Env,
  diagnostics: Diagnostic[],
  path: ConfigPath = [],
): RawNode {
  switch (node.kind) {
    case "scalar":
      return expandScalar(node, env, diagnostics, path);
    case "seq":
      return {
        ...node,
        items: node.items.map((item, i) => expandTree(item, env, diagnostics, [...path, i])),
      };
    case "map": {
      const entries = new Map<string, RawEntry>();
      for (const [key, entry] of node.entries) {
        entries.set(key, {
          keyPos: entry.keyPos,
          value: expandTree(entry.value, env, diagnostics, [...path, key]),
        });
      }
      return { ...node, entries };
    }
  }
}

function expandScalar(
  node: RawScalar,
  env: Env,
  diagnostics: Diagnostic[],
  path: ConfigPath,
): RawScalar {
  if (typeof node.value !== "string" || !node.value.includes("$")) return node;
  const x = expandString(node.value, env);
  if (x.text === node.value && x.errors.length === 0 && x.unset.length === 0) return node;
  const where = { file: node.pos.file, line: node.pos.line, col: node.pos.col };
  for (const message of x.errors) {
    diagnostics.push({ severity: "error", ...where, path: formatPath(path), message });
  }
  for (const name of x.unset) {
    diagnostics.push({
      severity: "warning",
      ...where,
      path: formatPath(path),
      message: `environment variable "${name}" is not set; it expands to an empty string`,
    });
  }
  if (x.whole && x.errors.length === 0 && !node.quoted) {
    const typed = scalarFromText(x.text);
    if (typed !== undefined) {
      return { kind: "scalar", value: typed, pos: node.pos, quoted: false, text: x.text };
    }
  }
  return { kind: "scalar", value: x.text, pos: node.pos, quoted: node.quoted };
}

/** The number, boolean or null a text reads as in YAML, or undefined for anything else. */
function scalarFromText(text: string): number | boolean | null | undefined {
  if (text.trim() === "") return null;
  if (text.includes("\n")) return undefined;
  const { isScalar, parseDocument } = yamlLib();
  const doc = parseDocument(text, { prettyErrors: false });
  if (doc.errors.length > 0 || !isScalar(doc.contents) || doc.contents.type !== "PLAIN") {
    return undefined;
  }
  const v = doc.contents.value;
  return typeof v === "number" || typeof v === "boolean" || v === null ? v : undefined;
}
