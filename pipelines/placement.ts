/**
 * Placement of a graph over several workers (`service.workers` above 1). Components declare how
 * they run (`Placement` on their factory); this module decides which worker runs which part.
 *
 * The primary worker (the main thread) runs the whole config: every pipeline, every `single`
 * component (pull receivers, the prometheus exporter, extensions, exporters with a persistent
 * queue). Every other worker runs the config's stateless part, built by
 * {@linkcode splitForWorkers}:
 *
 * - its push receivers (`stateless`: the OTLP receiver) listen on the same ports as the primary's,
 *   with `SO_REUSEPORT`, so the kernel spreads connections over the workers;
 * - a pipeline whose processors and exporters are all stateless (and whose connectors lead only to
 *   such pipelines) runs whole in the worker: it is *replicated*;
 * - any other pipeline is *forwarded*: in the worker its receivers feed a link exporter
 *   (`tfo_worker_outbox/<pipeline>`) that hands the still-encoded request to the primary, where a
 *   link receiver (`tfo_worker_inbox/<pipeline>`) feeds the pipeline's processors. A refusal there
 *   travels back, so backpressure and acknowledgement hold across workers.
 *
 * - a pipeline with a sharded component (`{ sharded: key }`: tail sampling by trace ID, span
 *   metrics by service), all its other stages stateless, runs in every worker behind a *shard
 *   router* (`tfo_worker_shard/<pipeline>`): each worker's receivers feed its router, which splits
 *   every request by the key on the encoded bytes (`lib/placement/shard_split.ts`) and hands shard
 *   `j` to worker `j`'s link receiver, so related data meets in one instance whichever worker took
 *   it. Without a router factory (or when the key does not fit the signal) it is forwarded, as a
 *   single component.
 *
 * @module
 */
import type { ExporterFactory, Placement, ReceiverFactory } from "../components/component.ts";
import type { ComponentConfig, PipelineConfig, ResolvedConfig } from "./config.ts";
import { mentionsAny } from "./graph.ts";
import type { ShardKey } from "../lib/placement/shard_split.ts";

/** The type of the link receiver the primary runs for each forwarded pipeline. */
export const INBOX_TYPE = "tfo_worker_inbox";
/** The type of the link exporter the other workers run for each forwarded pipeline. */
export const OUTBOX_TYPE = "tfo_worker_outbox";
/** The type of the exporter that splits a sharded pipeline's requests over the workers. */
export const SHARD_TYPE = "tfo_worker_shard";

/** The config of a link component: the pipeline it links. */
export interface LinkConfig {
  readonly pipeline: string;
}

/** The config of a shard router: the pipeline it feeds and the key it splits by. */
export interface ShardConfig extends LinkConfig {
  readonly key: ShardKey;
}

/** The link factories a split wires in. */
export interface WorkerLinks {
  /** Makes the primary's link receivers. */
  readonly inbox?: ReceiverFactory<LinkConfig>;
  /** Makes the other workers' link exporters. */
  readonly outbox?: ExporterFactory<LinkConfig>;
  /** Makes the shard routers of sharded pipelines; without it sharded ones are placed single. */
  readonly shard?: ExporterFactory<ShardConfig>;
}

/** What {@linkcode splitForWorkers} decided. */
export interface WorkerSplit {
  /** The primary's config: the whole config plus a link receiver per forwarded pipeline. */
  readonly primary: ResolvedConfig;
  /** The config of every other worker; undefined when they would run nothing. */
  readonly worker: ResolvedConfig | undefined;
  /** Pipelines that run whole in every worker. */
  readonly replicated: readonly string[];
  /** Pipelines whose data the other workers hand to the primary. */
  readonly forwarded: readonly string[];
  /**
   * Pipelines with a sharded component: every worker runs them, fed with the shards of every
   * worker's requests (split by the component's key), so related data meets in one instance.
   */
  readonly sharded: readonly string[];
}

/**
 * How a configured component runs: its factory's declaration, the kind's default otherwise, and
 * `single` for an exporter with a persistent queue (one writer per queue, so the queue holds after
 * a restart with a different worker count).
 */
export function placementOf(c: ComponentConfig): Placement {
  if (c.kind === "exporter" && hasPersistentQueue(c.config)) return "single";
  return c.factory.placement ??
    (c.kind === "receiver" || c.kind === "extension" ? "single" : "stateless");
}

function hasPersistentQueue(config: unknown): boolean {
  if (typeof config !== "object" || config === null) return false;
  const queue = (config as { sending_queue?: unknown }).sending_queue;
  if (typeof queue !== "object" || queue === null) return false;
  const q = queue as { enabled?: unknown; storage?: unknown };
  return q.enabled !== false && typeof q.storage === "string";
}

/** The ID of the link receiver of a pipeline. */
export function inboxId(pipeline: string): string {
  return `${INBOX_TYPE}/${pipeline}`;
}

/** The ID of the link exporter of a pipeline. */
export function outboxId(pipeline: string): string {
  return `${OUTBOX_TYPE}/${pipeline}`;
}

