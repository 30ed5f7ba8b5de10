/**
 * Config loading: reads YAML sources, merges them in order, applies `--set` overrides and expands
 * environment references. The result is a {@linkcode RawConfig} whose every value remembers the
 * file, line and column it came from; `validateConfig` (in `validate.ts`, which imports this module,
 * never the other way) turns it into a resolved config.
 *
 * A file may be given as the Collector names config sources: `PATH`, `file:PATH`, `env:VAR` (the
 * variable's value is the YAML) or `yaml:TEXT` (keys may join levels with `::`), see
 * `_config_uri.ts`.
 *
 * Merge order: `texts` first (an embedded default, say), then `files`, then `--set` flags. Maps merge
 * key by key, anything else (lists included) is replaced by the later value; a null value (`otlp:`)
 * over a map keeps the map.
 *
 * `--set path.to.key=value` splits the path on `.`, or on `::` when the path contains `::` (for
 * component names that contain a dot: `--set exporters::otlp/a.b::endpoint=x`). Component IDs may
 * contain `/`: `--set exporters.otlp/2.endpoint=x` works. The value is read as a YAML scalar or
 * flow collection (`5s`, `true`, `[otlp, debug]`, `{a: b}`); anything else is taken as text.
 * Diagnostics about a `--set` value report the file `--set`, the flag's number (1-based) as the
 * line and the value's column in the argument.
 *
 * Environment references (`${env:VAR}`, `${VAR}`, `${env:VAR:-default}`, `$$` for `$`) are expanded
 * after merging, in scalar strings only, so only values that won are expanded.
 *
 * @module
 */
import type { Factory, Kind } from "../components/component.ts";
import type { Signal } from "../lib/pdata/types.ts";
import type { LogLevel } from "../lib/telemetry/logger.ts";
import { sortDiagnostics } from "./diagnostics.ts";
import type { Diagnostic } from "./diagnostics.ts";
import { expandTree } from "./_env.ts";
import type { Env } from "./_env.ts";
import { locate } from "./_raw.ts";
import type { ConfigPath, Position, RawConfig, RawEntry, RawMap, RawNode } from "./_raw.ts";
import { parseYamlSource } from "./_yaml_source.ts";
import { loadConfigLibs } from "../lib/config/config_libs.ts";
import { resolveConfigSource, splitColonKeys } from "./_config_uri.ts";
import { isTfoAgentShape, translateTfoAgent } from "./tfo_agent/translate.ts";

export { formatPath, toPlain } from "./_raw.ts";
export type {
  ConfigPath,
  Position,
  RawConfig,
  RawEntry,
  RawMap,
  RawNode,
  RawScalar,
  RawSeq,
} from "./_raw.ts";
export { expandString } from "./_env.ts";
export { formatDiagnostic, hasErrors, sortDiagnostics } from "./diagnostics.ts";
export type { Diagnostic } from "./diagnostics.ts";
export type { Env, Expansion } from "./_env.ts";
export { isSecretKey, isSecretPath, redactConfig, REDACTED } from "./_secrets.ts";

/** One configured component. */
export interface ComponentConfig {
  /** The ID as written: `type` or `type/name`. */
  id: string;
  /** The factory's type (the canonical one when the config used an alias). */
  type: string;
  /** The section it was defined in. */
  kind: Kind;
  /** The factory that makes it. */
  factory: Factory;
  /** The factory schema's output: the user's values over the defaults. */
  config: unknown;
  /** Where its ID is written, for errors found after validation (a failed start). */
  position?: Position;
}

/** One pipeline of `service.pipelines`. */
export interface PipelineConfig {
  /** `traces` or `traces/agent`. */
  id: string;
  /** The signal, from the part of the ID before any `/`. */
  signal: Signal;
  /** Receiver and connector IDs, in config order. */
  receivers: string[];
  /** Processor IDs, in pipeline order. */
  processors: string[];
  /** Exporter and connector IDs, in config order. */
  exporters: string[];
}

/** One pull Prometheus reader of `service.telemetry.metrics.readers` (or the older `address`). */
export interface PrometheusReaderConfig {
  /** Where `/metrics` is served, `host:port`. @default "127.0.0.1:8888" */
  endpoint: string;
  /** Counters without `_total`. @default true */
  withoutTypeSuffix: boolean;
  /** Names without unit suffixes (`_seconds`, `_bytes`). @default true */
  withoutUnits: boolean;
  /** No `otel_scope_*` labels. @default true */
  withoutScopeInfo: boolean;
}

/** `service.telemetry`: tfo's own metrics and logs. */
export interface TelemetryConfig {
  /** tfo's own metrics. */
  metrics: {
    /** How many of tfo's own metrics to record; `none` serves none. @default "normal" */
    level: "none" | "basic" | "normal" | "detailed";
    /** The pull readers, each serving `/metrics` on its endpoint. */
    readers: PrometheusReaderConfig[];
  };
  /** tfo's own logs. */
  logs: {
    /** The least severe level written. @default "info" */
    level: LogLevel;
    /** JSON lines or console text. @default "json" */
    encoding: "json" | "console";
  };
  /** Attributes describing this tfo instance. */
  resource?: Record<string, string>;
}

