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
 * Sharded components (`{ sharded: key }`) are placed as `single` for now: correct (one instance
 * sees all the data) but not spread.
 *
 * @module
 */
import type { ExporterFactory, Placement, ReceiverFactory } from "../components/component.ts";
import type { ComponentConfig, PipelineConfig, ResolvedConfig } from "./config.ts";
import { mentionsAny } from "./graph.ts";

/** The type of the link receiver the primary runs for each forwarded pipeline. */
export const INBOX_TYPE = "tfo_worker_inbox";
/** The type of the link exporter the other workers run for each forwarded pipeline. */
export const OUTBOX_TYPE = "tfo_worker_outbox";

/** The config of a link component: the pipeline it links. */
export interface LinkConfig {
  readonly pipeline: string;
}

/** The link factories a split wires in. */
export interface WorkerLinks {
  /** Makes the primary's link receivers. */
  readonly inbox?: ReceiverFactory<LinkConfig>;
  /** Makes the other workers' link exporters. */
  readonly outbox?: ExporterFactory<LinkConfig>;
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
  return id.startsWith(`${INBOX_TYPE}/`) || id.startsWith(`${OUTBOX_TYPE}/`);
}

/**
 * Splits `config` for a service of several workers (see the module doc). Pure: the same config
 * gives the same split.
 */
export function splitForWorkers(config: ResolvedConfig, links: WorkerLinks = {}): WorkerSplit {
  const singleExtensions = new Set(
    [...config.extensions.values()].filter((e) => placementOf(e) !== "stateless").map((e) => e.id),
  );
  // A component that names a single extension (storage, an authenticator that keeps state) runs
  // where that extension is.
  const stateless = (c: ComponentConfig | undefined): boolean =>
    c !== undefined && placementOf(c) === "stateless" && !mentionsAny(c.config, singleExtensions);
  const pipelines = [...config.service.pipelines.values()];

  const local = new Set<string>();
  for (const p of pipelines) {
    const processors = p.processors.every((id) => stateless(config.processors.get(id)));
    const exporters = p.exporters.every((id) =>
      stateless(config.exporters.get(id) ?? config.connectors.get(id))
    );
    if (processors && exporters) local.add(p.id);
  }
  // A pipeline that feeds a connector runs whole only where every pipeline behind it does.
  for (let changed = true; changed;) {
    changed = false;
    for (const p of pipelines) {
      if (!local.has(p.id)) continue;
      const behind = p.exporters.filter((id) => config.connectors.has(id)).flatMap((c) =>
        pipelines.filter((q) => q.receivers.includes(c))
      );
      if (behind.some((q) => !local.has(q.id))) {
        local.delete(p.id);
        changed = true;
      }
    }
  }

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
      if (local.has(p.id) && receivers.length > 0) {
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

  const primary = withInboxes(config, forwarded, links.inbox);
  if (kept.size === 0) {
    return { primary, worker: undefined, replicated: [], forwarded: [] };
  }
  const exporters = pick(config.exporters, used("exporters"));
  for (const id of forwarded) {
    exporters.set(outboxId(id), {
      id: outboxId(id),
      type: OUTBOX_TYPE,
      kind: "exporter",
      factory: links.outbox!,
      config: { pipeline: id } satisfies LinkConfig,
    });
  }
  const extensions = new Map(
    [...config.extensions].filter(([id]) => !singleExtensions.has(id)),
  );
  const worker: ResolvedConfig = {
    receivers: pick(config.receivers, used("receivers")),
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
    replicated: [...kept.keys()].filter((id) => !forwarded.includes(id)),
    forwarded: [...forwarded],
  };
}

function withInboxes(
  config: ResolvedConfig,
  forwarded: readonly string[],
  inbox: ReceiverFactory<LinkConfig> | undefined,
): ResolvedConfig {
  if (forwarded.length === 0 || inbox === undefined) return config;
  const receivers = new Map(config.receivers);
  const pipelines = new Map(config.service.pipelines);
  for (const id of forwarded) {
    receivers.set(inboxId(id), {
      id: inboxId(id),
      type: INBOX_TYPE,
      kind: "receiver",
      factory: inbox,
      config: { pipeline: id } satisfies LinkConfig,
    });
    const p = pipelines.get(id)!;
    pipelines.set(id, { ...p, receivers: [...p.receivers, inboxId(id)] });
  }
  return { ...config, receivers, service: { ...config.service, pipelines } };
}
