/**
 * Draws a validated config's pipeline graph as text for `tfo graph`: Mermaid (for Markdown and
 * GitHub) and Graphviz DOT. Receivers, exporters and connectors are drawn once however many
 * pipelines share them; processors are drawn per pipeline, because each pipeline runs its own
 * instance of them. Edges go left to right and carry the pipeline's signal.
 *
 * @module
 */
import type { ResolvedConfig } from "./config.ts";

/** The formats `tfo graph` prints. */
export const GRAPH_FORMATS = ["mermaid", "dot"] as const;

/** One of {@linkcode GRAPH_FORMATS}. */
export type GraphFormat = typeof GRAPH_FORMATS[number];

type NodeKind = "receiver" | "processor" | "exporter" | "connector";

interface DrawnNode {
  key: string;
  label: string;
  kind: NodeKind;
  /** The pipeline a processor belongs to; shared nodes have none. */
  pipeline?: string;
}

interface DrawnEdge {
  from: string;
  to: string;
  signal: string;
}

interface Drawing {
  nodes: DrawnNode[];
  edges: DrawnEdge[];
}

/** Collects the nodes and edges every format draws, in config order, each once. */
function layout(config: ResolvedConfig): Drawing {
  const nodes = new Map<string, DrawnNode>();
  const edges = new Map<string, DrawnEdge>();
  const shared = (id: string, fallback: NodeKind): string => {
    const kind = config.connectors.has(id) ? "connector" : fallback;
    const key = `${kind}:${id}`;
    if (!nodes.has(key)) nodes.set(key, { key, label: id, kind });
    return key;
  };
  const edge = (from: string, to: string, signal: string) => {
    const key = `${from}->${to}:${signal}`;
    if (!edges.has(key)) edges.set(key, { from, to, signal });
  };
  for (const pipeline of config.service.pipelines.values()) {
    const sources = pipeline.receivers.map((id) => shared(id, "receiver"));
    const chain = pipeline.processors.map((id) => {
      const key = `processor:${pipeline.id}:${id}`;
      nodes.set(key, { key, label: id, kind: "processor", pipeline: pipeline.id });
      return key;
    });
    const sinks = pipeline.exporters.map((id) => shared(id, "exporter"));
    let previous = sources;
    for (const key of chain) {
      for (const from of previous) edge(from, key, pipeline.signal);
      previous = [key];
    }
    for (const from of previous) for (const to of sinks) edge(from, to, pipeline.signal);
  }
  return { nodes: [...nodes.values()], edges: [...edges.values()] };
}

/** Identifiers both formats accept: `n0`, `n1`, … in drawing order. */
function identifiers(nodes: readonly DrawnNode[]): Map<string, string> {
  return new Map(nodes.map((node, index) => [node.key, `n${index}`]));
}

const MERMAID_SHAPES: Readonly<Record<NodeKind, [string, string]>> = {
  receiver: ["([", "])"],
  processor: ["[", "]"],
  exporter: ["[(", ")]"],
  connector: ["{{", "}}"],
};

function mermaidText(text: string): string {
  return `"${text.replaceAll('"', "#quot;")}"`;
}

/** The graph as a Mermaid flowchart; processors are grouped in a subgraph per pipeline. */
export function renderMermaid(config: ResolvedConfig): string {
  const { nodes, edges } = layout(config);
  const ids = identifiers(nodes);
  const lines = ["flowchart LR"];
  const declare = (node: DrawnNode, indent: string) => {
    const [open, close] = MERMAID_SHAPES[node.kind];
    lines.push(
      `${indent}${ids.get(node.key)}${open}${mermaidText(`${node.kind}: ${node.label}`)}${close}`,
    );
  };
  for (const node of nodes) if (node.pipeline === undefined) declare(node, "  ");
  for (const pipeline of config.service.pipelines.values()) {
    const own = nodes.filter((node) => node.pipeline === pipeline.id);
    if (own.length === 0) continue;
    lines.push(`  subgraph ${mermaidText(`pipeline ${pipeline.id}`)}`);
    for (const node of own) declare(node, "    ");
    lines.push("  end");
  }
  for (const { from, to, signal } of edges) {
    lines.push(`  ${ids.get(from)} -->|${signal}| ${ids.get(to)}`);
  }
  return lines.join("\n");
}

const DOT_SHAPES: Readonly<Record<NodeKind, string>> = {
  receiver: "invhouse",
  processor: "box",
  exporter: "house",
  connector: "hexagon",
};

function dotText(text: string): string {
  return `"${text.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

/** The graph in Graphviz DOT, left to right, processors clustered per pipeline. */
export function renderDot(config: ResolvedConfig): string {
  const { nodes, edges } = layout(config);
  const ids = identifiers(nodes);
  const lines = ["digraph tfo {", "  rankdir=LR;"];
  const declare = (node: DrawnNode, indent: string) => {
    const label = dotText(`${node.kind}: ${node.label}`);
    lines.push(`${indent}${ids.get(node.key)} [label=${label}, shape=${DOT_SHAPES[node.kind]}];`);
  };
  for (const node of nodes) if (node.pipeline === undefined) declare(node, "  ");
  let cluster = 0;
  for (const pipeline of config.service.pipelines.values()) {
    const own = nodes.filter((node) => node.pipeline === pipeline.id);
    if (own.length === 0) continue;
    lines.push(
      `  subgraph cluster_${cluster++} {`,
      `    label=${dotText(`pipeline ${pipeline.id}`)};`,
    );
    for (const node of own) declare(node, "    ");
    lines.push("  }");
  }
  for (const { from, to, signal } of edges) {
    lines.push(`  ${ids.get(from)} -> ${ids.get(to)} [label=${dotText(signal)}];`);
  }
  lines.push("}");
  return lines.join("\n");
}

/** The graph in `format`. */
export function renderGraph(config: ResolvedConfig, format: GraphFormat): string {
  return format === "dot" ? renderDot(config) : renderMermaid(config);
}
