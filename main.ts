/**
 * The `tfo` command line: `run`, `validate`, `convert`, `components`, `version`. `deno run -A
 * main.ts <command>` behaves exactly like the compiled binary.
 *
 * @module
 */
import { parseArgs } from "node:util";
import type { Factory, FactoryEntry } from "./components/component.ts";
import { BUILTIN_COMPONENTS } from "./components/registry.ts";
import defaultConfigText from "./examples/agent.yaml" with { type: "text" };
import denoJson from "./deno.json" with { type: "json" };
import type { ResolvedConfig } from "./pipelines/config.ts";
import { formatDiagnostic } from "./pipelines/diagnostics.ts";
import type { ConfigSources } from "./pipelines/config_sources.ts";
import {
  type ChildResolver,
  createChildResolver,
  envValue,
  RESOLVE_CHILD_ENV,
  serveResolution,
} from "./pipelines/resolve_in_child.ts";
import { loadAll } from "./pipelines/factories.ts";
import { type ConfigLayer, Reloader } from "./pipelines/reload.ts";
import { GRAPH_FORMATS, type GraphFormat, renderGraph } from "./pipelines/graph_render.ts";
import { parseDuration } from "./lib/config/schema.ts";
import { formatOfContentType, parseExposition } from "./lib/prometheus/parse.ts";
import { renderTop, type Snapshot, snapshotOf, topRows } from "./lib/telemetry/top.ts";
import { Service, StartError } from "./pipelines/service.ts";
import { splitForWorkers } from "./pipelines/placement.ts";
import { WorkerPool } from "./pipelines/supervisor.ts";
import {
  ackError,
  createOutbox,
  createShardRouter,
  pushMessage,
  WorkerHub,
} from "./pipelines/worker_link.ts";
import { failureDiagnostics } from "./pipelines/failure_position.ts";
import { errorMessage } from "./lib/consumer/consumer.ts";
import { createLogger, type Logger } from "./lib/telemetry/logger.ts";
import { MetricRegistry } from "./lib/telemetry/metrics.ts";
import { registerProcessMetrics } from "./lib/telemetry/process_metrics.ts";
import { startMetricsServer } from "./lib/telemetry/server.ts";
import { releaseMemory } from "./lib/host/release_memory.ts";
import { findGc } from "./lib/host/gc.ts";
import { currentProcess, execve, REEXEC_ENV, reexecArgv } from "./lib/host/young_gen.ts";
import { largeYoungGenerationReason } from "./pipelines/young_generation.ts";
import { markLoopProbe, startLoopProbe } from "./lib/host/loop_probe.ts";

/** tfo's version. */
export const VERSION: string = denoJson.version;

/** Where the CLI writes; tests capture it. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

const STD_IO: CliIo = {
  out: (text) => console.log(text),
  err: (text) => console.error(text),
};

/** Options of {@linkcode main}. */
export interface MainOptions {
  /**
   * The factories to use: loaded ones, or registry rows loaded when a config names them.
   * @default the built-in ones (`BUILTIN_COMPONENTS`)
   */
  factories?: readonly FactoryEntry[];
  io?: CliIo;
  /** Resolves to stop `run` (tests); SIGINT and SIGTERM always stop it. */
  stop?: Promise<unknown>;
  /** Called with the other workers once they run (`service.workers` above 1; tests). */
  onWorkers?: (pool: WorkerPool) => void;
  /**
   * May `run` replace the process with itself started again with a bigger young generation when
   * `service.workers` is 2 or more (`lib/host/young_gen.ts`)? Only the real command line does.
   * @default false
   */
  reexec?: boolean;
}

