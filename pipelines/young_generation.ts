/**
 * Which configs run with V8's default young generation instead of the 2 MiB semi-space cap that
 * `deno task start` and the compiled binary ship with (`lib/host/young_gen.ts` re-executes the
 * `deno run` process with it).
 *
 * The cap keeps an edge agent small: its data mostly stays encoded (batch, memory_limiter,
 * resource detection, OTLP exporters), so it allocates little per item. A pipeline that decodes
 * every item (OTTL, attribute edits, sampling, span metrics) allocates per item, and with a 2 MiB
 * cap V8 scavenges every few hundred items: on `bench/ottl_bench.ts` tfo's items per CPU-second
 * fell to 1.0–1.5× the Collector's with the cap against 1.4–2.2× without (bench/RESULTS.md, "OTTL
 * processing"). Several workers need it too: their parallel scavenges take the cores from the
 * pipelines ("Multi-core workers").
 *
 * @module
 */
import type { ResolvedConfig } from "./config.ts";

/** Processor types that decode and walk every item they get. */
const DECODING_PROCESSORS: ReadonlySet<string> = new Set([
  "attributes",
  "filter",
  "logstransform",
  "probabilistic_sampler",
  "tail_sampling",
  "transform",
]);

/** Connector types that decode every item to aggregate or count it. */
const DECODING_CONNECTORS: ReadonlySet<string> = new Set(["count", "servicegraph", "span_metrics"]);

/**
 * Why `config` should run with the bigger young generation, or `undefined` when the shipped cap
 * fits it: `service.workers` of 2 or more, or a pipeline with a processor or connector that
 * decodes every item (named in the reason).
 */
export function largeYoungGenerationReason(config: ResolvedConfig): string | undefined {
  if ((config.service.workers ?? 1) >= 2) return `service.workers is ${config.service.workers}`;
  for (const pipeline of config.service.pipelines.values()) {
    for (const id of pipeline.processors) {
      const type = config.processors.get(id)?.type;
      if (type !== undefined && DECODING_PROCESSORS.has(type)) {
        return `processor "${id}" decodes every item`;
      }
    }
    for (const id of [...pipeline.receivers, ...pipeline.exporters]) {
      const type = config.connectors.get(id)?.type;
      if (type !== undefined && DECODING_CONNECTORS.has(type)) {
        return `connector "${id}" decodes every item`;
      }
    }
  }
  return undefined;
}
