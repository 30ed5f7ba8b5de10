/**
 * Parses one YAML config source into a {@linkcode RawNode} tree that keeps the line and column of
 * every key and value. YAML syntax errors become diagnostics, all of them, with their position.
 *
 * @module
 */
import type { Alias, Document, Scalar, YAMLMap, YAMLSeq } from "yaml";
import { yamlLib } from "../lib/config/yaml.ts";
import type { Diagnostic } from "./diagnostics.ts";
import { formatPath } from "./_raw.ts";
import type { ConfigPath, Position, RawEntry, RawMap, RawNode } from "./_raw.ts";

/** Options of {@linkcode parseYamlSource}. */
export interface ParseSourceOptions {
  /**
   * Maps a 1-based line and column of the text to the position reported (used by `--set`, whose
   * value sits inside a command-line argument). @default the identity
   */
  place?: (line: number, col: number) => { line: number; col: number };
}

/** The outcome of parsing one source. */
export interface ParsedSource {
  /** The tree; undefined when the text has syntax errors. An empty text gives a null scalar. */
  node: RawNode | undefined;
  diagnostics: Diagnostic[];
}

const MAX_ALIAS_DEPTH = 64;

// The yaml library loads lazily (`loadYaml()`, awaited by every config loading path).
const isAlias = (node: unknown): node is Alias => yamlLib().isAlias(node);
const isMap = (node: unknown): node is YAMLMap => yamlLib().isMap(node);
const isScalar = (node: unknown): node is Scalar => yamlLib().isScalar(node);
const isSeq = (node: unknown): node is YAMLSeq => yamlLib().isSeq(node);

/** Parses a YAML text named `file` into a positioned tree. */
export function parseYamlSource(
  file: string,
  text: string,
  options: ParseSourceOptions = {},
): ParsedSource {
  const { LineCounter, parseDocument } = yamlLib();
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, merge: true });
  const place = options.place ?? ((line, col) => ({ line, col }));
  const posAt = (offset: number): Position => {
    const lc = lineCounter.linePos(offset);
    return { file, ...place(lc.line, lc.col) };
  };
  const diagnostics: Diagnostic[] = [];
  const report = (severity: Diagnostic["severity"], pos: Position, path: ConfigPath, msg: string) =>
    diagnostics.push({ severity, ...pos, path: formatPath(path), message: msg });

  for (const e of doc.errors) report("error", posAt(e.pos[0]), [], yamlMessage(e.message));
  for (const w of doc.warnings) report("warning", posAt(w.pos[0]), [], yamlMessage(w.message));
  if (doc.errors.length > 0) return { node: undefined, diagnostics };

  const converter = new Converter(doc, posAt, report, text);
  const node = converter.convert(doc.contents, [], posAt(0), 0);
  return { node: converter.failed ? undefined : node, diagnostics };
}

function yamlMessage(message: string): string {
  // The yaml library starts with a capital and may end with a period; diagnostics do neither.
  const m = message.replace(/\.$/, "");
  return m.charAt(0).toLowerCase() + m.slice(1);
}

type Report = (
  severity: Diagnostic["severity"],
  pos: Position,
  path: ConfigPath,
  message: string,
) => void;

interface YamlRange {
  range?: [number, number, number] | null;
}

class Converter {
  failed = false;
  readonly #doc: Document;
  readonly #text: string;
  readonly #posAt: (offset: number) => Position;
  readonly #report: Report;

  constructor(
    doc: Document,
    posAt: (offset: number) => Position,
    report: Report,
    text: string,
  ) {
    this.#doc = doc;
    this.#text = text;
    this.#posAt = posAt;
    this.#report = report;
  }