const USAGE = `tfo ${VERSION}: a telemetry pipeline engine

Usage:
  tfo run [--config FILE]... [--set KEY=VALUE]...   run the pipelines (embedded agent config if no --config)
  tfo validate --config FILE... [--set KEY=VALUE]... check a config; exit 0 valid, 2 invalid
  tfo convert --config FILE... [--set KEY=VALUE]...  print a TFO-Agent config as an OpenTelemetry-shaped one
  tfo graph [--config FILE]... [--format mermaid|dot] print the pipeline graph
  tfo top [--endpoint URL] [--interval 1s]        show a running tfo's per-component rates
  tfo components                                  list the built-in components
  tfo version                                     print the version

Run "tfo <command> --help" for a command's options.`;

const COMMAND_HELP: Readonly<Record<string, string>> = {
  run: `Usage: tfo run [--config FILE]... [--set KEY=VALUE]...

Runs the pipelines of the config. Several --config files deep-merge in order (maps merge, lists
are replaced); each --set overrides one key last, e.g. --set exporters.debug.verbosity=detailed.
Without --config, runs the embedded default agent config. SIGINT or SIGTERM stop it gracefully.
SIGHUP reloads: the same files and flags are read and validated again; what did not change keeps
running, and an invalid or unstartable config is refused (logged) while the old one keeps serving.
Exit status: 0 after a graceful stop, 1 when a component cannot start (or a failed reload could not
restore the old pipelines), 2 for an invalid config.`,
  validate: `Usage: tfo validate --config FILE... [--set KEY=VALUE]...

Checks everything "run" checks, without opening ports, and reports every error at once with its
file:line:col. Prints OK and one line per pipeline when the config is valid.
Exit status: 0 valid, 2 invalid or bad usage.`,
  convert: `Usage: tfo convert --config FILE... [--set KEY=VALUE]...

Translates a config in the TFO-Agent shape (telemetryflow:, agent:, collectors:, exporter.otlp,
buffer, logging) into the OpenTelemetry-shaped config tfo runs, checks it as "validate" does, and
prints it on stdout; "tfo run" accepts the TFO-Agent file directly, so this is for reading or
keeping the result. \${env:...} references are kept; a secret written literally in the file is
printed as an environment reference instead (\${env:TELEMETRYFLOW_API_KEY_SECRET}), with a
comment naming the variable to set. Warnings and errors go to stderr.
Exit status: 0 converted, 2 when the config is not in the TFO-Agent shape or is invalid.`,
  graph: `Usage: tfo graph [--config FILE]... [--set KEY=VALUE]... [--format mermaid|dot]

Validates the config as "validate" does and prints its pipeline graph, left to right: Mermaid
(the default; paste it into Markdown) or Graphviz DOT (--format dot; render with "dot -Tsvg").
Receivers, exporters and connectors shared by several pipelines are drawn once; processors are
drawn per pipeline, as each pipeline runs its own instance. Without --config, draws the embedded
agent config.
Exit status: 0 drawn, 2 invalid config or bad usage.`,
  top: `Usage: tfo top [--endpoint URL] [--interval DURATION] [--iterations N]

Scrapes a running tfo's own metrics (default http://127.0.0.1:8888/metrics; an OpenTelemetry
Collector's endpoint works too) every --interval (default 1s) and shows, per receiver, processor
and exporter, items per second in and out, refused and failed per second, totals, and each
exporter's queue fill. On a terminal the screen is redrawn in place; otherwise one table is printed
per interval. --iterations stops after N tables (default: until interrupted).
Exit status: 0 when stopped, 1 when the endpoint cannot be read, 2 for bad usage.`,
  components: `Usage: tfo components

Lists every built-in component: kind, type, and the signals it supports with their stability.`,
  version: `Usage: tfo version

Prints the version of tfo and of the Deno runtime.`,
};

interface ParsedArgs {
  configs: string[];
  sets: string[];
  help: boolean;
  /** `--format`, which only `graph` takes. */
  format?: string;
  /** `--endpoint`, `--interval` and `--iterations`, which only `top` takes. */
  endpoint?: string;
  interval?: string;
  iterations?: string;
}

