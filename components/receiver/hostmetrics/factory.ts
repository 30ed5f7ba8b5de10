/**
 * The `hostmetrics` receiver: scrapes the Linux host from /proc and /sys every
 * `collection_interval` (the first time after `initial_delay`) and emits one metrics payload per
 * cycle — one resource for the host with one scope per scraper, plus one resource per process from
 * the `process` scraper.
 *
 * A scraper that fails is logged and counted (`otelcol_scraper_errored_metric_points`); the others
 * still emit. A source the host lacks (no PSI, no thermal zones) disables its metrics with one log
 * line.
 *
 * @module
 */
import { type Clock, SYSTEM_CLOCK } from "../../../lib/clock.ts";
import type { Receiver, ReceiverFactory } from "../../component.ts";
import type { Consumer, SignalConsumers } from "../../../lib/consumer/consumer.ts";
import { type KernelStat, readKernelStat } from "../../../lib/host/cpu.ts";
import { type MemInfo, readMemInfo } from "../../../lib/host/memory.ts";
import { type PidStat, readProcStats } from "../../../lib/host/process.ts";
import { newResource, newScope } from "../../../lib/pdata/new.ts";
import { Payload } from "../../../lib/pdata/payload.ts";
import type { Metric, ResourceMetrics, ScopeMetrics } from "../../../lib/pdata/types.ts";
import type { Logger } from "../../../lib/telemetry/logger.ts";
import type { Counter, Meter } from "../../../lib/telemetry/metrics.ts";
import { instrumentReceiverOutput } from "../../../lib/telemetry/receiver_metrics.ts";
import { enabledMetrics, type MetricDefs } from "./_metrics.ts";
import { errorMessage, type ScrapeContext, type Scraper } from "./_scraper.ts";
import { type HostmetricsConfig, hostmetricsConfigSchema, type ScraperName } from "./config.ts";
import { CPU_METRICS, createCpuScraper } from "./scrapers/cpu.ts";
import { createDiskScraper, DISK_METRICS } from "./scrapers/disk.ts";
import { createEntropyScraper, ENTROPY_METRICS } from "./scrapers/entropy.ts";
import {
  createFiledescriptorsScraper,
  FILEDESCRIPTORS_METRICS,
} from "./scrapers/filedescriptors.ts";
import { createFilesystemScraper, FILESYSTEM_METRICS } from "./scrapers/filesystem.ts";
import { createLoadScraper, LOAD_METRICS } from "./scrapers/load.ts";
import { createMemoryScraper, MEMORY_METRICS } from "./scrapers/memory.ts";
import { createNetworkScraper, NETWORK_METRICS } from "./scrapers/network.ts";
import { createPagingScraper, PAGING_METRICS } from "./scrapers/paging.ts";
import { createPressureScraper, PRESSURE_METRICS } from "./scrapers/pressure.ts";
import { createProcessScraper, PROCESS_METRICS } from "./scrapers/process.ts";
import { createProcessesScraper, PROCESSES_METRICS } from "./scrapers/processes.ts";
import { createSockstatScraper, SOCKSTAT_METRICS } from "./scrapers/sockstat.ts";
import { createThermalScraper, THERMAL_METRICS } from "./scrapers/thermal.ts";
import { createVmstatScraper, VMSTAT_METRICS } from "./scrapers/vmstat.ts";

type Scrapers = HostmetricsConfig["scrapers"];

interface ScraperEntry<K extends ScraperName> {
  defs: MetricDefs;
  create(config: NonNullable<Scrapers[K]>, logger: Logger): Scraper;
}

/** Every scraper: its metric definitions and how to make it. */
const SCRAPERS: { readonly [K in ScraperName]: ScraperEntry<K> } = {
  cpu: { defs: CPU_METRICS, create: createCpuScraper },
  memory: { defs: MEMORY_METRICS, create: createMemoryScraper },
  disk: { defs: DISK_METRICS, create: createDiskScraper },
  filesystem: { defs: FILESYSTEM_METRICS, create: createFilesystemScraper },
  network: { defs: NETWORK_METRICS, create: createNetworkScraper },
  load: { defs: LOAD_METRICS, create: createLoadScraper },
  paging: { defs: PAGING_METRICS, create: createPagingScraper },
  processes: { defs: PROCESSES_METRICS, create: createProcessesScraper },
  process: { defs: PROCESS_METRICS, create: createProcessScraper },
  pressure: { defs: PRESSURE_METRICS, create: createPressureScraper },
  vmstat: { defs: VMSTAT_METRICS, create: createVmstatScraper },
  sockstat: { defs: SOCKSTAT_METRICS, create: createSockstatScraper },
  entropy: { defs: ENTROPY_METRICS, create: createEntropyScraper },
  filedescriptors: { defs: FILEDESCRIPTORS_METRICS, create: createFiledescriptorsScraper },
  thermal: { defs: THERMAL_METRICS, create: createThermalScraper },
};

interface Instance {
  scraper: Scraper;
  /** Metric points counted as errored when the whole scrape fails. */
  enabledMetrics: number;
  scraped: Counter;
  errored: Counter;
  logger: Logger;
}