  #error(pos: Position, path: ConfigPath, message: string): void {
    this.failed = true;
    this.#report("error", pos, path, message);
  }

  #pos(node: unknown, fallback: Position): Position {
    const range = (node as YamlRange | null)?.range;
    return range ? this.#posAt(range[0]) : fallback;
  }

  convert(node: unknown, path: ConfigPath, fallback: Position, depth: number): RawNode {
    const pos = this.#pos(node, fallback);
    if (node === null || node === undefined) {
      return { kind: "scalar", value: null, pos: fallback, quoted: false };
    }
    if (isAlias(node)) {
      const target = node.resolve(this.#doc);
      if (target === undefined) {
        this.#error(pos, path, `unknown alias "*${node.source}"`);
        return { kind: "scalar", value: null, pos, quoted: false };
      }
      if (depth >= MAX_ALIAS_DEPTH) {
        this.#error(pos, path, "aliases nest too deeply");
        return { kind: "scalar", value: null, pos, quoted: false };
      }
      return this.convert(target, path, pos, depth + 1);
    }
    if (isScalar(node)) {
      const raw = node.value;
      const quoted = node.type !== undefined && node.type !== "PLAIN";
      const empty = node.range !== undefined && node.range !== null &&
        node.range[0] === node.range[1];
      const at = raw === null && empty ? fallback : pos;
      if (
        raw === null || typeof raw === "string" || typeof raw === "boolean" ||
        typeof raw === "number"
      ) {
        if (typeof raw === "string" && node.range) {
          const start = node.range[0];
          const type = node.type ?? "PLAIN";
          const text = this.#text;
          const posAt = this.#posAt;
          const inside = (offset: number) => posAt(sourceOffset(text, start, type, offset));
          return { kind: "scalar", value: raw, pos: at, quoted, at: inside };
        }
        return { kind: "scalar", value: raw, pos: at, quoted };
      }
      if (typeof raw === "bigint") return { kind: "scalar", value: Number(raw), pos: at, quoted };
      return { kind: "scalar", value: String(node.source ?? raw), pos: at, quoted: true };
    }
    if (isSeq(node)) {
      const items = node.items.map((item, i) =>
        this.convert(item, [...path, i], this.#pos(item, pos), depth)
      );
      return { kind: "seq", items, pos };
    }
    if (isMap(node)) return this.#convertMap(node.items, path, pos, depth);
    this.#error(pos, path, "unsupported YAML node");
    return { kind: "scalar", value: null, pos, quoted: false };
  }

  #convertMap(
    pairs: readonly { key: unknown; value: unknown }[],
    path: ConfigPath,
    pos: Position,
    depth: number,
  ): RawMap {
    const entries = new Map<string, RawEntry>();
    const merged: RawMap[] = [];
    for (const pair of pairs) {
      const keyNode = pair.key;
      const keyPos = this.#pos(keyNode, pos);
      if (isScalar(keyNode) && typeof keyNode.value === "symbol") {
        // `<<: *base` merge keys: the keys of the merged maps, where not given here.
        const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
        for (const source of sources) {
          const value = this.convert(source, path, keyPos, depth + 1);
          if (value.kind === "map") merged.push(value);
          else this.#error(keyPos, path, 'a "<<" merge key needs a map or a list of maps');
        }
        continue;
      }
      if (!isScalar(keyNode) || keyNode.value === null || typeof keyNode.value === "object") {
        this.#error(keyPos, path, "map keys must be plain strings");
        continue;
      }
      const key = String(keyNode.value);
      const value = this.convert(pair.value, [...path, key], keyPos, depth);
      entries.set(key, { keyPos, value });
    }
    for (const source of merged) {
      for (const [key, entry] of source.entries) if (!entries.has(key)) entries.set(key, entry);
    }
    return { kind: "map", entries, pos };
  }
}

/**
 * The source offset of the character at `offset` of a scalar's value that starts at `start`:
 * walks the source undoing quoting (`''`, backslash escapes), line folding and block indentation.
 */
export function sourceOffset(text: string, start: number, type: string, offset: number): number {
  let i = start;
  let n = 0;
  let blockIndent = -1;
  if (type === "QUOTE_SINGLE" || type === "QUOTE_DOUBLE") i++;
  else if (type === "BLOCK_LITERAL" || type === "BLOCK_FOLDED") {
    const nl = text.indexOf("\n", i);
    if (nl < 0) return start;
    i = nl + 1;
    let j = i;
    while (text[j] === " ") j++;
    blockIndent = j - i;
    i = j;
  }
  while (i < text.length && n < offset) {
    const c = text[i]!;
    if (c === "\n") {
      i++;
      if (blockIndent >= 0) {
        let j = 0;
        while (j < blockIndent && text[i] === " ") {
          i++;
          j++;
        }
      } else {
        while (text[i] === " " || text[i] === "\t") i++;
      }
      n++;
      continue;
    }
    if (type === "QUOTE_SINGLE" && c === "'" && text[i + 1] === "'") {
      i += 2;
    } else if (type === "QUOTE_DOUBLE" && c === "\\") {
      const e = text[i + 1];
      i += e === "x" ? 4 : e === "u" ? 6 : e === "U" ? 10 : 2;
    } else i++;
    n++;
  }
  return i;
}