/** Options only some commands take, with the commands that take them. */
const COMMAND_ONLY_OPTIONS: ReadonlyArray<[keyof ParsedArgs, string]> = [
  ["format", "graph"],
  ["endpoint", "top"],
  ["interval", "top"],
  ["iterations", "top"],
];

function parseCommandArgs(args: string[]): ParsedArgs {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: "string", multiple: true, short: "c" },
      set: { type: "string", multiple: true },
      help: { type: "boolean", short: "h" },
      format: { type: "string" },
      endpoint: { type: "string" },
      interval: { type: "string" },
      iterations: { type: "string" },
    },
    strict: true,
    allowPositionals: false,
  });
  return {
    configs: values.config ?? [],
    sets: values.set ?? [],
    help: values.help ?? false,
    ...(values.format === undefined ? {} : { format: values.format }),
    ...(values.endpoint === undefined ? {} : { endpoint: values.endpoint }),
    ...(values.interval === undefined ? {} : { interval: values.interval }),
    ...(values.iterations === undefined ? {} : { iterations: values.iterations }),
  };
}

/** The config sources of a command line, with remote `layers` over its files. */
function sourcesOf(parsed: ParsedArgs, layers: readonly ConfigLayer[] = []): ConfigSources {
  return {
    files: parsed.configs,
    sets: parsed.sets,
    layers: layers.map((l) => ({ name: l.name, text: l.text })),
    fallback: { name: "<embedded agent.yaml>", text: defaultConfigText },
  };
}

/**
 * Loads and validates the config of the command line (and remote `layers`), printing every
 * diagnostic on `io.err`. With `inChild` (`tfo run` as the program itself), in a child process
 * (`pipelines/resolve_in_child.ts`), unless that resolver says to do it here; the config
 * machinery is imported only when it runs in this process.
 */
async function resolveConfig(
  parsed: ParsedArgs,
  factories: readonly FactoryEntry[],
  io: CliIo,
  layers: readonly ConfigLayer[] = [],
  inChild?: ChildResolver,
): Promise<ResolvedConfig | undefined> {
  // Layers (remote configs) merge over the files, under --set; they are read as named files.
  const sources = sourcesOf(parsed, layers);
  const fromChild = await inChild?.resolve(sources);
  if (fromChild !== undefined) {
    for (const line of fromChild.diagnostics) io.err(line);
    return fromChild.config;
  }
  const { resolveSources } = await import("./pipelines/config_sources.ts");
  const { config, diagnostics } = await resolveSources(sources, factories);
  for (const d of diagnostics) io.err(formatDiagnostic(d));
  return config;
}

function pipelineSummary(config: ResolvedConfig): string[] {
  return [...config.service.pipelines.values()].map((p) => {
    const stages = [p.receivers.join(", "), ...p.processors, p.exporters.join(", ")];
    return `  ${p.id}: ${stages.join(" → ")}`;
  });
}

async function scrape(endpoint: string): Promise<Snapshot> {
  const response = await fetch(endpoint, { signal: AbortSignal.timeout(5_000) });
  const text = await response.text();
  if (!response.ok) throw new Error(`${endpoint} answered ${response.status}`);
  const format = formatOfContentType(response.headers.get("content-type"));
  return snapshotOf(parseExposition(text, format).samples);
}

