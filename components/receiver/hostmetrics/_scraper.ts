/**
 * What a scraper is to the receiver: a name, an instrumentation scope, and a `scrape` that returns
 * metrics for the host resource (and, for the process scraper, resources of its own) plus the
 * partial errors it met.
 *
 * @module
 */
import type { KernelStat } from "../../../lib/host/cpu.ts";
import type { MemInfo } from "../../../lib/host/memory.ts";
import type { PidStat } from "../../../lib/host/process.ts";
import type { Metric, ResourceMetrics } from "../../../lib/pdata/types.ts";
import type { Logger } from "../../../lib/telemetry/logger.ts";

/** The scope name of the Collector's scraper of that name. */
export function collectorScope(scraper: string): string {
  return "github.com/open-telemetry/opentelemetry-collector-contrib/receiver/hostmetricsreceiver/" +
    `internal/scraper/${scraper}scraper`;
}

/** The scope name of a tfo-only scraper. */
export function tfoScope(scraper: string): string {
  return `tfo/receiver/hostmetricsreceiver/${scraper}scraper`;
}

/** Shared per-cycle facts, read at most once per collection cycle. */
export interface ScrapeContext {
  /** The host root path ("" for this machine). */
  readonly root: string;
  /** Boot time, Unix nanoseconds: the start time of system counters. */
  bootTime(): Promise<bigint>;
  /** `/proc/stat`, read once per cycle. */
  kernelStat(): Promise<KernelStat>;
  /** `/proc/meminfo`, read once per cycle. */
  memInfo(): Promise<MemInfo>;
  /** `/proc/[pid]/stat` of every process, read once per cycle (the process and processes scrapers). */
  processStats(): Promise<readonly PidStat[]>;
}

/** A partial failure: some metric points could not be produced. */
export interface ScrapeError {
  readonly message: string;
  /** Metric points lost to it (0 when only an attribute was missing). */
  readonly failed: number;
}

/** What one scrape produced. */
export interface ScrapeResult {
  /** Metrics of the host resource. */
  metrics: Metric[];
  /** Resources of the scraper's own (one per process for the process scraper). */
  resources: ResourceMetrics[];
  errors: ScrapeError[];
}

/** One scraper. */
export interface Scraper {
  readonly name: string;
  readonly scope: string;
  scrape(ctx: ScrapeContext): Promise<ScrapeResult>;
}

/** Logs once per missing source, then stays silent about it. */
export class MissingSources {
  readonly #logger: Logger;
  readonly #seen = new Set<string>();

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** True when `source` was reported missing before. */
  has(source: string): boolean {
    return this.#seen.has(source);
  }

  /** Marks `source` missing; the first time, logs which metrics it disables. */
  report(source: string, metrics: readonly string[]): void {
    if (this.#seen.has(source)) return;
    this.#seen.add(source);
    this.#logger.info("Host source not available; its metrics are disabled", {
      source,
      metrics,
    });
  }
}

/** A result with metrics only. */
export function result(metrics: Metric[], errors: ScrapeError[] = []): ScrapeResult {
  return { metrics, resources: [], errors };
}

/** An error message from anything thrown. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