/** True for the ID of a link component, whose self metrics are not the user's. */
export function isLinkId(id: string): boolean {
  return id.startsWith(`${INBOX_TYPE}/`) || id.startsWith(`${OUTBOX_TYPE}/`) ||
    id.startsWith(`${SHARD_TYPE}/`) || id.includes(`/${SHARD_TYPE}_`);
}

/**
 * Splits `config` for a service of several workers (see the module doc). Pure: the same config
 * gives the same split.
 */
export function splitForWorkers(
  resolved: ResolvedConfig,
  links: WorkerLinks = {},
  count = 2,
): WorkerSplit {
  let config = resolved;
  const singleExtensions = new Set(
    [...config.extensions.values()].filter((e) => placementOf(e) !== "stateless").map((e) => e.id),
  );
  // A component that names a single extension (storage, an authenticator that keeps state) runs
  // where that extension is.
  const stateless = (c: ComponentConfig | undefined): boolean =>
    c !== undefined && placementOf(c) === "stateless" && !mentionsAny(c.config, singleExtensions);
  const keyOf = (c: ComponentConfig | undefined): ShardKey | undefined => {
    if (c === undefined || mentionsAny(c.config, singleExtensions)) return undefined;
    const placement = placementOf(c);
    return typeof placement === "object" ? placement.sharded : undefined;
  };
  const pipelines = [...config.service.pipelines.values()];

  const local = new Set<string>();
  const shardKeys = new Map<string, ShardKey>();
  for (const p of pipelines) {
    const stages = [
      ...p.processors.map((id) => config.processors.get(id)),
      ...p.exporters.map((id) => config.exporters.get(id) ?? config.connectors.get(id)),
    ];
    if (stages.every(stateless)) {
      local.add(p.id);
      continue;
    }
    // Sharded: every stage stateless but sharded ones, all by one key the signal carries.
    const keys = new Set(stages.map(keyOf).filter((k) => k !== undefined));
    const [key] = keys;
    if (
      links.shard !== undefined && key !== undefined && keys.size === 1 &&
      (key !== "trace_id" || p.signal === "traces") &&
      stages.every((c) => stateless(c) || keyOf(c) !== undefined)
    ) {
      shardKeys.set(p.id, key);
    }
  }
  // A pipeline that feeds a connector runs in every worker only where every pipeline behind it
  // does (whole, or sharded: its shard router runs in every worker).
  const everywhere = (id: string) => local.has(id) || shardKeys.has(id);
  for (let changed = true; changed;) {
    changed = false;
    for (const p of pipelines) {
      if (!everywhere(p.id)) continue;
      const behind = p.exporters.filter((id) => config.connectors.has(id)).flatMap((c) =>
        pipelines.filter((q) => q.receivers.includes(c))
      );
      if (behind.some((q) => !everywhere(q.id))) {
        local.delete(p.id);
        shardKeys.delete(p.id);
        changed = true;
      }
    }
  }

  config = withShardConfigs(resolved, [...shardKeys.keys()], count);

  // Which connectors the worker runs depends on which pipelines it keeps, and back: grow both.
  let present = new Set<string>();
  let kept = new Map<string, PipelineConfig>();
  const forwarded: string[] = [];
  for (;;) {
    kept = new Map();
    forwarded.length = 0;
    for (const p of pipelines) {
      const receivers = p.receivers.filter((id) =>
        present.has(id) || stateless(config.receivers.get(id))
      );
      const push = receivers.filter((id) => config.receivers.has(id));
      if (shardKeys.has(p.id)) {
        for (const q of shardedPipelines(p, receivers)) kept.set(q.id, q);
      } else if (local.has(p.id) && receivers.length > 0) {
        kept.set(p.id, { ...p, receivers });
      } else if (!local.has(p.id) && push.length > 0 && links.outbox !== undefined) {
        kept.set(p.id, {
          id: p.id,
          signal: p.signal,
          receivers: push,
          processors: [],
          exporters: [outboxId(p.id)],
        });
        forwarded.push(p.id);
      }
    }
    const next = new Set<string>();
    for (const p of kept.values()) {
      for (const id of p.exporters) if (config.connectors.has(id)) next.add(id);
    }
    if (next.size === present.size && [...next].every((id) => present.has(id))) break;
    present = next;
  }

  const used = (kind: "receivers" | "processors" | "exporters") =>
    new Set([...kept.values()].flatMap((p) => p[kind]));
  const pick = (from: Map<string, ComponentConfig>, ids: Set<string>) =>
    new Map([...from].filter(([id]) => ids.has(id)));

  const primary = primaryConfig(config, forwarded, shardKeys, links);
  const sharded = [...shardKeys.keys()];
  if (kept.size === 0) {
    return { primary, worker: undefined, replicated: [], forwarded: [], sharded: [] };
  }
  const receivers = pick(config.receivers, used("receivers"));
  const exporters = pick(config.exporters, used("exporters"));
  for (const id of forwarded) exporters.set(outboxId(id), linkComponent(links, "outbox", id));
  for (const [id, key] of shardKeys) {
    receivers.set(inboxId(id), linkComponent(links, "inbox", id));
    exporters.set(routerId(id), linkComponent(links, "shard", id, key));
  }
  const extensions = new Map(
    [...config.extensions].filter(([id]) => !singleExtensions.has(id)),
  );
  const worker: ResolvedConfig = {
    receivers,
    processors: pick(config.processors, used("processors")),
    exporters,
    connectors: pick(config.connectors, present),
    extensions,
    service: {
      ...config.service,
      extensions: config.service.extensions.filter((id) => extensions.has(id)),
      pipelines: kept,
      telemetry: {
        ...config.service.telemetry,
        // The primary serves the sum of every worker's metrics.
        metrics: { ...config.service.telemetry.metrics, readers: [] },
      },
    },
  };
  return {
    primary,
    worker,
    replicated: [...kept.keys()].filter((id) =>
      !forwarded.includes(id) && config.service.pipelines.has(id) && !shardKeys.has(id)
    ),
    forwarded: [...forwarded],
    sharded,
  };
}