async function topCommand(parsed: ParsedArgs, io: CliIo, stop?: Promise<unknown>) {
  if (parsed.configs.length > 0 || parsed.sets.length > 0) {
    io.err(
      `tfo top: reads a running tfo's --endpoint, not --config or --set\n\n${COMMAND_HELP.top}`,
    );
    return 2;
  }
  const endpoint = parsed.endpoint ?? "http://127.0.0.1:8888/metrics";
  const intervalMs = parseDuration(parsed.interval ?? "1s");
  const iterations = parsed.iterations === undefined ? Infinity : Number(parsed.iterations);
  if (intervalMs === undefined || intervalMs < 100) {
    io.err(`tfo top: --interval must be a duration of at least 100ms, not "${parsed.interval}"`);
    return 2;
  }
  if (!(Number.isInteger(iterations) && iterations > 0) && iterations !== Infinity) {
    io.err(`tfo top: --iterations must be a positive integer, not "${parsed.iterations}"`);
    return 2;
  }
  if (!URL.canParse(endpoint)) {
    io.err(`tfo top: --endpoint must be a URL, not "${endpoint}"`);
    return 2;
  }
  const redraw = io === STD_IO && Deno.stdout.isTerminal();
  let stopped = false;
  const onSignal = () => stopped = true;
  Deno.addSignalListener("SIGINT", onSignal);
  void stop?.then(onSignal);
  try {
    let previous = await scrape(endpoint);
    let previousAt = performance.now();
    for (let shown = 0; shown < iterations && !stopped;) {
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
      const current = await scrape(endpoint);
      const now = performance.now();
      const table = renderTop(topRows(previous, current, (now - previousAt) / 1000));
      io.out(redraw ? `\x1b[H\x1b[2J${endpoint}\n\n${table}` : table);
      [previous, previousAt] = [current, now];
      shown++;
    }
    return 0;
  } catch (error) {
    io.err(`tfo top: cannot read ${endpoint}: ${errorMessage(error)}`);
    return 1;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
  }
}

function isGraphFormat(value: string): value is GraphFormat {
  return (GRAPH_FORMATS as readonly string[]).includes(value);
}

async function graphCommand(parsed: ParsedArgs, factories: readonly FactoryEntry[], io: CliIo) {
  const format = parsed.format ?? "mermaid";
  if (!isGraphFormat(format)) {
    io.err(`tfo graph: --format must be one of ${GRAPH_FORMATS.join(", ")}, not "${format}"`);
    return 2;
  }
  const config = await resolveConfig(parsed, factories, io);
  if (config === undefined) return 2;
  io.out(renderGraph(config, format));
  return 0;
}

async function validateCommand(
  parsed: ParsedArgs,
  factories: readonly FactoryEntry[],
  io: CliIo,
) {
  if (parsed.configs.length === 0) {
    io.err("tfo validate: at least one --config is required");
    return 2;
  }
  const config = await resolveConfig(parsed, factories, io);
  if (config === undefined) return 2;
  io.out("OK");
  for (const line of pipelineSummary(config)) io.out(line);
  return 0;
}

async function convertCommand(
  parsed: ParsedArgs,
  factories: readonly FactoryEntry[],
  io: CliIo,
) {
  if (parsed.configs.length === 0) {
    io.err("tfo convert: at least one --config is required");
    return 2;
  }
  const [{ loadConfig }, { validateWith }, { formatConverted }] = await Promise.all([
    import("./pipelines/config.ts"),
    import("./pipelines/validate.ts"),
    import("./pipelines/tfo_agent/convert.ts"),
  ]);
  const loaded = await loadConfig({ files: parsed.configs, set: parsed.sets });
  const all = [...loaded.diagnostics];
  if (loaded.raw !== undefined && loaded.tfoAgent === undefined) {
    all.push({
      severity: "error",
      file: parsed.configs.join(", "),
      line: 0,
      col: 0,
      path: "",
      message: "not in the TFO-Agent shape (it has receivers or service.pipelines, or none of " +
        "telemetryflow, agent, collectors): it is OpenTelemetry-shaped already",
    });
  } else if (loaded.raw !== undefined && !all.some((d) => d.severity === "error")) {
    all.push(...(await validateWith(loaded.raw, factories)).diagnostics);
  }
  for (const d of all) io.err(formatDiagnostic(d));
  if (loaded.tfoAgent === undefined || all.some((d) => d.severity === "error")) return 2;
  io.out(formatConverted(loaded.tfoAgent, loaded.raw?.sources ?? parsed.configs).text);
  return 0;
}

