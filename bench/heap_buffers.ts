/**
 * What holds the ArrayBuffers of a V8 heap snapshot (`bench/memory_probe.ts --snapshot-mib`, or
 * `node:v8`'s `writeHeapSnapshot`): every backing store of at least 1 KiB, grouped by the chain of
 * its first strong retainers (`--depth` links), largest group first. Encoded OTLP stays in
 * `Uint8Array`s outside the V8 heap, so this is where a pass-through pipeline's memory shows.
 *
 * ```sh
 * deno run -A bench/heap_buffers.ts /tmp/probe/peak.heapsnapshot --depth 5 --top 20
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";

/** The parts of a `.heapsnapshot` file read here. */
export interface HeapSnapshot {
  snapshot: {
    meta: {
      node_fields: string[];
      node_types: [string[], ...unknown[]];
      edge_fields: string[];
      edge_types: [string[], ...unknown[]];
    };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** One group of backing stores retained along the same path. */
export interface BufferGroup {
  /** The retainer path, from the backing store outwards. */
  readonly path: string;
  readonly bytes: number;
  readonly count: number;
}

/** Groups the snapshot's backing stores of at least `minBytes` by `depth` retainer links. */
export function bufferGroups(snap: HeapSnapshot, depth: number, minBytes = 1024): BufferGroup[] {
  const meta = snap.snapshot.meta;
  const nf = meta.node_fields.length;
  const ef = meta.edge_fields.length;
  const { nodes, edges, strings } = snap;
  const nodeTypes = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const iType = meta.node_fields.indexOf("type");
  const iName = meta.node_fields.indexOf("name");
  const iSize = meta.node_fields.indexOf("self_size");
  const iEdges = meta.node_fields.indexOf("edge_count");
  const eType = meta.edge_fields.indexOf("type");
  const eName = meta.edge_fields.indexOf("name_or_index");
  const eTo = meta.edge_fields.indexOf("to_node");
  const n = nodes.length / nf;
  const firstEdge = new Int32Array(n + 1);
  for (let i = 0, e = 0; i < n; i++) {
    firstEdge[i] = e;
    e += nodes[i * nf + iEdges]! * ef;
  }
  firstEdge[n] = edges.length;
  // Retainers of each node, as (node, edge) pairs.
  const count = new Int32Array(n + 1);
  for (let e = 0; e < edges.length; e += ef) count[edges[e + eTo]! / nf]!++;
  const start = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) start[i + 1] = start[i]! + count[i]!;
  const byNode = new Int32Array(start[n]!);
  const byEdge = new Int32Array(start[n]!);
  const fill = start.slice();
  for (let i = 0; i < n; i++) {
    for (let e = firstEdge[i]!; e < firstEdge[i + 1]!; e += ef) {
      const to = edges[e + eTo]! / nf;
      byNode[fill[to]!] = i;
      byEdge[fill[to]!++] = e;
    }
  }
  const name = (i: number) =>
    `${nodeTypes[nodes[i * nf + iType]!]}:${strings[nodes[i * nf + iName]!]!.slice(0, 48)}`;
  const edgeName = (e: number) => {
    const type = edgeTypes[edges[e + eType]!];
    const v = edges[e + eName]!;
    return type === "element" || type === "hidden" ? `[${v}]` : strings[v]!;
  };
  const groups = new Map<string, { bytes: number; count: number }>();
  for (let i = 0; i < n; i++) {
    if (strings[nodes[i * nf + iName]!] !== "system / JSArrayBufferData") continue;
    const size = nodes[i * nf + iSize]!;
    if (size < minBytes) continue;
    const path: string[] = [];
    const seen = new Set([i]);
    let node = i;
    for (let d = 0; d < depth; d++) {
      let next = -1;
      let via = "";
      for (let r = start[node]!; r < start[node + 1]!; r++) {
        const e = byEdge[r]!;
        if (edgeTypes[edges[e + eType]!] === "weak" || seen.has(byNode[r]!)) continue;
        next = byNode[r]!;
        via = edgeName(e);
        break;
      }
      if (next < 0) break;
      seen.add(next);
      path.push(`${via} ← ${name(next)}`);
      node = next;
    }
    const key = path.join(" ← ");
    const g = groups.get(key) ?? { bytes: 0, count: 0 };
    g.bytes += size;
    g.count++;
    groups.set(key, g);
  }
  return [...groups].map(([path, g]) => ({ path, ...g })).sort((a, b) => b.bytes - a.bytes);
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: { depth: { type: "string", default: "5" }, top: { type: "string", default: "20" } },
  });
  if (positionals.length !== 1) {
    console.error(
      "Usage: deno run -A bench/heap_buffers.ts FILE.heapsnapshot [--depth N] [--top N]",
    );
    Deno.exit(2);
  }
  const snap = JSON.parse(await Deno.readTextFile(positionals[0]!)) as HeapSnapshot;
  const groups = bufferGroups(snap, Number(values.depth));
  const total = groups.reduce((s, g) => s + g.bytes, 0);
  console.log(`ArrayBuffers of 1 KiB or more: ${(total / 1024 / 1024).toFixed(1)} MiB\n`);
  console.log("| MiB | buffers | retained by |\n| ---: | ---: | --- |");
  for (const g of groups.slice(0, Number(values.top))) {
    console.log(`| ${(g.bytes / 1024 / 1024).toFixed(1)} | ${g.count} | ${g.path} |`);
  }
}
