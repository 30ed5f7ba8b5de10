/**
 * The raw config tree: YAML values that remember where they came from (file, line, column), so
 * that merging several files keeps, for every value, the position of the file that won.
 *
 * @module
 */

/** A position in a config source. Line and column are 1-based; line 0 means the whole source. */
export interface Position {
  /** The source: a file path, the name of a text config, or `--set`. */
  readonly file: string;
  /** 1-based line. */
  readonly line: number;
  /** 1-based column. */
  readonly col: number;
}

/** A scalar: string, number, boolean or null. */
export interface RawScalar {
  /** Tells the node kinds apart. */
  readonly kind: "scalar";
  /** The value as YAML typed it (or the expansion typed it). */
  readonly value: string | number | boolean | null;
  /** Where the value starts. */
  readonly pos: Position;
  /** True when the YAML scalar was quoted (a quoted env reference stays a string). */
  readonly quoted: boolean;
  /**
   * Set when the value was typed from an environment expansion (`port: ${env:PORT}` gives the
   * number 4318): the expanded text, used instead where the schema wants a string.
   */
  readonly text?: string;
  /**
   * For a string from a YAML source: the position of the character at `offset` (UTF-16 units)
   * of the value, so a check on the content of a string (an OTTL statement) can point inside it.
   */
  readonly at?: (offset: number) => Position;
}

/** A list. */
export interface RawSeq {
  /** Tells the node kinds apart. */
  readonly kind: "seq";
  /** The items, in order. */
  readonly items: readonly RawNode[];
  /** Where the list starts. */
  readonly pos: Position;
}

/** One key of a map with the position of the key itself. */
export interface RawEntry {
  /** Where the key is written. */
  readonly keyPos: Position;
  /** The value. */
  readonly value: RawNode;
}

/** A map with string keys, in source order. */
export interface RawMap {
  /** Tells the node kinds apart. */
  readonly kind: "map";
  /** The entries by key, in source order. */
  readonly entries: ReadonlyMap<string, RawEntry>;
  /** Where the map starts (its first key, for a block map). */
  readonly pos: Position;
}

/** Any node of the raw config tree. */
export type RawNode = RawScalar | RawSeq | RawMap;

/** A path into a config: map keys and list indexes. */
export type ConfigPath = readonly (string | number)[];

/** Formats a path the way diagnostics show it: `exporters.otlphttp/eu.headers`, `a.list[2]`. */
export function formatPath(path: ConfigPath): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else out += out === "" ? seg : `.${seg}`;
  }
  return out;
}

/**
 * Converts a raw node to a plain JavaScript value for schema parsing. A value typed from an
 * environment expansion is given as its text when its node is in `asText`; one that expanded to
 * nothing (null) is left out of its map, so the schema default applies, as in the Collector.
 */
export function toPlain(node: RawNode, asText: ReadonlySet<RawNode> = new Set()): unknown {
  switch (node.kind) {
    case "scalar":
      if (node.text !== undefined && asText.has(node)) return node.text;
      return node.value;
    case "seq":
      return node.items.map((item) => toPlain(item, asText));
    case "map": {
      const out: Record<string, unknown> = {};
      for (const [key, entry] of node.entries) {
        const v = entry.value;
        if (v.kind === "scalar" && v.text !== undefined && v.value === null && !asText.has(v)) {
          continue;
        }
        Object.defineProperty(out, key, {
          value: toPlain(v, asText),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    }
  }
}

/** What {@linkcode locate} found for a path. */
export interface Located {
  /** The node at the path, when the whole path exists. */
  readonly node: RawNode | undefined;
  /** The best position for a message about the path. */
  readonly pos: Position;
}

/**
 * Finds the node at `path` below `start`. When the path does not exist (a required key is
 * missing), the position is that of the deepest key that does.
 * @param startPos the position to use when not even the first segment exists
 * @param keyPos for an existing path, point at the last key rather than at the value
 */
export function locate(
  start: RawNode | undefined,
  path: ConfigPath,
  startPos: Position,
  keyPos = false,
): Located {
  let node = start;
  let pos = startPos;
  let lastKeyPos = startPos;
  for (const seg of path) {
    // A missing key: point at the key of the map that lacks it.
    const missing = { node: undefined, pos: lastKeyPos };
    if (node === undefined) return missing;
    if (node.kind === "map") {
      const entry = node.entries.get(String(seg));
      if (entry === undefined) return missing;
      node = entry.value;
      lastKeyPos = entry.keyPos;
      pos = emptyAt(node) ? entry.keyPos : node.pos;
    } else if (node.kind === "seq" && typeof seg === "number") {
      const item = node.items[seg];
      if (item === undefined) return missing;
      node = item;
      lastKeyPos = item.pos;
      pos = item.pos;
    } else {
      return missing;
    }
  }
  if (keyPos) return { node, pos: lastKeyPos };
  // A map's own range starts at its first key: point at the key naming it instead.
  if (node !== undefined && node.kind !== "scalar" && path.length > 0) pos = lastKeyPos;
  return { node, pos };
}

function emptyAt(node: RawNode): boolean {
  return node.kind === "scalar" && node.value === null;
}

/** A loaded config: the merged tree and its sources in load order. */
export interface RawConfig {
  /** The merged top-level map. */
  readonly root: RawMap;
  /** Source names in load order (texts, files, then `--set`); diagnostics sort by it. */
  readonly sources: readonly string[];
}
