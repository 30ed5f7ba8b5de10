/**
 * The entry module of a worker other than the primary (`service.workers` above 1; started by
 * `supervisor.ts`, embedded by `deno compile` through the `compile` task's `--include`).
 *
 * On `init` it reads the same config sources as the primary, keeps the part
 * `placement.ts` gives the other workers, and runs it as a {@linkcode Service} whose receivers
 * share their ports with the primary's (`SO_REUSEPORT`). Forwarded pipelines reach the primary
 * through the link exporters (`worker_link.ts`). Every second, and once more when it stops, it
 * posts its own metrics, which the primary sums into its own. `reload` rebuilds the graph from
 * the sources it is given (unchanged receivers keep their ports); `stop` drains the graph and
 * answers `stopped`.
 *
 * An uncaught error or unhandled rejection does not end the worker at once: it says `draining`,
 * its shared ports stop accepting and refuse every new request retryably (`lib/net/drain.ts`:
 * 503 + `Retry-After`, `UNAVAILABLE`), requests still in flight after {@linkcode DRAIN_GRACE_MS}
 * are refused the same way, its graph drains (batches flush, queues empty, what it forwarded is
 * answered by the primary) within `service.shutdown_timeout`, and it says `drained`; the primary
 * then ends it and starts another.
 *
 * Test-only fault: with `TFO_TEST_WORKER_FAULT=<index>:<n>` in the environment, worker `index`
 * (first life only) swallows its `n`-th forwarded request, which then never gets an answer from
 * the primary, and throws an uncaught error: what a bug in a pipeline would do. Nothing reads the
 * variable otherwise; tests/pipelines/worker_drain_test.ts sets it.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { BUILTIN_COMPONENTS } from "../components/registry.ts";
import { errorMessage } from "../lib/consumer/consumer.ts";
import { createLogger, type Logger } from "../lib/telemetry/logger.ts";
import { type Labels, MetricRegistry, type MetricSnapshot } from "../lib/telemetry/metrics.ts";
import type { ResolvedConfig } from "./config.ts";
import type { ConfigSources } from "./config_sources.ts";
import { formatDiagnostic } from "./diagnostics.ts";
import { decodeResolution } from "./resolved_transport.ts";
import { isLinkId, splitForWorkers } from "./placement.ts";
import { Service } from "./service.ts";
import {
  createOutbox,
  createShardRouter,
  type PrimaryMessage,
  WorkerHub,
  type WorkerMessage,
} from "./worker_link.ts";
import { joinMemoryBoard } from "../lib/host/isolate_memory.ts";
import { refuseNewRequests, refuseRequestsInFlight } from "../lib/net/drain.ts";
import { joinBucketBoard } from "../lib/tenancy/shared_buckets.ts";
import type { ExporterFactory } from "../components/component.ts";
import type { ShardConfig } from "./placement.ts";

/** How often the worker's metrics are posted to the primary. */
const METRICS_INTERVAL_MS = 1000;
/** How long a failed worker lets requests in flight finish before it refuses them. */
export const DRAIN_GRACE_MS = 1000;
/** The retry delay a failed worker's refusals carry. */
const DRAIN_RETRY_MS = 1000;

function post(message: WorkerMessage, transfer: Transferable[] = []): void {
  self.postMessage(message, transfer);
}

/** The test-only fault (see the module doc): `[index, n]`, or undefined. */
function testFault(): readonly [number, number] | undefined {
  let spec: string | undefined;
  try {
    spec = Deno.env.get("TFO_TEST_WORKER_FAULT");
  } catch {
    return undefined; // No env permission: no fault.
  }
  const match = spec === undefined ? null : /^(\d+):(\d+)$/.exec(spec);
  return match === null ? undefined : [Number(match[1]), Number(match[2])];
}

let faultAfter: number | undefined;

const outbox = createOutbox((message, transfer) => {
  if (faultAfter !== undefined && --faultAfter <= 0) {
    faultAfter = undefined;
    setTimeout(() => {
      throw new Error("Test fault: TFO_TEST_WORKER_FAULT");
    }, 0);
    return; // Swallowed: that request waits for an answer that never comes.
  }
  post(message, transfer);
});
/** The link receivers of this worker's shards of sharded pipelines. */
const hub = new WorkerHub();
let shardRouter: ExporterFactory<ShardConfig> | undefined;
const registry = new MetricRegistry();
let service: Service | undefined;
let logger: Logger | undefined;
let metricsTimer: ReturnType<typeof setInterval> | undefined;
let buildInfo = { command: "tfo", version: "" };

/** The series the primary sums: not those of the link components. */
function userSeries(_name: string, labels: Labels): boolean {
  for (const value of Object.values(labels)) if (isLinkId(value)) return false;
  return true;
}

function snapshot(): MetricSnapshot {
  return registry.snapshot(userSeries);
}

let workerCount = 2;

/** Why the last config was validated in this worker rather than decoded; logged at debug. */
let validatedHere: string | undefined;

function noteValidatedHere(): void {
  if (validatedHere !== undefined) {
    logger?.debug("Validated the config in this worker", { reason: validatedHere });
  }
  validatedHere = undefined;
}

/**
 * The config of `sources`: decoded from the primary's resolution `resolved` when it sent one
 * (the config machinery then never loads in this worker), else loaded and validated here.
 */
