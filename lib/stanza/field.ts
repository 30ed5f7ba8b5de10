/**
 * Field paths, as the Collector's stanza spells them: `body`, `body.key.sub`, `attributes.key`,
 * `attributes["key.with.dots"]`, `resource.key`, `resource["k8s.pod.name"]`.
 *
 * @module
 */
import { type Entry, type EntryMap, isMap } from "./entry.ts";

/** The part of an entry a field starts from. */
export type FieldRoot = "body" | "attributes" | "resource";

/** A parsed field path. */
export interface Field {
  readonly root: FieldRoot;
  /** Keys below the root; empty for the root itself. */
  readonly keys: readonly string[];
  /** The path as written. */
  readonly text: string;
}

const ROOTS: readonly FieldRoot[] = ["body", "attributes", "resource"];

/** Parses a field path; throws an Error naming what is wrong. */
export function parseField(text: string): Field {
  const s = text.trim();
  let i = 0;
  while (i < s.length && s[i] !== "." && s[i] !== "[") i++;
  const root = s.slice(0, i) as FieldRoot;
  if (!ROOTS.includes(root)) {
    throw new Error(
      `Invalid field "${text}": it must start with body, attributes or resource`,
    );
  }
  const keys: string[] = [];
  while (i < s.length) {
    if (s[i] === ".") {
      let j = i + 1;
      while (j < s.length && s[j] !== "." && s[j] !== "[") j++;
      const key = s.slice(i + 1, j);
      if (key === "") throw new Error(`Invalid field "${text}": empty key`);
      keys.push(key);
      i = j;
    } else {
      const quote = s[i + 1];
      if (quote !== '"' && quote !== "'") {
        throw new Error(`Invalid field "${text}": expected a quoted key after "["`);
      }
      const end = s.indexOf(quote + "]", i + 2);
      if (end < 0) throw new Error(`Invalid field "${text}": unterminated bracket`);
      keys.push(s.slice(i + 2, end));
      i = end + 2;
    }
  }
  return { root, keys, text: s };
}

/** True when `text` is a valid field path. */
export function isField(text: string): boolean {
  try {
    parseField(text);
    return true;
  } catch {
    return false;
  }
}

function rootValue(entry: Entry, root: FieldRoot): unknown {
  return root === "body" ? entry.body : root === "attributes" ? entry.attributes : entry.resource;
}

/** The value at a field, or undefined. */
export function getField(entry: Entry, field: Field): unknown {
  let value = rootValue(entry, field.root);
  for (const key of field.keys) {
    if (!isMap(value)) return undefined;
    value = value[key];
  }
  return value;
}

/**
 * Sets a field. Setting the attributes or resource root merges a map into it; setting the body
 * root replaces the body; missing maps on the way are created (a non-map body becomes a map).
 */
export function setField(entry: Entry, field: Field, value: unknown): void {
  const keys = field.keys;
  if (keys.length === 0) {
    if (field.root === "body") {
      entry.body = value;
      return;
    }
    if (!isMap(value)) {
      throw new Error(`Cannot set ${field.root} to a value that is not a map`);
    }
    const target = field.root === "attributes" ? entry.attributes : entry.resource;
    for (const key in value) target[key] = value[key];
    return;
  }
  let map: EntryMap;
  if (field.root === "body") {
    if (!isMap(entry.body)) entry.body = {};
    map = entry.body as EntryMap;
  } else {
    map = field.root === "attributes" ? entry.attributes : entry.resource;
  }
  for (let i = 0; i < keys.length - 1; i++) {
    const key = keys[i]!;
    let next = map[key];
    if (!isMap(next)) {
      next = {};
      map[key] = next;
    }
    map = next as EntryMap;
  }
  map[keys[keys.length - 1]!] = value;
}

/** Removes a field and returns what it held (undefined when absent). */
export function deleteField(entry: Entry, field: Field): unknown {
  const keys = field.keys;
  if (keys.length === 0) {
    if (field.root === "body") {
      const old = entry.body;
      entry.body = undefined;
      return old;
    }
    const old = field.root === "attributes" ? entry.attributes : entry.resource;
    if (field.root === "attributes") entry.attributes = {};
    else entry.resource = {};
    return old;
  }
  let value = rootValue(entry, field.root);
  for (let i = 0; i < keys.length - 1; i++) {
    if (!isMap(value)) return undefined;
    value = value[keys[i]!];
  }
  if (!isMap(value)) return undefined;
  const last = keys[keys.length - 1]!;
  if (!(last in value)) return undefined;
  const old = value[last];
  delete value[last];
  return old;
}
