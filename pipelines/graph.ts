/**
 * Builds the streaming graph from a validated config: one instance per receiver, exporter,
 * connector and extension ID, one processor chain per pipeline, fan-out where a component feeds
 * several consumers. Instances are created downstream first (a creator needs its consumers), and
 * that creation order is the start order; stopping runs it backwards, so data drains downstream.
 *
 * Every receiver feeds its pipelines through a {@linkcode SwitchConsumer} per signal, so a reload
 * can keep the receiver and point it at new pipelines. Given the nodes of a running graph
 * (`reuse`), the builder keeps every receiver, exporter and extension whose factory, config and
 * signals are unchanged, and whose config names no extension that is being replaced or removed
 * (a storage or authenticator user must restart with its extension). Processors and connectors
 * are always new: each is bound to its downstream when created.
 *
 * @module
 */
import type {
  BuildInfo,
  Component,
  ConnectorFactory,
  CreateSettings,
  ExporterFactory,
  ExtensionFactory,
  Factory,
  Kind,
  Processor,
  ProcessorFactory,
  ReceiverFactory,
} from "../components/component.ts";
import { type Consumer, errorMessage, type SignalConsumers } from "../lib/consumer/consumer.ts";
import { isDeepStrictEqual } from "node:util";
import type { Signal } from "../lib/pdata/types.ts";
import type { Logger } from "../lib/telemetry/logger.ts";
import type { MetricRegistry } from "../lib/telemetry/metrics.ts";
import type { ComponentConfig, PipelineConfig, ResolvedConfig } from "./config.ts";
import { fanout } from "./fanout.ts";
import { countedEdge, type EdgeMeter } from "../lib/component/view.ts";
import { processorNodeKey, sharedNodeKey } from "./graph_view.ts";
import { SwitchConsumer } from "./switch.ts";
import { planBatchHandoff, processorKey } from "./_batch_handoff.ts";
import { HANDED_BATCHES } from "../lib/exporterhelper/exporter_helper.ts";
import { type Needs, NOTHING, unionNeeds } from "../lib/pdata/fields.ts";
import {
  instrumentExporterInput,
  instrumentProcessorInput,
  instrumentProcessorOutput,
} from "./instrument.ts";

/** What an instance was made from: what decides whether a reload may keep it. */
export interface NodeSpec {
  readonly factory: Factory;
  /** The validated config the instance was created with. */
  readonly config: unknown;
  /** The signals it was created for (none for extensions). */
  readonly signals: readonly Signal[];
}

/** One instance in the graph. */
export interface GraphNode {
  readonly kind: Kind;
  readonly id: string;
  /** The pipeline of a processor instance. */
  readonly pipeline?: string;
  readonly component: Component;
  readonly spec: NodeSpec;
  /** A receiver's switch per signal, between it and its pipelines. */
  readonly switches?: ReadonlyMap<Signal, SwitchConsumer>;
  /** An exporter's (instrumented) consumer per signal, which the fan-outs feeding it use. */
  readonly inputs?: SignalConsumers;
}

/** The built graph: every instance, in start order (extensions, then downstream first). */
export interface Graph {
  readonly nodes: readonly GraphNode[];
  /** The consumer at the head of each pipeline (after its receivers), by pipeline ID. */
  readonly pipelineEntries: ReadonlyMap<string, Consumer>;
  /** What each receiver's switches point at in this graph: its pipelines, fanned out by signal. */
  readonly receiverTargets: ReadonlyMap<GraphNode, ReadonlyMap<Signal, Consumer>>;
  /** The nodes taken over from the `reuse` list rather than created. */
  readonly reused: ReadonlySet<GraphNode>;
}

/** What building a graph needs besides the config. */
export interface GraphDeps {
  readonly logger: Logger;
  readonly registry: MetricRegistry;
  readonly buildInfo: BuildInfo;
  /** Counts items and refusals per drawn edge and feeds taps (the pipeline page). @default none */
  readonly edges?: EdgeMeter;
  /** Other workers run the same receivers on the same ports (`CreateSettings.sharePorts`). */
  readonly sharePorts?: boolean;
}

/** Options of {@linkcode buildGraph}. */
export interface BuildOptions {
  /** Nodes of a running graph to keep where their spec is unchanged. @default none */
  readonly reuse?: readonly GraphNode[];
}

/** True when any string in `value` (deeply) is one of `ids`. */
export function mentionsAny(value: unknown, ids: ReadonlySet<string>): boolean {
  if (ids.size === 0) return false;
  if (typeof value === "string") return ids.has(value);
  if (Array.isArray(value)) return value.some((v) => mentionsAny(v, ids));
  if (value instanceof Map) return [...value.values()].some((v) => mentionsAny(v, ids));
  if (typeof value === "object" && value !== null) {
    return Object.values(value).some((v) => mentionsAny(v, ids));
  }
  return false;
}

