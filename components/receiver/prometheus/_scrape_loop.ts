/**
 * One scrape loop per target: a first scrape at a per-target offset within the interval (spread
 * from a hash of the target, as Prometheus spreads them), then one scrape per interval. A scrape
 * asks for OpenMetrics or the text format, times out after `scrape_timeout`, merges the target's
 * labels into every sample (`honor_labels`), applies `metric_relabel_configs`, adds staleness
 * markers for series gone since the last scrape (all of them when a scrape fails), and reports
 * `up`, `scrape_duration_seconds`, `scrape_samples_scraped`,
 * `scrape_samples_post_metric_relabeling` and `scrape_series_added`.
 *
 * @module
 */
import type { Consumer } from "../../../lib/consumer/consumer.ts";
import { errorMessage } from "../../../lib/consumer/consumer.ts";
import { Payload } from "../../../lib/pdata/payload.ts";
import { formatOfContentType, parseExposition } from "../../../lib/prometheus/parse.ts";
import type { FamilyMetadata, Label, Sample } from "../../../lib/prometheus/types.ts";
import type { Logger } from "../../../lib/telemetry/logger.ts";
import { relabel, type RelabelRule } from "./_relabel.ts";
import type { Target } from "./_targets.ts";
import { type ScrapedSample, ScrapeTranslator } from "./_to_otlp.ts";

/** The Accept header value of each scrape protocol. */
export const PROTOCOL_MEDIA_TYPES: Readonly<Record<string, string>> = {
  "OpenMetricsText1.0.0": "application/openmetrics-text;version=1.0.0",
  "OpenMetricsText0.0.1": "application/openmetrics-text;version=0.0.1",
  "PrometheusText1.0.0": "text/plain;version=1.0.0",
  "PrometheusText0.0.4": "text/plain;version=0.0.4",
};

/** The default preference: OpenMetrics 1.0, then 0.0.1, then the text format. */
export const DEFAULT_PROTOCOLS = [
  "OpenMetricsText1.0.0",
  "OpenMetricsText0.0.1",
  "PrometheusText0.0.4",
];

/** Builds an `Accept` header from protocols in order of preference. */
export function acceptHeader(protocols: readonly string[]): string {
  const parts: string[] = [];
  let q = 0.5;
  for (const p of protocols) {
    const media = PROTOCOL_MEDIA_TYPES[p];
    if (media === undefined) continue;
    parts.push(`${media};q=${q.toFixed(1)}`);
    q = Math.max(0.2, q - 0.1);
  }
  parts.push("*/*;q=0.1");
  return parts.join(",");
}

/** What a loop needs to know beyond its target. */
export interface ScrapeLoopOptions {
  target: Target;
  intervalMs: number;
  timeoutMs: number;
  honorLabels: boolean;
  honorTimestamps: boolean;
  sampleLimit: number;
  bodySizeLimit: number;
  accept: string;
  followRedirects: boolean;
  enableCompression: boolean;
  metricRelabel: readonly RelabelRule[];
  externalLabels: readonly Label[];
  reportExtraMetrics: boolean;
  /** Extra request headers (authorization), computed per scrape so secret files can rotate. */
  headers: () => Promise<Record<string, string>>;
  /** The HTTP client for TLS settings, if any. */
  client: Deno.HttpClient | undefined;
  userAgent: string;
  scopeName: string;
  scopeVersion: string;
  next: Consumer<"metrics">;
  logger: Logger;
}

/** The result of fetching and parsing one scrape. */
interface Fetched {
  samples: Sample[];
  metadata: Map<string, FamilyMetadata>;
  bodyBytes: number;
}

function hashOffset(key: string, modulus: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return modulus <= 0 ? 0 : h % modulus;
}

function seriesKey(name: string, labels: readonly Label[]): string {
  let key = name;
  for (const l of labels) key += `\u0000${l.name}\u0000${l.value}`;
  return key;
}

function byName(a: Label, b: Label): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