async function componentsCommand(entries: readonly FactoryEntry[], io: CliIo): Promise<number> {
  const rows: string[][] = [["KIND", "TYPE", "SIGNALS"]];
  let factories: Factory[];
  try {
    factories = await loadAll(entries);
  } catch (error) {
    io.err(`tfo components: ${errorMessage(error)}`);
    return 1;
  }
  for (const f of factories) {
    let signals: string;
    if (f.kind === "extension") signals = `(${f.stability})`;
    else if (f.kind === "connector") {
      signals = Object.entries(f.routes).flatMap(([from, to]) =>
        Object.entries(to ?? {}).map(([t, s]) => `${from}→${t} (${s})`)
      ).join(", ");
    } else {
      signals = Object.entries(f.signals).map(([s, st]) => `${s} (${st})`).join(", ");
    }
    const type = f.aliases === undefined ? f.type : `${f.type} (also: ${f.aliases.join(", ")})`;
    rows.push([f.kind, type, signals]);
  }
  const widths = [0, 1].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) io.out(`${r[0]!.padEnd(widths[0]!)}  ${r[1]!.padEnd(widths[1]!)}  ${r[2]}`);
  return 0;
}

/**
 * Start-up (or a reload) is over: the pages of the executable that only loading and validating
 * used, and the allocator's free memory, go back to the kernel (`lib/host/release_memory.ts`;
 * ~29 MiB of the idle agent's RSS).
 */
function releaseStartupMemory(logger: Logger): void {
  const released = releaseMemory();
  if (released !== undefined) {
    logger.debug("Released start-up memory", {
      file_pages_mib: Math.round(released.droppedBytes / 104857.6) / 10,
      allocator_limits: released.allocatorLimited,
    });
  }
}

/**
 * How long after the start the memory the receivers' start left (their warm-up's servers and
 * requests: ~4.5 MiB of the idle agent's RSS) is released, once more; the first release ran
 * before they opened.
 */
const LATE_RELEASE_MS = 10_000;

/**
 * The end of the start, before the receivers open their ports (the service's `beforeReceivers`):
 * a full garbage collection, then {@linkcode releaseStartupMemory}. Loading, validating and
 * starting leave ~20 MB of V8 heap; without this, V8's first mark-compact came about 1.2 s into
 * the process's life — among the first requests, with incremental marking steps and a final pause
 * of 7–22 ms — and the release (reading `/proc/self/smaps`, `madvise`, `malloc_trim`, ~10 ms)
 * ran after the ports were open, when clients may already send (it runs once more
 * {@linkcode LATE_RELEASE_MS} later for what the receivers' start left). The collection is
 * `findGc`'s (`lib/host/gc.ts`); both are logged at debug level with their duration.
 */
function settleStartup(logger: Logger): void {
  const gc = findGc();
  const started = performance.now();
  gc?.();
  const collected = performance.now();
  releaseStartupMemory(logger);
  logger.debug("Settled start-up memory before the receivers open", {
    gc_ms: gc === undefined ? null : Math.round(collected - started),
    release_ms: Math.round(performance.now() - collected),
  });
}

/**
 * Replaces this `deno run` process with the same command line plus a bigger young generation,
 * for several workers or a pipeline that decodes every item (`pipelines/young_generation.ts`,
 * README, service.workers); nothing is open yet. Returns when that is not possible or not needed
 * (a compiled binary, already re-executed, no FFI permission).
 */
function startWithLargeYoungGeneration(
  logger: Logger,
  reason: string,
  extraEnv: Readonly<Record<string, string>> = {},
): void {
  const view = currentProcess();
  const argv = reexecArgv(view);
  if (argv === undefined) {
    if (view.standalone) {
      logger.debug("A compiled binary keeps the young generation it was compiled with");
    }
    return;
  }
  logger.info("Starting again with a bigger young generation", {
    flag: argv[argv.length - Deno.args.length - 2],
    reason,
  });
  const failed = execve(Deno.execPath(), argv, { ...extraEnv, [REEXEC_ENV]: "1" });
  logger.warn("Could not start again with a bigger young generation; running as started", {
    reason: failed,
  });
}

