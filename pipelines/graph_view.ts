/**
 * The running graph as drawn (`tfo graph`, the pipeline page): node and edge keys the graph
 * builder's edge counters use too, so a count and the edge it belongs to always meet. Receivers,
 * exporters and connectors are one node however many pipelines share them; processors are a node
 * per pipeline, because each pipeline runs its own instance.
 *
 * @module
 */
import {
  edgeKey,
  type GraphView,
  type ViewComponent,
  type ViewEdge,
  type ViewNode,
} from "../lib/component/view.ts";
import type { Kind } from "../lib/component/host.ts";
import type { ComponentConfig, PipelineConfig, ResolvedConfig } from "./config.ts";
import { redactConfig } from "./_secrets.ts";

/** The key of a receiver, exporter or connector node (`receiver:otlp`). */
export function sharedNodeKey(config: ResolvedConfig, id: string, fallback: Kind): string {
  return `${config.connectors.has(id) ? "connector" : fallback}:${id}`;
}

/** The key of a pipeline's processor node (`processor:traces:batch`). */
export function processorNodeKey(pipeline: string, id: string): string {
  return `processor:${pipeline}:${id}`;
}

/** The node the data of `p` enters first from a receiver: its first processor, if any. */
export function firstProcessorKey(p: PipelineConfig): string | undefined {
  const first = p.processors[0];
  return first === undefined ? undefined : processorNodeKey(p.id, first);
}

function typeOf(config: ResolvedConfig, kind: Kind, id: string): string {
  const section: ReadonlyMap<string, ComponentConfig> = kind === "receiver"
    ? config.receivers
    : kind === "processor"
    ? config.processors
    : kind === "exporter"
    ? config.exporters
    : kind === "connector"
    ? config.connectors
    : config.extensions;
  return section.get(id)?.type ?? id.split("/")[0]!;
}

/** The graph of `config` as nodes, edges, pipelines and redacted component configs. */
export function graphView(config: ResolvedConfig): GraphView {
  const nodes = new Map<string, ViewNode>();
  const edges = new Map<string, ViewEdge>();
  const shared = (id: string, fallback: "receiver" | "exporter"): string => {
    const key = sharedNodeKey(config, id, fallback);
    const kind = key.slice(0, key.indexOf(":")) as ViewNode["kind"];
    if (!nodes.has(key)) nodes.set(key, { key, kind, id, type: typeOf(config, kind, id) });
    return key;
  };
  for (const p of config.service.pipelines.values()) {
    const edge = (from: string, to: string) => {
      const key = edgeKey(from, to, p.signal);
      if (!edges.has(key)) edges.set(key, { key, from, to, signal: p.signal });
    };
    const sources = p.receivers.map((id) => shared(id, "receiver"));
    const chain = p.processors.map((id) => {
      const key = processorNodeKey(p.id, id);
      nodes.set(key, {
        key,
        kind: "processor",
        id,
        type: typeOf(config, "processor", id),
        pipeline: p.id,
      });
      return key;
    });
    const sinks = p.exporters.map((id) => shared(id, "exporter"));
    let previous = sources;
    for (const key of chain) {
      for (const from of previous) edge(from, key);
      previous = [key];
    }
    for (const from of previous) for (const to of sinks) edge(from, to);
  }
  const components = new Map<string, ViewComponent>();
  for (
    const section of [
      config.receivers,
      config.processors,
      config.exporters,
      config.connectors,
      config.extensions,
    ]
  ) {
    for (const c of section.values()) {
      components.set(`${c.kind}:${c.id}`, {
        kind: c.kind,
        id: c.id,
        type: c.type,
        config: redactConfig(c.config),
      });
    }
  }
  return {
    nodes: [...nodes.values()],
    edges: [...edges.values()],
    pipelines: [...config.service.pipelines.values()].map((p) => ({
      id: p.id,
      signal: p.signal,
      receivers: [...p.receivers],
      processors: [...p.processors],
      exporters: [...p.exporters],
    })),
    components,
    extensions: [...config.service.extensions],
  };
}
