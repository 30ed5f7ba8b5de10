/**
 * Config validation: checks a loaded {@linkcode RawConfig} against the component factories and
 * resolves it. Every check runs; every problem is reported with its file, line, column and config
 * path, sorted and deduplicated. A config with errors resolves to `undefined`.
 *
 * Checks: top-level and `service` keys; component IDs (`type` or `type/name`) and types (aliases
 * resolve with a warning); each component's config against its factory's schema; pipelines (known
 * signal, receivers and exporters present, components defined and supporting the signal, no
 * processor listed twice); connectors (used on both sides, on routes they support, in no cycle);
 * `service.extensions`; components defined but unused (a warning).
 *
 * @module
 */
import { z } from "../lib/config/z.js";
import { KINDS, parseComponentId } from "../components/component.ts";
import type {
  ComponentName,
  ConnectorFactory,
  Factory,
  FactoryEntry,
  Kind,
} from "../components/component.ts";
import { duration } from "../lib/config/schema.ts";
import { SIGNALS } from "../lib/pdata/types.ts";
import type { Signal } from "../lib/pdata/types.ts";
import { loadConfig } from "./config.ts";
import type {
  ComponentConfig,
  LoadOptions,
  PipelineConfig,
  ResolvedConfig,
  TelemetryConfig,
} from "./config.ts";
import { hasErrors, sortDiagnostics } from "./diagnostics.ts";
import type { Diagnostic } from "./diagnostics.ts";
import { formatPath, locate } from "./_raw.ts";
import type { ConfigPath, Position, RawConfig, RawEntry, RawMap, RawNode } from "./_raw.ts";
import { parseNode } from "./_schema_issues.ts";
import { loadConfigLibs } from "../lib/config/config_libs.ts";
import { planBatchHandoff } from "./_batch_handoff.ts";
import { resolveTelemetry, telemetrySchema } from "./_telemetry_config.ts";
import { checkExtensionReferences } from "./_extension_refs.ts";
import { factoriesFor, FactoryLoadError, SECTIONS } from "./factories.ts";

export type { ComponentConfig, PipelineConfig, ResolvedConfig, TelemetryConfig } from "./config.ts";

/** What {@linkcode validateConfig} returns. */
export interface ValidationResult {
  /** The resolved config; undefined when any error was found. */
  config: ResolvedConfig | undefined;
  /** Errors and warnings, sorted by source, line and column, without duplicates. */
  diagnostics: Diagnostic[];
}

export { SECTIONS };

const TOP_KEYS = [...KINDS.map((k) => SECTIONS[k]), "service"];

const TYPE_PATTERN = /^[a-zA-Z][0-9a-zA-Z_]*$/;
const BAD_NAME_CHAR = /[\s\p{C}]/u;

const list = () => z.array(z.string()).default([]);

const pipelineSchema = z.preprocess(
  (v) => v ?? {},
  z.strictObject({ receivers: list(), processors: list(), exporters: list() }),
);

const serviceSchema = z.strictObject({
  extensions: list(),
  pipelines: z.record(z.string(), pipelineSchema),
  telemetry: z.preprocess((v) => v ?? {}, telemetrySchema),
  shutdown_timeout: duration().optional(),
  workers: z.union([z.int().min(1).max(256), z.literal("auto")]).optional(),
});

type ServiceValue = z.output<typeof serviceSchema>;
type PipelineValue = z.output<typeof pipelineSchema>;

/**
 * Validates a loaded config against the factories and resolves it. Runs every check and reports
 * every problem; the config is returned only when there is no error (warnings allowed).
 *
 * @param known every component type that exists, for the messages about unknown types, when
 * `factories` holds only those the config names (`pipelines/factories.ts`); default `factories`
 */
export function validateConfig(
  raw: RawConfig,
  factories: readonly Factory[],
  known: readonly ComponentName[] = factories,
): ValidationResult {
  return new Validator(raw, factories, known).run();
}

interface Use {
  pipeline: string;
  signal: Signal;
  pos: Position;
  path: ConfigPath;
}