async function runCommand(
  parsed: ParsedArgs,
  factories: readonly FactoryEntry[],
  io: CliIo,
  stop: Promise<unknown> | undefined,
  onWorkers?: (pool: WorkerPool) => void,
  reexec = false,
): Promise<number> {
  // The program itself validates in a child; this is that child.
  if (reexec && envValue(RESOLVE_CHILD_ENV) === "1") return await serveResolution(factories);
  startLoopProbe();
  const inChild = reexec ? createChildResolver(factories) : undefined;
  const resolved = await resolveConfig(parsed, factories, io, [], inChild);
  if (resolved === undefined) return 2;
  let config = resolved;
  const telemetry = config.service.telemetry;
  const logger = createLogger({ level: telemetry.logs.level, encoding: telemetry.logs.encoding });
  for (const note of inChild?.takeNotes() ?? []) logger.debug(note);
  const youngGenReason = reexec ? largeYoungGenerationReason(config) : undefined;
  if (youngGenReason !== undefined) {
    const handOff = await inChild?.handOff();
    startWithLargeYoungGeneration(logger, youngGenReason, handOff?.env);
    handOff?.discard();
  }
  // The service's own attributes go on one target_info series, as the Collector exposes them.
  const registry = new MetricRegistry({
    targetInfo: {
      "service.name": "tfo",
      "service.version": VERSION,
      "service.instance.id": crypto.randomUUID(),
      ...telemetry.resource,
    },
  });
  const processMetrics = registerProcessMetrics(registry.meter());
  let settled = false;
  // service.workers above 1: the primary (this thread) runs the whole graph plus a link receiver
  // per forwarded pipeline; the pool runs the stateless part in the other workers.
  const workerCount = config.service.workers ?? 1;
  const hub = workerCount > 1 ? new WorkerHub() : undefined;
  let pool: WorkerPool | undefined;
  // The primary's shard routers hand other workers their shards through the pool.
  const shard = hub === undefined ? undefined : createShardRouter({
    index: 0,
    count: workerCount,
    hub,
    send: async (target, pipeline, signal, bytes, client) => {
      const ack = pool === undefined
        ? { t: "ack" as const, id: 0, error: { message: "No workers", permanent: false } }
        : await pool.deliverTo(target, pushMessage(0, target, pipeline, signal, bytes, client));
      const error = ackError(ack);
      if (error !== undefined) throw error;
    },
  });
  const links = hub === undefined || shard === undefined
    ? undefined
    : { inbox: hub.inbox, outbox: NO_OUTBOX, shard };
  const primaryOf = (c: ResolvedConfig): ResolvedConfig =>
    links === undefined ? c : splitForWorkers(c, links, workerCount).primary;
  if (links !== undefined) {
    const split = splitForWorkers(config, links, workerCount);
    config = split.primary;
    if (split.worker === undefined) {
      logger.warn(
        "service.workers is above 1, but no receiver of the config can run in several workers; " +
          "running one",
        { workers: workerCount },
      );
    } else {
      const resolvedBytes = inChild?.lastResolved();
      pool = new WorkerPool({
        count: workerCount,
        sources: sourcesOf(parsed),
        ...(resolvedBytes === undefined ? {} : { resolved: resolvedBytes }),
        hub: hub!, // defined whenever links are
        registry,
        logger,
        version: VERSION,
        ...(config.service.shutdownTimeoutMs === undefined
          ? {}
          : { timeoutMs: config.service.shutdownTimeoutMs }),
      });
      logger.info("Running in several workers", {
        workers: workerCount,
        replicated: split.replicated.join(","),
        forwarded: split.forwarded.join(","),
        sharded: split.sharded.join(","),
      });
    }
  }
  const service = new Service({
    config,
    logger,
    registry,
    buildInfo: { command: "tfo", version: VERSION },
    beforeReceivers: () => {
      settled = true;
      settleStartup(logger);
      markLoopProbe("receivers start");
    },
    ...(pool === undefined ? {} : { sharePorts: true }),
  });

  const metricsServers: { shutdown(): Promise<void> }[] = [];
  const closeTelemetry = async () => {
    processMetrics.close();
    await Promise.all(metricsServers.map((s) => s.shutdown()));
  };
  const readers = telemetry.metrics.level === "none" ? [] : telemetry.metrics.readers;
  for (const reader of readers) {
    try {
      metricsServers.push(
        await startMetricsServer(registry, reader.endpoint, {
          render: {
            withoutTypeSuffix: reader.withoutTypeSuffix,
            withoutUnits: reader.withoutUnits,
            withoutScopeInfo: reader.withoutScopeInfo,
          },
        }),
      );
    } catch (error) {
      logger.error(`Cannot serve tfo's own metrics: ${errorMessage(error)}`);
      io.err(`tfo: cannot serve tfo's own metrics on ${reader.endpoint}: ${errorMessage(error)}`);
      await closeTelemetry();
      return 1;
    }
  }

  const { promise: stopped, resolve: requestStop } = Promise.withResolvers<string>();
  const onSignal = (name: string) => () => requestStop(name);
  let reloader: Reloader | undefined;
  let hangupWhileStarting = false;
  let fatal = false;
  const handlers: Array<[Deno.Signal, () => void]> = [
    ["SIGINT", onSignal("SIGINT")],
    ["SIGTERM", onSignal("SIGTERM")],
  ];
  if (Deno.build.os !== "windows") {
    handlers.push(["SIGHUP", () => {
      if (reloader === undefined) {
        hangupWhileStarting = true;
        return;
      }
      void reloader.request("SIGHUP").then((result) => {
        if (result === "success") releaseStartupMemory(logger);
      });
    }]);
  }
  for (const [sig, handler] of handlers) Deno.addSignalListener(sig, handler);
  stop?.then(() => requestStop("stop requested"));
  try {
    logger.info("Starting tfo", { version: VERSION, pid: Deno.pid });
    try {
      await service.start();
    } catch (error) {
      const message = error instanceof StartError ? error.message : errorMessage(error);
      // Where the component that failed is configured, as `tfo validate` would point at it.
      const where = error instanceof Error ? failureDiagnostics(error, service.config) : [];
      logger.error(message, where.length === 0 ? {} : { diagnostic: where[0] });
      io.err([`tfo: ${message}`, ...where.map((line) => `  ${line}`)].join("\n"));
      return 1;
    }
    if (pool !== undefined) {
      try {
        await pool.start();
      } catch (error) {
        logger.error(errorMessage(error));
        io.err(`tfo: ${errorMessage(error)}`);
        await service.shutdown();
        return 1;
      }
      registry.setRefresher(() => pool!.refreshMetrics());
      onWorkers?.(pool);
    }
    markLoopProbe("ready");
    if (hub !== undefined) logger.info("Every worker is ready", { workers: workerCount });
    let lastLayers: readonly ConfigLayer[] = [];
    let lastResolved: Uint8Array | undefined;
    reloader = new Reloader({
      service,
      logger,
      meter: registry.meter(),
      localReloadable: parsed.configs.length > 0,
      load: async (layers) => {
        const diagnostics: string[] = [];
        const collect = (line: string) => diagnostics.push(line);
        const config = await resolveConfig(
          parsed,
          factories,
          { out: collect, err: collect },
          layers,
          inChild,
        );
        for (const note of inChild?.takeNotes() ?? []) logger.debug(note);
        lastLayers = layers;
        lastResolved = inChild?.lastResolved();
        if (config !== undefined && (config.service.workers ?? 1) !== workerCount) {
          logger.warn("Changes to service.workers take effect at the next restart");
        }
        return { config: config === undefined ? undefined : primaryOf(config), diagnostics };
      },
      ...(pool === undefined ? {} : {
        onApplied: async () => {
          if (!(await pool.reload(sourcesOf(parsed, lastLayers), lastResolved))) {
            logger.error("A worker could not apply the new config; it keeps its previous one");
          }
        },
      }),
      onFatal: () => {
        fatal = true;
        requestStop("a failed reload left no running pipelines");
      },
    });
    reloader.start();
    // What the receivers' own start (their warm-up) left goes back later, off the first requests.
    const again = setTimeout(() => releaseStartupMemory(logger), settled ? LATE_RELEASE_MS : 0);
    Deno.unrefTimer(again);
    if (hangupWhileStarting) void reloader.request("SIGHUP");
    const reason = await stopped;
    clearTimeout(again);
    logger.info("Shutting down", { reason });
    await reloader.close();
    // The other workers first: what their pipelines drain into the primary is still taken.
    const workersClean = (await pool?.stop()) ?? true;
    if (!(await service.shutdown()) || !workersClean) {
      io.err("tfo: the shutdown timeout was reached before everything drained");
      return 1;
    }
    logger.info("Shutdown complete");
    return fatal ? 1 : 0;
  } finally {
    for (const [sig, handler] of handlers) Deno.removeSignalListener(sig, handler);
    await closeTelemetry();
  }
}