/**
 * `config` with the config of each sharded component of the `sharded` pipelines as one of `count`
 * instances sees it (`Factory.shardConfig`). A sharded component placed single (its pipeline is
 * forwarded) keeps its config: it is the only instance.
 */
function withShardConfigs(
  config: ResolvedConfig,
  sharded: readonly string[],
  count: number,
): ResolvedConfig {
  const used = new Set(
    sharded.flatMap((id) => {
      const p = config.service.pipelines.get(id)!;
      return [...p.processors, ...p.exporters];
    }),
  );
  if (used.size === 0) return config;
  const shard = (from: Map<string, ComponentConfig>) => {
    let out: Map<string, ComponentConfig> | undefined;
    for (const [id, c] of from) {
      if (!used.has(id) || typeof placementOf(c) !== "object") continue;
      if (c.factory.shardConfig === undefined) continue;
      out ??= new Map(from);
      out.set(id, { ...c, config: c.factory.shardConfig(c.config, count) });
    }
    return out ?? from;
  };
  const processors = shard(config.processors);
  const connectors = shard(config.connectors);
  if (processors === config.processors && connectors === config.connectors) return config;
  return { ...config, processors, connectors };
}

/** The ID of the shard router of a pipeline. */
export function routerId(pipeline: string): string {
  return `${SHARD_TYPE}/${pipeline}`;
}

/**
 * A sharded pipeline as two: its receivers feed a shard router (in a pipeline of its own, left out
 * without receivers), and a link receiver feeds its processors and exporters with the shards the
 * routers of every worker send here.
 */
function shardedPipelines(p: PipelineConfig, receivers: readonly string[]): PipelineConfig[] {
  const out: PipelineConfig[] = [{ ...p, receivers: [inboxId(p.id)] }];
  if (receivers.length > 0) {
    out.push({
      id: `${p.signal}/${SHARD_TYPE}_${p.id}`,
      signal: p.signal,
      receivers: [...receivers],
      processors: [],
      exporters: [routerId(p.id)],
    });
  }
  return out;
}

function linkComponent(
  links: WorkerLinks,
  which: "inbox" | "outbox" | "shard",
  pipeline: string,
  key?: ShardKey,
): ComponentConfig {
  const id = which === "inbox"
    ? inboxId(pipeline)
    : which === "outbox"
    ? outboxId(pipeline)
    : routerId(pipeline);
  const factory = links[which];
  if (factory === undefined) throw new Error(`No ${which} link factory for pipeline "${pipeline}"`);
  return {
    id,
    type: factory.type,
    kind: factory.kind,
    factory,
    config: key === undefined ? { pipeline } : { pipeline, key },
  };
}

function primaryConfig(
  config: ResolvedConfig,
  forwarded: readonly string[],
  shardKeys: ReadonlyMap<string, ShardKey>,
  links: WorkerLinks,
): ResolvedConfig {
  if (forwarded.length === 0 && shardKeys.size === 0) return config;
  const receivers = new Map(config.receivers);
  const exporters = new Map(config.exporters);
  const pipelines = new Map<string, PipelineConfig>();
  for (const p of config.service.pipelines.values()) {
    if (forwarded.includes(p.id)) {
      receivers.set(inboxId(p.id), linkComponent(links, "inbox", p.id));
      pipelines.set(p.id, { ...p, receivers: [...p.receivers, inboxId(p.id)] });
    } else if (shardKeys.has(p.id)) {
      receivers.set(inboxId(p.id), linkComponent(links, "inbox", p.id));
      exporters.set(routerId(p.id), linkComponent(links, "shard", p.id, shardKeys.get(p.id)));
      for (const q of shardedPipelines(p, p.receivers)) pipelines.set(q.id, q);
    } else {
      pipelines.set(p.id, p);
    }
  }
  return { ...config, receivers, exporters, service: { ...config.service, pipelines } };
}
