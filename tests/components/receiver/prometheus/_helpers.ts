/** Shared helpers of the prometheus receiver tests: a capturing consumer and a receiver runner. */
import type { Consumer } from "../../../../lib/consumer/consumer.ts";
import type { Payload } from "../../../../lib/pdata/payload.ts";
import type { Metric, MetricsData, NumberDataPoint } from "../../../../lib/pdata/types.ts";
import { NOOP_LOGGER } from "../../../../lib/telemetry/logger.ts";
import { MetricRegistry } from "../../../../lib/telemetry/metrics.ts";
import {
  createPrometheusReceiver,
  type PrometheusReceiver,
} from "../../../../components/receiver/prometheus/factory.ts";
import { prometheusReceiverConfigSchema } from "../../../../components/receiver/prometheus/config.ts";

/** A consumer that keeps every scrape it gets. */
export class Capture implements Consumer<"metrics"> {
  readonly mutatesData = false;
  readonly scrapes: MetricsData[] = [];
  #waiters: (() => void)[] = [];

  consume(payload: Payload<"metrics">): Promise<void> {
    this.scrapes.push(payload.read());
    for (const w of this.#waiters.splice(0)) w();
    return Promise.resolve();
  }

  /** Resolves once `n` scrapes arrived, or rejects after `timeoutMs`. */
  async waitFor(n: number, timeoutMs = 10_000): Promise<MetricsData[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.scrapes.length < n) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`Expected ${n} scrapes, got ${this.scrapes.length}`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
    return this.scrapes.slice(0, n);
  }
}

/** Creates (not starts) a receiver from a YAML-shaped config. */
export function receiverWith(config: unknown, capture: Capture): PrometheusReceiver {
  return createPrometheusReceiver({
    id: "prometheus",
    config: prometheusReceiverConfigSchema.parse(config),
    logger: NOOP_LOGGER,
    meter: new MetricRegistry().meter(),
    buildInfo: { command: "tfo", version: "test" },
  }, { metrics: capture });
}

/** A host with no extensions. */
export const HOST = { getExtension: () => undefined, status: () => "running" as const };

/** Every metric of a scrape, by name (the first of each name). */
export function metricsByName(data: MetricsData): Map<string, Metric> {
  const out = new Map<string, Metric>();
  for (const rm of data.resourceMetrics) {
    for (const sm of rm.scopeMetrics) {
      for (const m of sm.metrics) if (!out.has(m.name)) out.set(m.name, m);
    }
  }
  return out;
}

/** The first point of a gauge or sum. */
export function numberPoint(m: Metric | undefined): NumberDataPoint {
  if (m?.data?.type !== "gauge" && m?.data?.type !== "sum") {
    throw new Error(`${m?.name} is not a gauge or sum`);
  }
  return m.data.dataPoints[0]!;
}

/** A port nothing listens on (bound then released). */
export { freePort } from "../../../fixtures/interop/services.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();