interface Defined {
  keyPos: Position;
  /** The factory, when the ID and type are valid (even if the config itself is not). */
  factory: Factory | undefined;
  /** The component, when its config is valid too. */
  component: ComponentConfig | undefined;
}

class Validator {
  readonly #raw: RawConfig;
  readonly #diagnostics: Diagnostic[] = [];
  readonly #byType = new Map<Kind, Map<string, Factory>>();
  readonly #byAlias = new Map<Kind, Map<string, Factory>>();
  /** Every type that exists per kind, loaded or not. */
  readonly #known = new Map<Kind, Set<string>>();
  /** Every ID defined per kind, valid or not (so pipelines do not report them as undefined). */
  readonly #defined = new Map<Kind, Map<string, Defined>>();
  readonly #used = new Set<string>();

  constructor(raw: RawConfig, factories: readonly Factory[], known: readonly ComponentName[]) {
    this.#raw = raw;
    for (const kind of KINDS) {
      this.#known.set(kind, new Set());
      this.#byType.set(kind, new Map());
      this.#byAlias.set(kind, new Map());
      this.#defined.set(kind, new Map());
    }
    for (const f of factories) {
      this.#byType.get(f.kind)!.set(f.type, f);
      for (const alias of f.aliases ?? []) this.#byAlias.get(f.kind)!.set(alias, f);
    }
    for (const c of [...known, ...factories]) this.#known.get(c.kind)!.add(c.type);
  }

