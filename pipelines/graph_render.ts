/**
 * Draws a validated config's pipeline graph as text for `tfo graph`: Mermaid (for Markdown and
 * GitHub) and Graphviz DOT. Receivers, exporters and connectors are drawn once however many
 * pipelines share them; processors are drawn per pipeline, because each pipeline runs its own
 * instance of them. Edges go left to right and carry the pipeline's signal.
 *
 * @module
 */
import type { ViewNode } from "../lib/component/view.ts";
import type { ResolvedConfig } from "./config.ts";
import { graphView } from "./graph_view.ts";

/** The formats `tfo graph` prints. */
export const GRAPH_FORMATS = ["mermaid", "dot"] as const;

/** One of {@linkcode GRAPH_FORMATS}. */
export type GraphFormat = typeof GRAPH_FORMATS[number];

type NodeKind = ViewNode["kind"];

/** Identifiers both formats accept: `n0`, `n1`, … in drawing order. */
function identifiers(nodes: readonly ViewNode[]): Map<string, string> {
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
  const { nodes, edges } = graphView(config);
  const ids = identifiers(nodes);
  const lines = ["flowchart LR"];
  const declare = (node: ViewNode, indent: string) => {
    const [open, close] = MERMAID_SHAPES[node.kind];
    lines.push(
      `${indent}${ids.get(node.key)}${open}${mermaidText(`${node.kind}: ${node.id}`)}${close}`,
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
  const { nodes, edges } = graphView(config);
  const ids = identifiers(nodes);
  const lines = ["digraph tfo {", "  rankdir=LR;"];
  const declare = (node: ViewNode, indent: string) => {
    const label = dotText(`${node.kind}: ${node.id}`);
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
