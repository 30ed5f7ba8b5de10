/**
 * Building the translated config as raw nodes that remember where in the TFO-Agent file they came
 * from, so that a diagnostic about a translated value points at the TFO-Agent key behind it.
 *
 * @module
 */
import { locate } from "../_raw.ts";
import type {
  ConfigPath,
  Position,
  RawEntry,
  RawMap,
  RawNode,
  RawScalar,
  RawSeq,
} from "../_raw.ts";

/** A scalar node at `pos`. */
export function scalar(value: string | number | boolean | null, pos: Position): RawScalar {
  return { kind: "scalar", value, pos, quoted: typeof value === "string" };
}

/** A list node at `pos`. */
export function list(pos: Position, items: readonly RawNode[]): RawSeq {
  return { kind: "seq", items, pos };
}

/**
 * A map node at `pos`; entries whose value is undefined are left out. Each key takes the position
 * of its value (a map value's position is where its TFO-Agent key is written).
 */
export function map(pos: Position, entries: Readonly<Record<string, RawNode | undefined>>): RawMap {
  const out = new Map<string, RawEntry>();
  for (const [key, value] of Object.entries(entries)) {
    if (value !== undefined) out.set(key, { keyPos: value.pos, value });
  }
  return { kind: "map", entries: out, pos };
}

/** Read access to the TFO-Agent file as written (before environment expansion). */
export interface Source {
  /** The node at `path` as written, if present. */
  node(path: ConfigPath): RawNode | undefined;
  /** True when `path` is written in the file (a null value counts as absent). */
  has(path: ConfigPath): boolean;
  /** Where `path` is written: its key, or the deepest key of it that exists. */
  at(path: ConfigPath): Position;
  /**
   * The scalar at `path` as written (environment references kept) when present and not empty once
   * expanded, else `value` at the position of the nearest existing key.
   */
  copy(path: ConfigPath, value: string | number | boolean): RawNode;
  /** `value` (a derived value) at the position of `path`. */
  derived(path: ConfigPath, value: string | number | boolean | null): RawScalar;
}

/**
 * A {@linkcode Source} over the merged TFO-Agent tree as written.
 * @param expanded the same tree with environment references expanded: a value written as a
 * reference that expands to nothing is not copied (the default given to `copy` is used instead)
 */
export function sourceOf(root: RawMap, expanded: RawMap): Source {
  const node = (path: ConfigPath) => locate(root, path, root.pos).node;
  const empty = (path: ConfigPath) => {
    const e = locate(expanded, path, expanded.pos).node;
    return e?.kind === "scalar" && (e.value === null || e.value === "");
  };
  const at = (path: ConfigPath) => locate(root, path, root.pos, true).pos;
  const has = (path: ConfigPath) => {
    const n = node(path);
    return n !== undefined && !(n.kind === "scalar" && n.value === null);
  };
  return {
    node,
    has,
    at,
    copy(path, value) {
      const n = node(path);
      return n?.kind === "scalar" && n.value !== null && !empty(path) ? n : scalar(value, at(path));
    },
    derived: (path, value) => scalar(value, at(path)),
  };
}