/** A validated config, ready for the graph builder. */
export interface ResolvedConfig {
  /** Receivers by ID, in config order. */
  receivers: Map<string, ComponentConfig>;
  /** Processors by ID, in config order. */
  processors: Map<string, ComponentConfig>;
  /** Exporters by ID, in config order. */
  exporters: Map<string, ComponentConfig>;
  /** Connectors by ID, in config order. */
  connectors: Map<string, ComponentConfig>;
  /** Extensions by ID, in config order (all defined ones, started or not). */
  extensions: Map<string, ComponentConfig>;
  /** The `service` section. */
  service: {
    /** Extension IDs to start, in order. */
    extensions: string[];
    /** Pipelines by ID, in config order. */
    pipelines: Map<string, PipelineConfig>;
    /** tfo's own metrics and logs. */
    telemetry: TelemetryConfig;
    /** `service.shutdown_timeout`: how long a graceful stop may take, when set. */
    shutdownTimeoutMs?: number;
    /**
     * `service.workers`: how many Deno workers run the graph (`auto`: the cores the process may
     * use). Above 1, `pipelines/placement.ts` splits the graph and `pipelines/supervisor.ts` runs
     * it. @default 1
     */
    workers?: number;
  };
}

/** The file name diagnostics give for `--set` values. */
export const SET_SOURCE = "--set";

/** Options of {@linkcode loadConfig}. */
export interface LoadOptions {
  /** Config files or sources (`file:PATH`, `env:VAR`, `yaml:TEXT`), merged in order. */
  files: string[];
  /** `path.to.key=value` overrides, applied after every file, in order. */
  set?: string[];
  /** The environment for `${env:VAR}`. @default Deno.env.toObject() */
  env?: Record<string, string | undefined>;
  /** Reads a file. @default Deno.readTextFile */
  readFile?: (path: string) => Promise<string>;
  /** Configs given as text (the embedded default, say), merged before the files. */
  texts?: { name: string; text: string }[];
}

/** What {@linkcode loadConfig} returns. */
export interface LoadResult {
  /** The merged, expanded config; undefined when a source is unreadable or not valid YAML. */
  raw: RawConfig | undefined;
  /** Problems found while loading (syntax errors, bad references, unset variables), sorted. */
  diagnostics: Diagnostic[];
  /**
   * Set when the sources were in the TFO-Agent shape: the translated OpenTelemetry-shaped tree
   * before environment expansion (what `tfo convert` prints).
   */
  tfoAgent?: RawMap;
}

/**
 * Loads, merges and expands config sources. Every problem of every source is reported; syntax
 * errors, unreadable files and a top level that is not a map leave `raw` undefined.
 */
export async function loadConfig(opts: LoadOptions): Promise<LoadResult> {
  await loadConfigLibs();
  const readFile = opts.readFile ?? ((path: string) => Deno.readTextFile(path));
  const env: Env = opts.env ?? Deno.env.toObject();
  const set = opts.set ?? [];
  const texts = opts.texts ?? [];
  const diagnostics: Diagnostic[] = [];
  const resolved = opts.files.map((spec) => resolveConfigSource(spec, readFile, env));
  const sources = [...texts.map((t) => t.name), ...resolved.map((r) => r.name)];
  if (set.length > 0) sources.push(SET_SOURCE);
  if (texts.length === 0 && opts.files.length === 0) {
    diagnostics.push({
      severity: "error",
      file: "",
      line: 0,
      col: 0,
      path: "",
      message: "no config given: pass --config with a YAML file",
    });
    return { raw: undefined, diagnostics };
  }

  let ok = true;
  const trees: RawNode[] = [];
  const inputs: { name: string; read: () => Promise<string>; splitKeys: boolean }[] = [
    ...texts.map((t) => ({ name: t.name, read: () => Promise.resolve(t.text), splitKeys: false })),
    ...resolved,
  ];
  for (const input of inputs) {
    let text: string;
    try {
      text = await input.read();
    } catch (error) {
      ok = false;
      const reason = error instanceof Error ? error.message : String(error);
      diagnostics.push({
        severity: "error",
        file: input.name,
        line: 0,
        col: 0,
        path: "",
        message: input.name.startsWith("env:") || input.name.startsWith("yaml:") ||
            /^https?:/.test(input.name)
          ? `cannot read the config source: ${reason}`
          : `cannot read the config file: ${reason}`,
      });
      continue;
    }
    const parsed = parseYamlSource(input.name, text);
    diagnostics.push(...parsed.diagnostics);
    if (parsed.node === undefined) {
      ok = false;
      continue;
    }
    if (parsed.node.kind === "scalar" && parsed.node.value === null) continue; // empty file
    if (parsed.node.kind !== "map") {
      ok = false;
      diagnostics.push({
        severity: "error",
        ...parsed.node.pos,
        path: "",
        message: "the config must be a map of sections (receivers, exporters, service…)",
      });
      continue;
    }
    trees.push(input.splitKeys ? splitColonKeys(parsed.node) : parsed.node);
  }

  const firstPos: Position = { file: sources[0] ?? "", line: 1, col: 1 };
  let root: RawNode = { kind: "map", entries: new Map(), pos: firstPos };
  for (const tree of trees) root = mergeNodes(root, tree);
  set.forEach((arg, i) => {
    const override = parseSetFlag(arg, i);
    if ("message" in override) {
      ok = false;
      diagnostics.push(override);
      return;
    }
    root = mergeNodes(root, override.node);
  });
  if (!ok) return { raw: undefined, diagnostics: sortDiagnostics(diagnostics, sources) };

  // The TFO-Agent shape (telemetryflow/agent/collectors, no receivers/service) is translated first;
  // the result keeps the positions of the TFO-Agent keys it came from.
  let tfoAgent: RawMap | undefined;
  if (isTfoAgentShape(root)) {
    const translated = translateTfoAgent(root, env);
    diagnostics.push(...translated.diagnostics);
    if (translated.root === undefined) {
      return { raw: undefined, diagnostics: sortDiagnostics(diagnostics, sources) };
    }
    root = tfoAgent = translated.root;
  }
  const expanded = expandTree(root, env, diagnostics) as RawMap;
  return {
    raw: { root: expanded, sources },
    diagnostics: sortDiagnostics(diagnostics, sources),
    ...(tfoAgent === undefined ? {} : { tfoAgent }),
  };
}

