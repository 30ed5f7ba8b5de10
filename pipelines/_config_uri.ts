/**
 * Config sources named as the OpenTelemetry Collector names them in `--config`:
 *
 * | given | read from |
 * | --- | --- |
 * | `PATH` or `file:PATH` | the file |
 * | `env:VAR` | the environment variable's value, as YAML |
 * | `yaml:TEXT` | `TEXT` itself, where keys may join levels with `::` (`yaml:exporters::debug::verbosity: detailed`) |
 *
 * `http:` and `https:` sources are refused (tfo reads its config locally); anything else is a path.
 *
 * @module
 */
import type { RawEntry, RawMap, RawNode } from "./_raw.ts";

/** A resolved config source. */
export interface ConfigSource {
  /** The name diagnostics give: the path for files, the URI otherwise. */
  readonly name: string;
  /** Reads its text; rejects with a message fit for a diagnostic. */
  read(): Promise<string>;
  /** True for `yaml:` sources, whose `a::b` keys nest. */
  readonly splitKeys: boolean;
}

/**
 * Resolves a `--config` value to where its text comes from.
 * @param readFile reads a file path
 * @param env the environment `env:VAR` reads
 */
export function resolveConfigSource(
  spec: string,
  readFile: (path: string) => Promise<string>,
  env: Readonly<Record<string, string | undefined>>,
): ConfigSource {
  if (spec.startsWith("file:")) {
    const path = spec.slice("file:".length);
    return { name: path, read: () => readFile(path), splitKeys: false };
  }
  if (spec.startsWith("env:")) {
    const name = spec.slice("env:".length);
    return {
      name: spec,
      splitKeys: false,
      read: () => {
        const value = env[name];
        return value === undefined
          ? Promise.reject(new Error(`the environment variable ${name} is not set`))
          : Promise.resolve(value);
      },
    };
  }
  if (spec.startsWith("yaml:")) {
    const text = spec.slice("yaml:".length);
    return { name: spec, read: () => Promise.resolve(text), splitKeys: true };
  }
  if (/^https?:/.test(spec)) {
    return {
      name: spec,
      splitKeys: false,
      read: () =>
        Promise.reject(
          new Error("http and https config sources are not supported: use a file, env: or yaml:"),
        ),
    };
  }
  return { name: spec, read: () => readFile(spec), splitKeys: false };
}

/**
 * Turns map keys of the form `a::b::c` into nested maps (`a: {b: {c: …}}`), at every level, as
 * the Collector reads keys of a `yaml:` source. Sibling keys that share a prefix merge.
 */
export function splitColonKeys(node: RawNode): RawNode {
  if (node.kind === "seq") return { ...node, items: node.items.map(splitColonKeys) };
  if (node.kind !== "map") return node;
  let out: RawMap = { kind: "map", entries: new Map(), pos: node.pos };
  for (const [key, entry] of node.entries) {
    const parts = key.split("::");
    let value = splitColonKeys(entry.value);
    for (let i = parts.length - 1; i > 0; i--) {
      value = {
        kind: "map",
        entries: new Map([[parts[i]!, { keyPos: entry.keyPos, value }]]),
        pos: entry.keyPos,
      };
    }
    out = mergeInto(out, parts[0]!, { keyPos: entry.keyPos, value });
  }
  return out;
}

function mergeInto(map: RawMap, key: string, entry: RawEntry): RawMap {
  const entries = new Map(map.entries);
  const prior = entries.get(key);
  if (prior !== undefined && prior.value.kind === "map" && entry.value.kind === "map") {
    let merged: RawMap = prior.value;
    for (const [k, e] of entry.value.entries) merged = mergeInto(merged, k, e);
    entries.set(key, { keyPos: prior.keyPos, value: merged });
  } else {
    entries.set(key, entry);
  }
  return { ...map, entries };
}
