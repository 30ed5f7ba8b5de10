/**
 * Builds the streaming graph from a validated config: one instance per receiver, exporter,
 * connector and extension ID, one processor chain per pipeline, fan-out where a component feeds
 * several consumers. Instances are created downstream first (a creator needs its consumers), and
 * that creation order is the start order; stopping runs it backwards, so data drains downstream.
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
  Kind,
  ProcessorFactory,
  ReceiverFactory,
} from "../components/component.ts";
import { type Consumer, errorMessage, type SignalConsumers } from "../lib/consumer/consumer.ts";
import type { Signal } from "../lib/pdata/types.ts";
import type { Logger } from "../lib/telemetry/logger.ts";
import type { MetricRegistry } from "../lib/telemetry/metrics.ts";
import type { ComponentConfig, PipelineConfig, ResolvedConfig } from "./config.ts";
import { fanout } from "./fanout.ts";
import {
  instrumentExporterInput,
  instrumentProcessorInput,
  instrumentProcessorOutput,
} from "./instrument.ts";

/** One instance in the graph. */
export interface GraphNode {
  readonly kind: Kind;
  readonly id: string;
  /** The pipeline of a processor instance. */
  readonly pipeline?: string;
  readonly component: Component;
}

/** The built graph: every instance, in start order (extensions, then downstream first). */
export interface Graph {
  readonly nodes: readonly GraphNode[];
  /** The consumer at the head of each pipeline (after its receivers), by pipeline ID. */
  readonly pipelineEntries: ReadonlyMap<string, Consumer>;
}

/** What building a graph needs besides the config. */
export interface GraphDeps {
  readonly logger: Logger;
  readonly registry: MetricRegistry;
  readonly buildInfo: BuildInfo;
}

/** A component's create function failed. */
export class GraphBuildError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "GraphBuildError";
  }
}

/** The label the OpenTelemetry Collector's metrics use for each kind's ID. */
const KIND_LABEL: Readonly<Record<Kind, string>> = {
  receiver: "receiver",
  processor: "processor",
  exporter: "exporter",
  connector: "connector",
  extension: "extension",
};

/** Builds the graph. Throws {@linkcode GraphBuildError} when a component cannot be created. */
export function buildGraph(config: ResolvedConfig, deps: GraphDeps): Graph {
  const nodes: GraphNode[] = [];
  const pipelines = [...config.service.pipelines.values()];

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
      meter: deps.registry.meter({ [KIND_LABEL[c.kind]]: c.id }),
      buildInfo: deps.buildInfo,
    };
  }

  function create<T>(c: ComponentConfig, make: () => T): T {
    try {
      return make();
    } catch (error) {
      throw new GraphBuildError(`Cannot create ${c.kind} "${c.id}": ${errorMessage(error)}`, {
        cause: error,
      });
    }
  }

  function lookup(map: ReadonlyMap<string, ComponentConfig>, kind: Kind, id: string) {
    const c = map.get(id);
    if (c === undefined) throw new GraphBuildError(`The ${kind} "${id}" is not defined`);
    return c;
  }

  // Extensions first: others find them through the host when they start.
  for (const id of config.service.extensions) {
    const c = lookup(config.extensions, "extension", id);
    const factory = c.factory as ExtensionFactory;
    nodes.push({
      kind: "extension",
      id,
      component: create(c, () => factory.create(settingsFor(c))),
    });
  }

  // Exporters: one instance per ID, serving every signal it is used for.
  const exporterInputs = new Map<string, SignalConsumers>();
  for (const [id, c] of config.exporters) {
    const signals = [
      ...new Set(pipelines.filter((p) => p.exporters.includes(id)).map((p) => p.signal)),
    ];
    if (signals.length === 0) continue;
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
    nodes.push({ kind: "exporter", id, component: exporter });
  }

  const entries = new Map<string, Consumer>();
  const building = new Set<string>();
  const connectorInputs = new Map<string, SignalConsumers>();

  function tailOf(p: PipelineConfig): Consumer {
    const consumers = p.exporters.map((id) => {
      const consumer = config.exporters.has(id)
        ? exporterInputs.get(id)?.[p.signal]
        : connectorInput(id)[p.signal];
      if (consumer === undefined) {
        throw new GraphBuildError(`Pipeline "${p.id}" cannot send ${p.signal} to "${id}"`);
      }
      return consumer as Consumer;
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
    const tail = tailOf(p);
    let next: Consumer = tail;
    let mutates = tail.mutatesData;
    for (let i = p.processors.length - 1; i >= 0; i--) {
      const id = p.processors[i]!;
      const c = lookup(config.processors, "processor", id);
      const settings = settingsFor<unknown>(c, p.id);
      const output = instrumentProcessorOutput(p.signal, next, settings.meter);
      const processor = create(
        c,
        () => (c.factory as ProcessorFactory).create(settings, p.signal, output),
      );
      mutates ||= processor.mutatesData;
      next = instrumentProcessorInput(p.signal, processor, settings.meter);
      nodes.push({ kind: "processor", id, pipeline: p.id, component: processor });
    }
    const head = next;
    const entry: Consumer = { mutatesData: mutates, consume: (payload) => head.consume(payload) };
    building.delete(p.id);
    entries.set(p.id, entry);
    return entry;
  }

  /** The entries of the pipelines that receive from `id`, fanned out per signal. */
  function fanoutBySignal(id: string): SignalConsumers {
    const bySignal = new Map<Signal, Consumer[]>();
    for (const p of pipelines) {
      if (!p.receivers.includes(id)) continue;
      const list = bySignal.get(p.signal) ?? [];
      list.push(entryOf(p));
      bySignal.set(p.signal, list);
    }
    const out: Record<string, Consumer> = {};
    for (const [signal, list] of bySignal) out[signal] = fanout(list);
    return out as SignalConsumers;
  }

  function connectorInput(id: string): SignalConsumers {
    const existing = connectorInputs.get(id);
    if (existing !== undefined) return existing;
    const c = lookup(config.connectors, "connector", id);
    const inputs = [
      ...new Set(pipelines.filter((p) => p.exporters.includes(id)).map((p) => p.signal)),
    ];
    const next = fanoutBySignal(id);
    const settings = settingsFor<unknown>(c);
    const connector = create(
      c,
      () => (c.factory as ConnectorFactory).create(settings, inputs, next),
    );
    connectorInputs.set(id, connector.consumers);
    nodes.push({ kind: "connector", id, component: connector });
    return connector.consumers;
  }

  for (const p of pipelines) entryOf(p);

  // Receivers last: one instance per ID, one consumer per signal fanning out to its pipelines.
  // Receivers count what they accept themselves, since only they know the transport.
  for (const [id, c] of config.receivers) {
    if (!pipelines.some((p) => p.receivers.includes(id))) continue;
    const settings = settingsFor<unknown>(c);
    const outputs = fanoutBySignal(id);
    const receiver = create(c, () => (c.factory as ReceiverFactory).create(settings, outputs));
    nodes.push({ kind: "receiver", id, component: receiver });
  }

  return { nodes, pipelineEntries: entries };
}