/** The node at a path of a loaded config (`["exporters", "otlp/2", "endpoint"]`), if any. */
export function nodeAt(raw: RawConfig, path: ConfigPath): RawNode | undefined {
  return locate(raw.root, path, raw.root.pos).node;
}

/**
 * Deep-merges `over` onto `base`: maps merge key by key, anything else is replaced. A null over a
 * map keeps the map (`otlp:` in an override file does not wipe the base file's settings). The key
 * of a merged map keeps its first position; values keep the position of the file that won.
 */
export function mergeNodes(base: RawNode, over: RawNode): RawNode {
  if (base.kind === "map" && over.kind === "scalar" && over.value === null) return base;
  if (base.kind !== "map" || over.kind !== "map") return over;
  const entries = new Map<string, RawEntry>(base.entries);
  for (const [key, entry] of over.entries) {
    const prior = entries.get(key);
    if (prior === undefined) {
      entries.set(key, entry);
      continue;
    }
    const value = mergeNodes(prior.value, entry.value);
    // A merged map keeps the key where it was first written; a replaced value takes the new key.
    entries.set(key, { keyPos: value === entry.value ? entry.keyPos : prior.keyPos, value });
  }
  return { kind: "map", entries, pos: over.pos };
}

/**
 * Parses one `--set` flag into the tree it overrides with.
 * @param index the flag's 0-based index among the `--set` flags
 */
export function parseSetFlag(arg: string, index: number): { node: RawMap } | Diagnostic {
  const line = index + 1;
  const eq = arg.indexOf("=");
  const fail = (col: number, path: string, message: string): Diagnostic => ({
    severity: "error",
    file: SET_SOURCE,
    line,
    col,
    path,
    message,
  });
  if (eq < 0) return fail(1, "", 'must be "path.to.key=value"');
  const keyText = arg.slice(0, eq);
  const segments = keyText.includes("::") ? keyText.split("::") : keyText.split(".");
  if (segments.some((s) => s.trim() === "")) {
    return fail(1, keyText, 'the path must be keys separated by "." (or "::"), none empty');
  }
  const valueText = arg.slice(eq + 1);
  const valueCol = eq + 2;
  const valuePos: Position = { file: SET_SOURCE, line, col: valueCol };
  const parsed = parseYamlSource(SET_SOURCE, valueText, {
    place: (_l, c) => ({ line, col: eq + 1 + c }),
  });
  let value: RawNode | undefined = parsed.node;
  const trimmed = valueText.trimStart();
  if (
    value === undefined || parsed.diagnostics.length > 0 ||
    (value.kind !== "scalar" && !trimmed.startsWith("[") && !trimmed.startsWith("{"))
  ) {
    value = { kind: "scalar", value: valueText, pos: valuePos, quoted: true };
  }
  const keyPos: Position = { file: SET_SOURCE, line, col: 1 };
  let node: RawNode = value;
  for (let i = segments.length - 1; i >= 0; i--) {
    node = {
      kind: "map",
      entries: new Map([[segments[i]!, { keyPos, value: node }]]),
      pos: keyPos,
    };
  }
  return { node: node as RawMap };
}