async function readBody(response: Response, limit: number): Promise<Uint8Array> {
  if (response.body === null) return new Uint8Array(0);
  if (limit <= 0) return await response.bytes();
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > limit) {
        await reader.cancel().catch(() => {});
        throw new Error(`body size limit exceeded (${limit} bytes)`);
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

/** Scrapes one target on its interval until stopped. */
export class ScrapeLoop {
  readonly #o: ScrapeLoopOptions;
  readonly #translator: ScrapeTranslator;
  readonly #abort = new AbortController();
  readonly #decoder = new TextDecoder();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  #nextAt = 0;
  /** Series of the last scrape (without their own timestamps), for staleness markers. */
  #previous = new Map<string, { name: string; labels: Label[] }>();
  #previousMetadata = new Map<string, FamilyMetadata>();

  constructor(options: ScrapeLoopOptions) {
    this.#o = options;
    this.#translator = new ScrapeTranslator(options.scopeName, options.scopeVersion);
  }

  /** The target this loop scrapes. */
  get target(): Target {
    return this.#o.target;
  }

  /** Schedules the first scrape at the target's offset within the interval. */
  start(): void {
    const interval = this.#o.intervalMs;
    const now = Date.now();
    const offset = hashOffset(`${this.#o.target.job}\u0000${this.#o.target.url}`, interval);
    let first = now - (now % interval) + offset;
    if (first < now) first += interval;
    this.#schedule(first);
  }

  #schedule(at: number): void {
    if (this.#stopped) return;
    this.#nextAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#running = this.scrapeOnce().finally(() => {
        this.#running = undefined;
        let next = this.#nextAt + this.#o.intervalMs;
        const now = Date.now();
        if (next <= now) {
          next += Math.ceil((now - next + 1) / this.#o.intervalMs) * this.#o.intervalMs;
        }
        this.#schedule(next);
      });
    }, Math.max(0, at - Date.now()));
  }

  /** Stops scraping: aborts a scrape in flight and waits for it to end. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#abort.abort(new Error("The receiver is shutting down"));
    while (this.#running !== undefined) await this.#running.catch(() => {});
  }

  async #fetch(): Promise<Fetched> {
    const o = this.#o;
    const headers: Record<string, string> = {
      "Accept": o.accept,
      "User-Agent": o.userAgent,
      "X-Prometheus-Scrape-Timeout-Seconds": String(o.timeoutMs / 1000),
      ...(await o.headers()),
    };
    if (!o.enableCompression) headers["Accept-Encoding"] = "identity";
    const init: RequestInit & { client?: Deno.HttpClient } = {
      headers,
      signal: AbortSignal.any([this.#abort.signal, AbortSignal.timeout(o.timeoutMs)]),
      redirect: o.followRedirects ? "follow" : "manual",
    };
    if (o.client !== undefined) init.client = o.client;
    const response = await fetch(o.target.url, init);
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => {});
      throw new Error(`server returned HTTP status ${response.status} ${response.statusText}`);
    }
    const body = await readBody(response, o.bodySizeLimit);
    const format = formatOfContentType(response.headers.get("content-type"));
    const { samples, metadata } = parseExposition(this.#decoder.decode(body), format);
    return { samples, metadata, bodyBytes: body.length };
  }

  /** Merges target and external labels into a sample and applies metric relabeling. */
  #prepare(sample: Sample): { name: string; labels: Label[] } | undefined {
    const o = this.#o;
    let labels: Label[];
    let name = sample.name;
    if (o.metricRelabel.length === 0) {
      labels = sample.labels.slice();
      this.#mergeTarget(labels);
    } else {
      const merged = sample.labels.slice();
      this.#mergeTarget(merged);
      const map = new Map<string, string>([["__name__", sample.name]]);
      for (const l of merged) map.set(l.name, l.value);
      if (!relabel(map, o.metricRelabel)) return undefined;
      name = map.get("__name__") ?? "";
      if (name === "") return undefined;
      map.delete("__name__");
      labels = [];
      for (const [n, value] of map) labels.push({ name: n, value });
    }
    labels.sort(byName);
    return { name, labels };
  }

  #mergeTarget(labels: Label[]): void {
    const o = this.#o;
    for (const t of o.target.labels) {
      const i = labels.findIndex((l) => l.name === t.name);
      if (i < 0) {
        labels.push({ name: t.name, value: t.value });
      } else if (!o.honorLabels) {
        let exported = `exported_${t.name}`;
        while (labels.some((l) => l.name === exported)) exported = `exported_${exported}`;
        labels[i] = { name: exported, value: labels[i]!.value };
        labels.push({ name: t.name, value: t.value });
      } else if (labels[i]!.value === "") {
        labels[i] = { name: t.name, value: t.value };
      }
    }
    for (const e of o.externalLabels) {
      const i = labels.findIndex((l) => l.name === e.name);
      if (i < 0) labels.push({ name: e.name, value: e.value });
      else labels[i] = { name: e.name, value: e.value };
    }
  }

  /** Scrapes once and sends the result; never rejects. */
  async scrapeOnce(): Promise<void> {
    const o = this.#o;
    const startMs = Date.now();
    const startPerf = performance.now();
    const out: ScrapedSample[] = [];
    const current = new Map<string, { name: string; labels: Label[] }>();
    let scraped = 0;
    let kept = 0;
    let added = 0;
    let bodyBytes = 0;
    let error: unknown;
    let metadata = this.#previousMetadata;
    try {
      const fetched = await this.#fetch();
      scraped = fetched.samples.length;
      bodyBytes = fetched.bodyBytes;
      for (const sample of fetched.samples) {
        const prepared = this.#prepare(sample);
        if (prepared === undefined) continue;
        const ownTime = o.honorTimestamps && sample.timestampMs !== undefined;
        out.push({
          name: prepared.name,
          labels: prepared.labels,
          value: sample.value,
          timestampMs: ownTime ? sample.timestampMs! : startMs,
          exemplar: sample.exemplar,
          stale: false,
        });
        if (!ownTime) {
          const key = seriesKey(prepared.name, prepared.labels);
          if (!this.#previous.has(key) && !current.has(key)) added++;
          current.set(key, prepared);
        }
      }
      kept = out.length;
      if (o.sampleLimit > 0 && kept > o.sampleLimit) {
        throw new Error(`sample limit exceeded: ${kept} samples, the limit is ${o.sampleLimit}`);
      }
      metadata = new Map([...this.#previousMetadata, ...fetched.metadata]);
      this.#previousMetadata = fetched.metadata;
    } catch (e) {
      error = e;
      out.length = 0;
      current.clear();
      scraped =
        kept =
        added =
        bodyBytes =
          0;
    }
    if (this.#stopped) return;
    for (const [key, series] of this.#previous) {
      if (current.has(key)) continue;
      out.push({
        name: series.name,
        labels: series.labels,
        value: NaN,
        timestampMs: startMs,
        exemplar: undefined,
        stale: true,
      });
    }
    this.#previous = current;
    const durationSeconds = (performance.now() - startPerf) / 1000;
    if (error !== undefined) {
      o.logger.warn("Failed to scrape Prometheus endpoint", {
        target: o.target.url,
        job: o.target.job,
        error: errorMessage(error),
      });
    }
    const report: [string, number][] = [
      ["up", error === undefined ? 1 : 0],
      ["scrape_duration_seconds", durationSeconds],
      ["scrape_samples_scraped", scraped],
      ["scrape_samples_post_metric_relabeling", kept],
      ["scrape_series_added", added],
    ];
    if (o.reportExtraMetrics) {
      report.push(["scrape_timeout_seconds", o.timeoutMs / 1000]);
      report.push(["scrape_sample_limit", o.sampleLimit]);
      report.push(["scrape_body_size_bytes", bodyBytes]);
    }
    const targetLabels = o.target.labels.slice();
    for (const e of o.externalLabels) {
      const i = targetLabels.findIndex((l) => l.name === e.name);
      if (i < 0) targetLabels.push(e);
      else targetLabels[i] = e;
    }
    targetLabels.sort(byName);
    for (const [name, value] of report) {
      out.push({
        name,
        labels: targetLabels,
        value,
        timestampMs: startMs,
        exemplar: undefined,
        stale: false,
      });
    }
    const resourceMetrics = this.#translator.translate(out, {
      metadata,
      scheme: o.target.scheme,
      job: o.target.job,
      instance: o.target.instance,
    });
    try {
      await o.next.consume(Payload.of("metrics", { resourceMetrics }));
    } catch (e) {
      o.logger.warn("Scraped metrics were refused downstream", {
        target: o.target.url,
        error: errorMessage(e),
      });
    }
  }
}