/** The primary runs no link exporter; the split still needs a factory for the workers' side. */
const NO_OUTBOX = createOutbox(() => {
  throw new Error("The primary worker forwards nothing");
}).factory;

/** Runs the CLI with `args` (without the program name); resolves to the exit status. */
export async function main(args: string[], options: MainOptions = {}): Promise<number> {
  const factories = options.factories ?? BUILTIN_COMPONENTS;
  const io = options.io ?? STD_IO;
  const [command, ...rest] = args;
  if (command === undefined || command === "help" || command === "--help" || command === "-h") {
    io.out(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === "version" || command === "--version") {
    if (rest.includes("--help") || rest.includes("-h")) {
      io.out(COMMAND_HELP.version!);
      return 0;
    }
    io.out(`tfo ${VERSION} (deno ${Deno.version.deno}, ${Deno.build.os}/${Deno.build.arch})`);
    return 0;
  }
  if (!(command in COMMAND_HELP)) {
    io.err(`tfo: unknown command "${command}"\n\n${USAGE}`);
    return 2;
  }
  let parsed: ParsedArgs;
  try {
    parsed = parseCommandArgs(rest);
  } catch (error) {
    io.err(`tfo ${command}: ${errorMessage(error)}\n\n${COMMAND_HELP[command]}`);
    return 2;
  }
  if (parsed.help) {
    io.out(COMMAND_HELP[command]!);
    return 0;
  }
  for (const [option, owner] of COMMAND_ONLY_OPTIONS) {
    if (parsed[option] !== undefined && command !== owner) {
      io.err(
        `tfo ${command}: unknown option --${option} (only "tfo ${owner}" takes it)\n\n${
          COMMAND_HELP[command]
        }`,
      );
      return 2;
    }
  }
  if (command === "top") return await topCommand(parsed, io, options.stop);
  switch (command) {
    case "graph":
      return await graphCommand(parsed, factories, io);
    case "validate":
      return await validateCommand(parsed, factories, io);
    case "convert":
      return await convertCommand(parsed, factories, io);
    case "components":
      return await componentsCommand(factories, io);
    default:
      return await runCommand(
        parsed,
        factories,
        io,
        options.stop,
        options.onWorkers,
        options.reexec,
      );
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args, { reexec: true }));
}