function buildScrapers(config: HostmetricsConfig, logger: Logger, meter: Meter): Instance[] {
  const out: Instance[] = [];
  for (const name of Object.keys(SCRAPERS) as ScraperName[]) {
    const scraperConfig = config.scrapers[name];
    if (scraperConfig === undefined) continue;
    const entry = SCRAPERS[name] as ScraperEntry<typeof name>;
    const scraperLogger = logger.with({ scraper: name });
    const labels = { scraper: name };
    out.push({
      scraper: (entry.create as (c: unknown, l: Logger) => Scraper)(scraperConfig, scraperLogger),
      enabledMetrics: enabledMetrics(
        entry.defs,
        (scraperConfig as { metrics?: Record<string, { enabled: boolean } | undefined> }).metrics,
      ).size,
      scraped: meter.counter(
        "otelcol_scraper_scraped_metric_points",
        "Number of metric points successfully scraped.",
        labels,
      ),
      errored: meter.counter(
        "otelcol_scraper_errored_metric_points",
        "Number of metric points that were unable to be scraped.",
        labels,
      ),
      logger: scraperLogger,
    });
  }
  return out;
}

function countPoints(metrics: readonly Metric[]): number {
  let n = 0;
  for (const m of metrics) {
    if (m.data !== undefined) n += m.data.dataPoints.length;
  }
  return n;
}

/** Per-cycle shared reads: `/proc/stat` and `/proc/meminfo` at most once each. */
function cycleContext(root: string, bootTime: () => Promise<bigint>): ScrapeContext {
  let stat: Promise<KernelStat> | undefined;
  let mem: Promise<MemInfo> | undefined;
  let stats: Promise<PidStat[]> | undefined;
  return {
    root,
    bootTime,
    kernelStat: () => (stat ??= readKernelStat(root)),
    memInfo: () => (mem ??= readMemInfo(root)),
    processStats: () => (stats ??= readProcStats(root)),
  };
}

/** Options of {@linkcode createHostmetricsReceiver}. */
export interface HostmetricsOptions {
  /** Time and timers of the collection schedule. @default SYSTEM_CLOCK */
  clock?: Clock;
}

/** Creates one hostmetrics receiver. */
export function createHostmetricsReceiver(
  config: HostmetricsConfig,
  logger: Logger,
  meter: Meter,
  next: SignalConsumers,
  options: HostmetricsOptions = {},
): Receiver {
  const clock = options.clock ?? SYSTEM_CLOCK;
  const consumer: Consumer<"metrics"> | undefined = next.metrics === undefined
    ? undefined
    : instrumentReceiverOutput("metrics", next.metrics, meter, "");
  const instances = buildScrapers(config, logger, meter);
  const root = config.root_path;
  let boot: Promise<bigint> | undefined;
  const bootTime = () =>
    boot ??= readKernelStat(root).then(
      (s) => BigInt(s.bootTimeSeconds) * 1_000_000_000n,
      (error) => {
        boot = undefined;
        throw error;
      },
    );

  let timer: unknown;
  let inflight: Promise<void> | undefined;
  let running = false;
  let nextDue = 0;

  async function collect(): Promise<void> {
    const ctx = cycleContext(root, bootTime);
    const scopes: ScopeMetrics[] = [];
    const resources: ResourceMetrics[] = [];
    let total = 0;
    for (const inst of instances) {
      const { scraper } = inst;
      try {
        const r = await scraper.scrape(ctx);
        let points = countPoints(r.metrics);
        for (const rm of r.resources) {
          for (const sm of rm.scopeMetrics) points += countPoints(sm.metrics);
        }
        inst.scraped.add(points);
        total += points;
        if (r.metrics.length > 0) {
          scopes.push({
            scope: newScope({ name: scraper.scope }),
            metrics: r.metrics,
            schemaUrl: "",
          });
        }
        for (const rm of r.resources) resources.push(rm);
        if (r.errors.length > 0) {
          let failed = 0;
          for (const e of r.errors) failed += e.failed;
          inst.errored.add(failed);
          inst.logger.warn("Scraper reported partial errors", {
            errors: r.errors.length,
            failed_points: failed,
            first_errors: r.errors.slice(0, 3).map((e) => e.message),
          });
        }
      } catch (error) {
        inst.errored.add(inst.enabledMetrics);
        inst.logger.error("Scraper failed", { error: errorMessage(error) });
      }
    }
    if (consumer === undefined || total === 0) return;
    const data = {
      resourceMetrics: scopes.length > 0
        ? [{ resource: newResource(), scopeMetrics: scopes, schemaUrl: "" }, ...resources]
        : resources,
    };
    try {
      await consumer.consume(Payload.of("metrics", data));
    } catch (error) {
      logger.warn("Pipeline refused host metrics", { error: errorMessage(error), points: total });
    }
  }

  function schedule(delay: number): void {
    timer = clock.setTimer(run, Math.max(0, delay));
  }

  function run(): void {
    timer = undefined;
    if (!running) return;
    const started = clock.now();
    nextDue = (nextDue === 0 ? started : nextDue) + config.collection_interval;
    // A cycle that overran its interval starts the next one at once, not a burst of them.
    if (nextDue < started) nextDue = started + config.collection_interval;
    inflight = collect().finally(() => {
      inflight = undefined;
      if (running) schedule(nextDue - clock.now());
    });
  }

  return {
    start() {
      if (running) return Promise.resolve();
      running = true;
      nextDue = 0;
      if (instances.length === 0) logger.warn("No scrapers configured; nothing will be collected");
      schedule(config.initial_delay);
      return Promise.resolve();
    },
    async shutdown() {
      running = false;
      if (timer !== undefined) clock.clearTimer(timer);
      timer = undefined;
      while (inflight !== undefined) await inflight;
    },
  };
}

/** The `hostmetrics` receiver factory. */
export const hostmetricsReceiverFactory: ReceiverFactory<HostmetricsConfig> = {
  kind: "receiver",
  type: "hostmetrics",
  configSchema: hostmetricsConfigSchema,
  signals: { metrics: "beta" },
  create: (settings, next) =>
    createHostmetricsReceiver(settings.config, settings.logger, settings.meter, next),
};