  #report(
    severity: Diagnostic["severity"],
    pos: Position,
    path: ConfigPath,
    message: string,
  ): void {
    this.#diagnostics.push({
      severity,
      file: pos.file,
      line: pos.line,
      col: pos.col,
      path: formatPath(path),
      message,
    });
  }

  #error(pos: Position, path: ConfigPath, message: string): void {
    this.#report("error", pos, path, message);
  }

  run(): ValidationResult {
    const root = this.#raw.root;
    for (const [key, entry] of root.entries) {
      if (!TOP_KEYS.includes(key)) {
        this.#error(entry.keyPos, [key], `unknown key "${key}" (allowed: ${TOP_KEYS.join(", ")})`);
      }
    }
    for (const kind of KINDS) this.#components(kind, root.entries.get(SECTIONS[kind]));
    this.#connectorIds();
    const service = this.#service(root);
    this.#unused(service);
    if (service !== undefined) {
      this.#diagnostics.push(
        ...checkExtensionReferences(
          root,
          service.extensions,
          (k, id) => this.#used.has(`${k} ${id}`),
        ),
      );
    }
    if (hasErrors(this.#diagnostics) || service === undefined) {
      return {
        config: undefined,
        diagnostics: sortDiagnostics(this.#diagnostics, this.#raw.sources),
      };
    }
    const config = this.#resolve(service);
    this.#batchWarnings(config);
    return { config, diagnostics: sortDiagnostics(this.#diagnostics, this.#raw.sources) };
  }

  /** Warns where a batch processor cannot hand its batching to a queue (`_batch_handoff.ts`). */
  #batchWarnings(config: ResolvedConfig): void {
    const entry = this.#raw.root.entries.get("service");
    if (entry === undefined) return;
    for (const w of planBatchHandoff(config).warnings) {
      const rel = ["pipelines", w.pipeline, "processors", w.index];
      const { pos } = locate(entry.value, rel, entry.keyPos);
      this.#report("warning", pos, ["service", ...rel], w.message);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Components

  #components(kind: Kind, entry: RawEntry | undefined): void {
    if (entry === undefined) return;
    const section = SECTIONS[kind];
    const node = entry.value;
    if (node.kind === "scalar" && node.value === null) return;
    if (node.kind !== "map") {
      this.#error(
        node.pos,
        [section],
        `must be a map of ${kind} IDs to their configs, got ${kindOf(node)}`,
      );
      return;
    }
    for (const [id, e] of node.entries) {
      const factory = this.#factory(kind, id, e);
      const component = factory === undefined ? undefined : this.#component(factory, id, e);
      this.#defined.get(kind)!.set(id, { keyPos: e.keyPos, factory, component });
    }
  }

  /** The factory of a component ID, reporting a malformed ID or an unknown type. */
  #factory(kind: Kind, id: string, entry: RawEntry): Factory | undefined {
    const section = SECTIONS[kind];
    const path = [section, id];
    const idError = checkId(id);
    if (idError !== undefined) {
      this.#error(entry.keyPos, path, idError);
      return undefined;
    }
    const { type } = parseComponentId(id);
    let factory = this.#byType.get(kind)!.get(type);
    if (factory === undefined) {
      factory = this.#byAlias.get(kind)!.get(type);
      if (factory !== undefined) {
        this.#report(
          "warning",
          entry.keyPos,
          path,
          `"${type}" is an old name of ${kind} type "${factory.type}"; use "${factory.type}"`,
        );
      }
    }
    if (factory === undefined) {
      this.#error(entry.keyPos, path, this.#unknownType(kind, type));
      return undefined;
    }
    return factory;
  }

  /** The component with its config parsed by its factory's schema, if that config is valid. */
  #component(factory: Factory, id: string, entry: RawEntry): ComponentConfig | undefined {
    const kind = factory.kind;
    const path = [SECTIONS[kind], id];
    const parsed = parseNode(factory.configSchema, entry.value, path, entry.keyPos, {
      nullAsEmpty: true,
    });
    this.#diagnostics.push(...parsed.diagnostics);
    if (!parsed.ok) return undefined;
    return { id, type: factory.type, kind, factory, config: parsed.value, position: entry.keyPos };
  }

  #unknownType(kind: Kind, type: string): string {
    const known = [...this.#known.get(kind)!].sort();
    let message = `unknown ${kind} type "${type}" (known: ${
      known.length > 0 ? known.join(", ") : "none"
    })`;
    const other = KINDS.find((k) => k !== kind && this.#known.get(k)!.has(type));
    if (other !== undefined) {
      message += `; "${type}" is ${article(other)} ${other}, define it under ${SECTIONS[other]}`;
    } else {
      const guess = closest(type, known);
      if (guess !== undefined) message += `; did you mean "${guess}"?`;
    }
    return message;
  }

  #connectorIds(): void {
    for (const [id, d] of this.#defined.get("connector")!) {
      for (const kind of ["receiver", "exporter"] as const) {
        if (this.#defined.get(kind)!.has(id)) {
          this.#error(
            d.keyPos,
            ["connectors", id],
            `connector "${id}" has the same ID as ${article(kind)} ${kind}; pipelines could not ` +
              "tell them apart",
          );
        }
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Service

  #service(root: RawMap): ServiceValue | undefined {
    const entry = root.entries.get("service");
    if (entry === undefined) {
      this.#error(root.pos, ["service"], "is required: it lists the pipelines to run");
      return undefined;
    }
    const node = entry.value;
    if (node.kind === "scalar" && node.value === null) {
      this.#error(entry.keyPos, ["service", "pipelines"], "is required");
      return undefined;
    }
    const parsed = parseNode(serviceSchema, node, ["service"], entry.keyPos);
    this.#diagnostics.push(...parsed.diagnostics);
    let service = parsed.ok ? parsed.value as ServiceValue : undefined;
    // Even when some other part of `service` is wrong, check the pipelines and extensions.
    let pipelines = service?.pipelines;
    let extensions = service?.extensions;
    if (service === undefined && node.kind === "map") {
      const p = node.entries.get("pipelines");
      if (p !== undefined) {
        const r = parseNode(serviceSchema.shape.pipelines, p.value, [], p.keyPos);
        if (r.ok) pipelines = r.value as Record<string, PipelineValue>;
      }
      const x = node.entries.get("extensions");
      const r = parseNode(serviceSchema.shape.extensions, x?.value, [], x?.keyPos ?? entry.keyPos);
      if (r.ok) extensions = r.value as string[];
    }
    if (pipelines !== undefined) this.#pipelines(pipelines, node, entry.keyPos);
    if (extensions !== undefined) this.#extensions(extensions, node, entry.keyPos);
    if (pipelines === undefined || extensions === undefined) service = undefined;
    return service;
  }

  #extensions(ids: readonly string[], service: RawNode, servicePos: Position): void {
    const defined = this.#defined.get("extension")!;
    const seen = new Set<string>();
    ids.forEach((id, i) => {
      const path = ["service", "extensions", i];
      const pos = locate(service, path.slice(1), servicePos).pos;
      this.#used.add(`extension ${id}`);
      if (seen.has(id)) this.#error(pos, path, `lists extension "${id}" twice`);
      seen.add(id);
      if (!defined.has(id)) {
        this.#error(pos, path, `extension "${id}" is not defined (${definedList(defined.keys())})`);
      }
    });
  }

  #pipelines(
    pipelines: Readonly<Record<string, PipelineValue>>,
    service: RawNode,
    servicePos: Position,
  ): void {
    const ids = Object.keys(pipelines);
    if (ids.length === 0) {
      const pos = locate(service, ["pipelines"], servicePos).pos;
      this.#error(pos, ["service", "pipelines"], "must define at least one pipeline");
      return;
    }
    const exportUses = new Map<string, Use[]>();
    const receiveUses = new Map<string, Use[]>();
    const signals = new Map<string, Signal>();
    for (const pid of ids) {
      const keyPos = locate(service, ["pipelines", pid], servicePos, true).pos;
      const signal = pipelineSignal(pid);
      if (typeof signal !== "string") {
        this.#error(keyPos, ["service", "pipelines", pid], signal.error);
        // Still mark its components used, so they are not also reported as unused.
        const p = pipelines[pid]!;
        for (const r of p.receivers) this.#markUsed(["receiver", "connector"], r);
        for (const r of p.processors) this.#markUsed(["processor"], r);
        for (const r of p.exporters) this.#markUsed(["exporter", "connector"], r);
        continue;
      }
      signals.set(pid, signal);
      const p = pipelines[pid]!;
      const at = (slot: string, i?: number): { pos: Position; path: ConfigPath } => {
        const rel = i === undefined ? ["pipelines", pid, slot] : ["pipelines", pid, slot, i];
        return { pos: locate(service, rel, servicePos).pos, path: ["service", ...rel] };
      };
      for (const slot of ["receivers", "exporters"] as const) {
        if (p[slot].length === 0) {
          const { pos, path } = at(slot);
          this.#error(pos, path, `pipeline "${pid}" has no ${slot}`);
        }
      }
      this.#slot(pid, signal, p.receivers, "receiver", (i) => at("receivers", i), receiveUses);
      this.#slot(pid, signal, p.processors, "processor", (i) => at("processors", i), undefined);
      this.#slot(pid, signal, p.exporters, "exporter", (i) => at("exporters", i), exportUses);
    }
    this.#connectorUses(exportUses, receiveUses);
    this.#cycles(pipelines, signals, exportUses);
  }

  #markUsed(kinds: readonly Kind[], id: string): void {
    for (const kind of kinds) this.#used.add(`${kind} ${id}`);
  }

  /** Checks one list of a pipeline. `uses` collects connector uses on this side. */
  #slot(
    pid: string,
    signal: Signal,
    ids: readonly string[],
    kind: "receiver" | "processor" | "exporter",
    at: (i: number) => { pos: Position; path: ConfigPath },
    uses: Map<string, Use[]> | undefined,
  ): void {
    const own = this.#defined.get(kind)!;
    const connectors = uses === undefined
      ? new Map<string, Defined>()
      : this.#defined.get("connector")!;
    const seen = new Set<string>();
    ids.forEach((id, i) => {
      const { pos, path } = at(i);
      if (seen.has(id)) this.#error(pos, path, `pipeline "${pid}" lists ${kind} "${id}" twice`);
      seen.add(id);
      const mine = own.get(id);
      if (mine !== undefined) {
        this.#used.add(`${kind} ${id}`);
        const factory = mine.factory;
        if (factory !== undefined && factory.kind !== "extension" && factory.kind !== "connector") {
          const supported = SIGNALS.filter((s) => factory.signals[s] !== undefined);
          if (!supported.includes(signal)) {
            this.#error(
              pos,
              path,
              `${kind} "${id}" does not support ${signal} (supports: ${
                supported.length > 0 ? supported.join(", ") : "nothing"
              })`,
            );
          }
        }
        return;
      }
      if (uses !== undefined && connectors.has(id)) {
        this.#used.add(`connector ${id}`);
        const list = uses.get(id) ?? [];
        list.push({ pipeline: pid, signal, pos, path });
        uses.set(id, list);
        return;
      }
      const names = [...own.keys(), ...connectors.keys()];
      this.#error(
        pos,
        path,
        `pipeline "${pid}" names ${kind} "${id}", which is not defined (${definedList(names)})`,
      );
    });
  }

  #connectorUses(exportUses: Map<string, Use[]>, receiveUses: Map<string, Use[]>): void {
    const connectors = this.#defined.get("connector")!;
    for (const [id, d] of connectors) {
      const exports = exportUses.get(id) ?? [];
      const receives = receiveUses.get(id) ?? [];
      if (exports.length > 0 && receives.length === 0) {
        for (const u of exports) {
          this.#error(
            u.pos,
            u.path,
            `connector "${id}" is used as an exporter in pipeline "${u.pipeline}" but as a ` +
              "receiver in no pipeline",
          );
        }
      }
      if (receives.length > 0 && exports.length === 0) {
        for (const u of receives) {
          this.#error(
            u.pos,
            u.path,
            `connector "${id}" is used as a receiver in pipeline "${u.pipeline}" but as an ` +
              "exporter in no pipeline",
          );
        }
      }
      const factory = d.factory as ConnectorFactory | undefined;
      if (factory === undefined || exports.length === 0 || receives.length === 0) continue;
      const routes = describeRoutes(factory);
      for (const u of exports) {
        if (factory.routes[u.signal] === undefined) {
          this.#error(
            u.pos,
            u.path,
            `connector "${id}" does not accept ${u.signal} (routes: ${routes})`,
          );
        } else if (!receives.some((r) => routes_(factory, u.signal, r.signal))) {
          this.#error(
            u.pos,
            u.path,
            `connector "${id}" cannot route ${u.signal} from pipeline "${u.pipeline}" to any ` +
              `pipeline it is a receiver in (routes: ${routes})`,
          );
        }
      }
      const config = d.component?.config;
      if (factory.checkPipelines !== undefined && config !== undefined) {
        const issues = factory.checkPipelines(config, {
          exporters: [...new Set(exports.map((u) => u.signal))],
          receivers: receives.map((r) => ({ id: r.pipeline, signal: r.signal })),
        });
        for (const issue of issues) {
          this.#error(d.keyPos, ["connectors", id, ...issue.path], issue.message);
        }
      }
      for (const r of receives) {
        if (!exports.some((u) => routes_(factory, u.signal, r.signal))) {
          this.#error(
            r.pos,
            r.path,
            `connector "${id}" cannot produce ${r.signal} for pipeline "${r.pipeline}" from any ` +
              `pipeline it is an exporter in (routes: ${routes})`,
          );
        }
      }
    }
  }

  /** Reports each group of pipelines that feed each other in a circle through connectors. */
  #cycles(
    pipelines: Readonly<Record<string, PipelineValue>>,
    signals: ReadonlyMap<string, Signal>,
    exportUses: ReadonlyMap<string, Use[]>,
  ): void {
    const connectors = this.#defined.get("connector")!;
    // Edges: pipeline → (connector, pipeline it feeds through that connector).
    const edges = new Map<string, { via: string; to: string; use: Use }[]>();
    for (const [from, sig] of signals) {
      const out: { via: string; to: string; use: Use }[] = [];
      for (const [cid, uses] of exportUses) {
        const use = uses.find((u) => u.pipeline === from);
        if (use === undefined) continue;
        const factory = connectors.get(cid)?.factory as ConnectorFactory | undefined;
        for (const [to, toSig] of signals) {
          if (!pipelines[to]!.receivers.includes(cid)) continue;
          if (factory !== undefined && !routes_(factory, sig, toSig)) continue;
          out.push({ via: cid, to, use });
        }
      }
      edges.set(from, out);
    }
    for (const component of stronglyConnected([...signals.keys()], edges)) {
      const members = new Set(component);
      const start = [...component].sort()[0]!;
      const selfLoop = (edges.get(start) ?? []).find((e) => e.to === start);
      if (component.length === 1 && selfLoop === undefined) continue;
      const cycle = findCycle(start, members, edges);
      if (cycle.length === 0) continue;
      const text = cycle.map((e) => `"${e.from}" → connector "${e.via}"`).join(" → ") +
        ` → "${start}"`;
      const first = cycle[0]!.use;
      this.#error(first.pos, first.path, `pipelines form a cycle: ${text}`);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Unused components

  #unused(service: ServiceValue | undefined): void {
    const servicePipelinesKnown = service !== undefined ||
      this.#raw.root.entries.get("service") !== undefined;
    for (const kind of KINDS) {
      for (const [id, d] of this.#defined.get(kind)!) {
        // An unknown type or malformed ID is already an error; unused would only add noise.
        if (this.#used.has(`${kind} ${id}`) || d.factory === undefined) continue;
        if (!servicePipelinesKnown) continue;
        const message = kind === "extension"
          ? `extension "${id}" is defined but not listed in service.extensions`
          : `${kind} "${id}" is defined but used in no pipeline`;
        this.#report("warning", d.keyPos, [SECTIONS[kind], id], message);
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Resolution

  #resolve(service: ServiceValue): ResolvedConfig {
    const components = (kind: Kind) => {
      const out = new Map<string, ComponentConfig>();
      for (const [id, d] of this.#defined.get(kind)!) if (d.component) out.set(id, d.component);
      return out;
    };
    const pipelines = new Map<string, PipelineConfig>();
    for (const [id, p] of Object.entries(service.pipelines)) {
      pipelines.set(id, {
        id,
        signal: pipelineSignal(id) as Signal,
        receivers: [...p.receivers],
        processors: [...p.processors],
        exporters: [...p.exporters],
      });
    }
    const telemetry: TelemetryConfig = resolveTelemetry(service.telemetry);
    const resolved: ResolvedConfig = {
      receivers: components("receiver"),
      processors: components("processor"),
      exporters: components("exporter"),
      connectors: components("connector"),
      extensions: components("extension"),
      service: { extensions: [...service.extensions], pipelines, telemetry },
    };
    if (service.shutdown_timeout !== undefined) {
      resolved.service.shutdownTimeoutMs = service.shutdown_timeout;
    }
    if (service.workers !== undefined) {
      // `auto`: the cores this process may run on (affinity and cgroup limits included).
      resolved.service.workers = service.workers === "auto"
        ? Math.max(1, navigator.hardwareConcurrency)
        : service.workers;
    }
    return resolved;
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

/** Why a component ID is malformed, or undefined when it is fine. */
function checkId(id: string): string | undefined {
  const { type, name } = parseComponentId(id);
  if (!TYPE_PATTERN.test(type)) {
    return `invalid component ID "${id}": the type must start with a letter and hold only ` +
      'letters, digits and "_"';
  }
  if (name !== undefined && name === "") {
    return `invalid component ID "${id}": the name after "/" must not be empty`;
  }
  if (name !== undefined && BAD_NAME_CHAR.test(name)) {
    return `invalid component ID "${id}": the name must not contain spaces or control characters`;
  }
  return undefined;
}

/** The signal of a pipeline ID, or why it has none. */
function pipelineSignal(id: string): Signal | { error: string } {
  const { type, name } = parseComponentId(id);
  if (!(SIGNALS as readonly string[]).includes(type)) {
    return { error: `unknown signal "${type}" (signals: ${SIGNALS.join(", ")})` };
  }
  if (name !== undefined && (name === "" || BAD_NAME_CHAR.test(name))) {
    return {
      error: `invalid pipeline ID "${id}": the name after "/" must be non-empty, without spaces`,
    };
  }
  return type as Signal;
}

function routes_(factory: ConnectorFactory, from: Signal, to: Signal): boolean {
  return factory.routes[from]?.[to] !== undefined;
}

function describeRoutes(factory: ConnectorFactory): string {
  const pairs: string[] = [];
  for (const from of SIGNALS) {
    for (const to of SIGNALS) if (routes_(factory, from, to)) pairs.push(`${from} → ${to}`);
  }
  return pairs.length > 0 ? pairs.join(", ") : "none";
}

function definedList(ids: Iterable<string>): string {
  const all = [...new Set(ids)].sort();
  return all.length > 0 ? `defined: ${all.join(", ")}` : "none are defined";
}

function article(word: string): string {
  return /^[aeiou]/.test(word) ? "an" : "a";
}

function kindOf(node: RawNode): string {
  if (node.kind === "map") return "a map";
  if (node.kind === "seq") return "a list";
  return typeof node.value === "string"
    ? "a string"
    : `${node.value === null ? "null" : "a " + typeof node.value}`;
}

/** The known name closest to `name` when it is a likely typo. */
function closest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = editDistance(name.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(1, Math.floor(name.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row.push(Math.min(
        prev[j]! + 1,
        row[j - 1]! + 1,
        prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      ));
    }
    prev = row;
  }
  return prev[b.length]!;
}

interface Edge {
  via: string;
  to: string;
  use: Use;
}

/** Tarjan's strongly connected components, each a list of pipeline IDs. */
function stronglyConnected(
  nodes: readonly string[],
  edges: ReadonlyMap<string, Edge[]>,
): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const e of edges.get(v) ?? []) {
      if (!index.has(e.to)) {
        visit(e.to);
        low.set(v, Math.min(low.get(v)!, low.get(e.to)!));
      } else if (onStack.has(e.to)) {
        low.set(v, Math.min(low.get(v)!, index.get(e.to)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      out.push(component);
    }
  };
  for (const n of nodes) if (!index.has(n)) visit(n);
  return out;
}

/** One cycle from `start` back to it, staying inside `members`. */
function findCycle(
  start: string,
  members: ReadonlySet<string>,
  edges: ReadonlyMap<string, Edge[]>,
): { from: string; via: string; use: Use }[] {
  const path: { from: string; via: string; use: Use }[] = [];
  const visited = new Set<string>();
  const dfs = (v: string): boolean => {
    for (const e of edges.get(v) ?? []) {
      if (!members.has(e.to)) continue;
      path.push({ from: v, via: e.via, use: e.use });
      if (e.to === start) return true;
      if (!visited.has(e.to)) {
        visited.add(e.to);
        if (dfs(e.to)) return true;
      }
      path.pop();
    }
    return false;
  };
  visited.add(start);
  return dfs(start) ? path : [];
}

/**
 * Loads the factories `raw` names from `entries` (registry rows load their modules now) and
 * validates against them. A component module that cannot be imported is reported as an error
 * naming it, not thrown.
 */
export async function validateWith(
  raw: RawConfig,
  entries: readonly FactoryEntry[],
): Promise<ValidationResult> {
  await loadConfigLibs();
  let needed;
  try {
    needed = await factoriesFor(raw, entries);
  } catch (error) {
    if (!(error instanceof FactoryLoadError)) throw error;
    const c = error.component;
    return {
      config: undefined,
      diagnostics: [{
        severity: "error",
        file: raw.sources[0] ?? "",
        line: 0,
        col: 0,
        path: SECTIONS[c.kind],
        message: error.message,
      }],
    };
  }
  return validateConfig(raw, needed.factories, needed.known);
}

/**
 * Loads and validates in one step: the diagnostics of both, sorted together. The config is
 * undefined when either found an error.
 */
export async function loadAndValidateConfig(
  opts: LoadOptions,
  factories: readonly FactoryEntry[],
): Promise<ValidationResult> {
  const loaded = await loadConfig(opts);
  if (loaded.raw === undefined) return { config: undefined, diagnostics: loaded.diagnostics };
  const validated = await validateWith(loaded.raw, factories);
  const diagnostics = sortDiagnostics(
    [...loaded.diagnostics, ...validated.diagnostics],
    loaded.raw.sources,
  );
  return { config: hasErrors(diagnostics) ? undefined : validated.config, diagnostics };
}