async function resolvedConfig(
  sources: ConfigSources,
  resolved: Uint8Array | undefined,
): Promise<ResolvedConfig> {
  if (resolved !== undefined) {
    try {
      const { config } = await decodeResolution(resolved, BUILTIN_COMPONENTS);
      if (config !== undefined) return config;
      validatedHere = "the primary's resolution holds no config";
    } catch (error) {
      validatedHere = errorMessage(error);
    }
  } else {
    validatedHere = "the primary sent no resolution";
  }
  const { resolveSources } = await import("./config_sources.ts");
  const { config, diagnostics } = await resolveSources(sources, BUILTIN_COMPONENTS);
  if (config === undefined) {
    const errors = diagnostics.filter((d) => d.severity === "error").map(formatDiagnostic);
    throw new Error(`Invalid config: ${errors.join("; ")}`);
  }
  return config;
}

async function workerConfig(
  sources: ConfigSources,
  resolved: Uint8Array | undefined,
): Promise<ResolvedConfig> {
  const config = await resolvedConfig(sources, resolved);
  const { worker } = splitForWorkers(config, {
    inbox: hub.inbox,
    outbox: outbox.factory,
    ...(shardRouter === undefined ? {} : { shard: shardRouter }),
  }, workerCount);
  if (worker === undefined) throw new Error("Nothing of the config runs in this worker");
  return worker;
}

async function init(
  index: number,
  count: number,
  sources: ConfigSources,
  resolved: Uint8Array | undefined,
  version: string,
  life: number,
): Promise<void> {
  buildInfo = { command: "tfo", version };
  const fault = testFault();
  if (fault !== undefined && fault[0] === index && life === 0) faultAfter = fault[1];
  workerCount = count;
  shardRouter = createShardRouter({
    index,
    count,
    hub,
    send: (target, pipeline, signal, bytes, client) =>
      outbox.sendTo(target, pipeline, signal, bytes, client),
  });
  const config = await workerConfig(sources, resolved);
  const telemetry = config.service.telemetry;
  logger = createLogger({ level: telemetry.logs.level, encoding: telemetry.logs.encoding })
    .with({ "tfo.worker": index });
  noteValidatedHere();
  service = new Service({ config, logger, registry, buildInfo, sharePorts: true });
  await service.start();
  metricsTimer = setInterval(
    () => post({ t: "metrics", snapshot: snapshot() }),
    METRICS_INTERVAL_MS,
  );
}

async function reload(sources: ConfigSources, resolved: Uint8Array | undefined): Promise<void> {
  if (service === undefined) throw new Error("The worker has not started");
  const config = await workerConfig(sources, resolved);
  noteValidatedHere();
  const outcome = await service.reload(config);
  if (!outcome.ok) throw outcome.error ?? new Error("Unknown reload failure");
}

async function stop(): Promise<boolean> {
  clearInterval(metricsTimer);
  const clean = service === undefined ? true : await service.shutdown();
  outbox.failAll("The worker stopped");
  return clean;
}

let failure: string | undefined;

/** Drains this worker after an error nothing caught (see the module doc); once. */
async function drainAfterFailure(error: unknown): Promise<void> {
  if (failure !== undefined) return;
  failure = errorMessage(error);
  post({ t: "draining", message: failure });
  logger?.error("Uncaught error in this worker; it refuses new requests and drains", { error });
  refuseNewRequests(DRAIN_RETRY_MS);
  await new Promise((resolve) => setTimeout(resolve, DRAIN_GRACE_MS));
  refuseRequestsInFlight();
  // Their clients were answered: what the primary answers later is for nobody.
  outbox.failAll("The worker failed");
  let clean = false;
  try {
    clean = await stop();
  } catch (stopError) {
    logger?.error("The failed worker did not drain", { error: stopError });
  }
  post({ t: "drained", message: failure, clean, snapshot: snapshot() });
}

self.addEventListener("error", (event) => {
  event.preventDefault();
  void drainAfterFailure(event.error ?? event.message);
});
self.addEventListener("unhandledrejection", (event) => {
  event.preventDefault();
  void drainAfterFailure(event.reason);
});

self.onmessage = (event: MessageEvent<PrimaryMessage>) => {
  const message = event.data;
  switch (message.t) {
    case "ack":
      outbox.settle(message);
      return;
    case "snapshot":
      post({ t: "metrics", snapshot: snapshot() });
      return;
    case "push":
      // A shard for this worker's instance of a sharded pipeline.
      void hub.deliver(message).then((ack) => post(ack));
      return;
    case "init":
      joinMemoryBoard(message.memory, message.index);
      joinBucketBoard(message.buckets);
      init(
        message.index,
        message.count,
        message.sources,
        message.resolved,
        message.version,
        message.life,
      ).then(
        () => post({ t: "ready" }),
        (error) => post({ t: "failed", message: errorMessage(error) }),
      );
      return;
    case "reload":
      reload(message.sources, message.resolved).then(
        () => post({ t: "reloaded", seq: message.seq, ok: true }),
        (error) => {
          logger?.error("Cannot apply the new config in this worker", { error });
          post({ t: "reloaded", seq: message.seq, ok: false, message: errorMessage(error) });
        },
      );
      return;
    case "stop":
      stop().then(
        (clean) => post({ t: "stopped", clean, snapshot: snapshot() }),
        () => post({ t: "stopped", clean: false, snapshot: snapshot() }),
      );
      return;
  }
};