function sameSignals(a: readonly Signal[], b: readonly Signal[]): boolean {
  return a.length === b.length && a.every((s) => b.includes(s));
}

/** The component an error is about: the one that could not be created or started. */
export interface FailedComponent {
  readonly kind: Kind;
  readonly id: string;
}

/** The graph cannot be built: a component's create function failed, or the config is unusable. */
export class GraphBuildError extends Error {
  /** The component that could not be created, when it is one. */
  readonly component: FailedComponent | undefined;
  constructor(message: string, options?: ErrorOptions & { component?: FailedComponent }) {
    super(message, options);
    this.name = "GraphBuildError";
    this.component = options?.component;
  }
}

/** A handed-off batch processor: its exporters' queues batch, so it only forwards. */
function passThrough<S extends Signal>(next: Consumer<S>): Processor<S> {
  return {
    mutatesData: false,
    consume: (payload) => next.consume(payload),
    start: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
  };
}

/**
 * Builds the graph, keeping the unchanged nodes of `options.reuse`. Throws
 * {@linkcode GraphBuildError} when a component cannot be created.
 */
export function buildGraph(
  config: ResolvedConfig,
  deps: GraphDeps,
  options: BuildOptions = {},
): Graph {
  const nodes: GraphNode[] = [];
  const reused = new Set<GraphNode>();
  const batchPlan = planBatchHandoff(config);
  const pipelines = [...config.service.pipelines.values()];
  const previous = new Map<string, GraphNode>();
  for (const node of options.reuse ?? []) {
    if (node.kind !== "processor") previous.set(`${node.kind} ${node.id}`, node);
  }

  function settingsFor<C>(c: ComponentConfig, pipeline?: string): CreateSettings<C> {
    const fields: Record<string, string> = {
      "otelcol.component.kind": c.kind,
      "otelcol.component.id": c.id,
    };
    if (pipeline !== undefined) fields["otelcol.pipeline.id"] = pipeline;
    return {
      id: c.id,
      config: c.config as C,
      logger: deps.logger.with(fields),
      // The Collector's metrics label each component's ID with its kind.
      meter: deps.registry.meter({ [c.kind]: c.id }),
      buildInfo: deps.buildInfo,
      ...(deps.sharePorts === true ? { sharePorts: true } : {}),
    };
  }

  function create<T>(c: ComponentConfig, make: () => T): T {
    try {
      return make();
    } catch (error) {
      throw new GraphBuildError(`Cannot create ${c.kind} "${c.id}": ${errorMessage(error)}`, {
        cause: error,
        component: { kind: c.kind, id: c.id },
      });
    }
  }

  function lookup(map: ReadonlyMap<string, ComponentConfig>, kind: Kind, id: string) {
    const c = map.get(id);
    if (c === undefined) throw new GraphBuildError(`The ${kind} "${id}" is not defined`);
    return c;
  }

  function specOf(c: ComponentConfig, signals: readonly Signal[]): NodeSpec {
    return { factory: c.factory, config: c.config, signals };
  }

  /** The running node to keep for `c`, if its spec is unchanged and it needs no new extension. */
  function keep(c: ComponentConfig, signals: readonly Signal[], replaced: ReadonlySet<string>) {
    const old = previous.get(`${c.kind} ${c.id}`);
    if (
      old === undefined || old.spec.factory !== c.factory ||
      !sameSignals(old.spec.signals, signals) || !isDeepStrictEqual(old.spec.config, c.config) ||
      mentionsAny(c.config, replaced)
    ) {
      return undefined;
    }
    reused.add(old);
    nodes.push(old);
    return old;
  }

  // Extensions first: others find them through the host when they start. An extension is kept
  // when unchanged and naming no extension that is replaced or removed (to a fixed point).
  const extensionConfigs = config.service.extensions.map((id) =>
    lookup(config.extensions, "extension", id)
  );
  const keptExtensions = new Set(
    extensionConfigs.filter((c) => {
      const old = previous.get(`extension ${c.id}`);
      return old !== undefined && old.spec.factory === c.factory &&
        isDeepStrictEqual(old.spec.config, c.config);
    }).map((c) => c.id),
  );
  const replacedExtensions = new Set<string>();
  for (;;) {
    for (const node of options.reuse ?? []) {
      if (node.kind === "extension" && !keptExtensions.has(node.id)) {
        replacedExtensions.add(node.id);
      }
    }
    const before = keptExtensions.size;
    for (const c of extensionConfigs) {
      if (keptExtensions.has(c.id) && mentionsAny(c.config, replacedExtensions)) {
        keptExtensions.delete(c.id);
      }
    }
    if (keptExtensions.size === before) break;
  }
  for (const c of extensionConfigs) {
    if (keptExtensions.has(c.id) && keep(c, [], replacedExtensions) !== undefined) continue;
    const factory = c.factory as ExtensionFactory;
    nodes.push({
      kind: "extension",
      id: c.id,
      component: create(c, () => factory.create(settingsFor(c))),
      spec: specOf(c, []),
    });
  }

  // Exporters: one instance per ID, serving every signal it is used for.
  const exporterInputs = new Map<string, SignalConsumers>();
  for (const [id, declared] of config.exporters) {
    const handed = batchPlan.exporterBatches.get(id);
    const c: ComponentConfig = handed === undefined ? declared : {
      ...declared,
      config: {
        ...(declared.config as Record<string, unknown>),
        sending_queue: {
          ...(declared.config as { sending_queue: Record<string, unknown> }).sending_queue,
          [HANDED_BATCHES]: handed,
        },
      },
    };
    const signals = [
      ...new Set(pipelines.filter((p) => p.exporters.includes(id)).map((p) => p.signal)),
    ];
    if (signals.length === 0) continue;
    const kept = keep(c, signals, replacedExtensions);
    if (kept?.inputs !== undefined) {
      exporterInputs.set(id, kept.inputs);
      continue;
    }
    const settings = settingsFor<unknown>(c);
    const exporter = create(c, () => (c.factory as ExporterFactory).create(settings, signals));
    const inputs: Record<string, Consumer> = {};
    for (const signal of signals) {
      const consumer = exporter.consumers[signal] as Consumer | undefined;
      if (consumer === undefined) {
        throw new GraphBuildError(`The exporter "${id}" gave no consumer for ${signal}`);
      }
      inputs[signal] = instrumentExporterInput(signal, consumer, settings.meter, settings.logger);
    }
    exporterInputs.set(id, inputs as SignalConsumers);
    nodes.push({
      kind: "exporter",
      id,
      component: exporter,
      spec: specOf(c, signals),
      inputs: inputs as SignalConsumers,
    });
  }

  const entries = new Map<string, Consumer>();
  const building = new Set<string>();
  const connectorInputs = new Map<string, SignalConsumers>();
  const edgeMeter = deps.edges;

  /** `next` counted as the drawn edge `from` → `to` when edges are metered. */
  function counted(from: string, to: string, signal: Signal, next: Consumer): Consumer {
    return edgeMeter === undefined ? next : countedEdge(edgeMeter.edge(from, to, signal), next);
  }

  /** The fan-out to the pipeline's exporters, its edges counted from `from` when given. */
  function tailOf(p: PipelineConfig, from?: string): Consumer {
    const consumers = p.exporters.map((id) => {
      const consumer = config.exporters.has(id)
        ? exporterInputs.get(id)?.[p.signal]
        : connectorInput(id)[p.signal];
      if (consumer === undefined) {
        throw new GraphBuildError(`Pipeline "${p.id}" cannot send ${p.signal} to "${id}"`);
      }
      return from === undefined
        ? consumer as Consumer
        : counted(from, sharedNodeKey(config, id, "exporter"), p.signal, consumer as Consumer);
    });
    return fanout(consumers);
  }

  function entryOf(p: PipelineConfig): Consumer {
    const built = entries.get(p.id);
    if (built !== undefined) return built;
    if (building.has(p.id)) {
      throw new GraphBuildError(`Pipeline "${p.id}" is part of a cycle through connectors`);
    }
    building.add(p.id);
    const last = p.processors.at(-1);
    const tail = tailOf(p, last === undefined ? undefined : processorNodeKey(p.id, last));
    let next: Consumer = tail;
    let mutates = tail.mutatesData;
    // What the pipeline decodes: the fields its processors (and a changing tail) declare, unless
    // one changes data without declaring them (then everything).
    let needs: Needs | undefined = tail.mutatesData ? tail.needs : NOTHING;
    for (let i = p.processors.length - 1; i >= 0; i--) {
      const id = p.processors[i]!;
      if (i < p.processors.length - 1) {
        const to = processorNodeKey(p.id, p.processors[i + 1]!);
        next = counted(processorNodeKey(p.id, id), to, p.signal, next);
      }
      const c = lookup(config.processors, "processor", id);
      const settings = settingsFor<unknown>(c, p.id);
      const output = instrumentProcessorOutput(p.signal, next, settings.meter);
      const processor = batchPlan.handedOff.has(processorKey(p.id, i))
        ? passThrough(output)
        : create(c, () => (c.factory as ProcessorFactory).create(settings, p.signal, output));
      mutates ||= processor.mutatesData;
      if (processor.needs !== undefined) {
        needs = needs === undefined ? undefined : unionNeeds(needs, processor.needs);
      } else if (processor.mutatesData) needs = undefined;
      next = instrumentProcessorInput(p.signal, processor, settings.meter);
      nodes.push({
        kind: "processor",
        id,
        pipeline: p.id,
        component: processor,
        spec: specOf(c, [p.signal]),
      });
    }
    const head = next;
    const entry: Consumer = {
      mutatesData: mutates,
      needs,
      consume: (payload) => head.consume(payload),
    };
    building.delete(p.id);
    entries.set(p.id, entry);
    return entry;
  }

  /**
   * The entry of pipeline `p` as the receiver or connector `id` feeds it: behind the counted edge
   * to its first processor, or, without processors, the edges to its exporters.
   */
  function entryFrom(id: string, p: PipelineConfig): Consumer {
    const entry = entryOf(p);
    if (edgeMeter === undefined) return entry;
    const from = sharedNodeKey(config, id, "receiver");
    const first = p.processors[0];
    return first === undefined
      ? tailOf(p, from)
      : counted(from, processorNodeKey(p.id, first), p.signal, entry);
  }

  /** The entries of the pipelines that receive from `id`, fanned out per signal. */
  function fanoutBySignal(id: string): Map<Signal, Consumer> {
    const bySignal = new Map<Signal, Consumer[]>();
    for (const p of pipelines) {
      if (!p.receivers.includes(id)) continue;
      const list = bySignal.get(p.signal) ?? [];
      list.push(entryFrom(id, p));
      bySignal.set(p.signal, list);
    }
    return new Map([...bySignal].map(([signal, list]) => [signal, fanout(list)]));
  }

  function connectorInput(id: string): SignalConsumers {
    const existing = connectorInputs.get(id);
    if (existing !== undefined) return existing;
    const c = lookup(config.connectors, "connector", id);
    const inputs = [
      ...new Set(pipelines.filter((p) => p.exporters.includes(id)).map((p) => p.signal)),
    ];
    const next = Object.fromEntries(fanoutBySignal(id)) as SignalConsumers;
    const settings = settingsFor<unknown>(c);
    const router = (ids: readonly string[]): Consumer => {
      const entries = ids.map((pid) => {
        const p = pipelines.find((q) => q.id === pid && q.receivers.includes(id));
        if (p === undefined) {
          throw new GraphBuildError(`Pipeline "${pid}" does not receive from connector "${id}"`);
        }
        // Counted like the fan-out: a routed payload crosses the same drawn edge.
        return entryFrom(id, p);
      });
      return fanout(entries);
    };
    const connector = create(
      c,
      () => (c.factory as ConnectorFactory).create(settings, inputs, next, router),
    );
    connectorInputs.set(id, connector.consumers);
    nodes.push({ kind: "connector", id, component: connector, spec: specOf(c, inputs) });
    return connector.consumers;
  }

  for (const p of pipelines) entryOf(p);

  // Receivers last: one instance per ID, one switch per signal in front of its fan-out.
  // Receivers count what they accept themselves, since only they know the transport.
  const receiverTargets = new Map<GraphNode, ReadonlyMap<Signal, Consumer>>();
  for (const [id, c] of config.receivers) {
    if (!pipelines.some((p) => p.receivers.includes(id))) continue;
    const targets = fanoutBySignal(id);
    const signals = [...targets.keys()];
    const kept = keep(c, signals, replacedExtensions);
    if (kept !== undefined) {
      receiverTargets.set(kept, targets);
      continue;
    }
    const settings = settingsFor<unknown>(c);
    const switches = new Map<Signal, SwitchConsumer>(
      [...targets].map(([signal, target]) => [signal, new SwitchConsumer(target)]),
    );
    const outputs = Object.fromEntries(switches) as SignalConsumers;
    const receiver = create(c, () => (c.factory as ReceiverFactory).create(settings, outputs));
    const node: GraphNode = {
      kind: "receiver",
      id,
      component: receiver,
      spec: specOf(c, signals),
      switches,
    };
    receiverTargets.set(node, targets);
    nodes.push(node);
  }

  return { nodes, pipelineEntries: entries, receiverTargets, reused };
}
