/**
 * The `probabilistic_sampler` processor: keeps a percentage of spans and log records, as the
 * contrib Collector's (v0.161) does, in its three modes. `hash_seed` keeps an item when the seeded
 * FNV-1a hash of its trace ID (or, for logs, of `from_attribute`) falls in the kept share, so it
 * keeps exactly the items the Collector keeps; `proportional` and `equalizing` follow the
 * OpenTelemetry consistent-probability sampling specification (randomness from `rv` or the trace
 * ID's last 7 bytes, the threshold written to the tracestate's `th`). Kept spans get their
 * tracestate's `ot` member rewritten with the threshold (and, in `hash_seed` mode, the randomness
 * used); kept records get `sampling.threshold` (and `sampling.randomness`) attributes.
 *
 * @module
 */
import type { Processor, ProcessorFactory } from "../../component.ts";
import type { Consumer } from "../../../lib/consumer/consumer.ts";
import type { Payload } from "../../../lib/pdata/payload.ts";
import { indexOfAttribute } from "../../../lib/pdata/attributes.ts";
import type { LogRecord, LogsData, Signal, Span, TracesData } from "../../../lib/pdata/types.ts";
import {
  ALWAYS_SAMPLE_THRESHOLD,
  NEVER_SAMPLE_THRESHOLD,
  probabilityToThreshold,
} from "../../../lib/sampling/threshold.ts";
import type { Counter, Meter } from "../../../lib/telemetry/metrics.ts";
import { type LogSource, recordRandomness, spanPriority, spanRandomness } from "./_carriers.ts";
import { asPriority, makeMode, type Priority, shouldSampleItem } from "./_sampler.ts";
import { type ProbabilisticSamplerConfig, probabilisticSamplerConfigSchema } from "./config.ts";

/** Counts decisions by `policy` and `sampled`, creating a series per pair once. */
function decisionCounter(meter: Meter, name: string, help: string) {
  const series = new Map<string, Counter>();
  return (policy: string, sampled: boolean) => {
    const key = `${policy}\u0000${sampled}`;
    let c = series.get(key);
    if (c === undefined) {
      c = meter.counter(name, help, { policy, sampled: String(sampled) }, { unit: "1" });
      series.set(key, c);
    }
    c.add(1);
  };
}

function sampleTraces(
  data: TracesData,
  keep: (span: Span) => boolean,
): void {
  data.resourceSpans = data.resourceSpans.filter((rs) => {
    rs.scopeSpans = rs.scopeSpans.filter((ss) => {
      ss.spans = ss.spans.filter(keep);
      return ss.spans.length > 0;
    });
    return rs.scopeSpans.length > 0;
  });
}

function sampleLogs(data: LogsData, keep: (record: LogRecord) => boolean): void {
  data.resourceLogs = data.resourceLogs.filter((rl) => {
    rl.scopeLogs = rl.scopeLogs.filter((sl) => {
      sl.logRecords = sl.logRecords.filter(keep);
      return sl.logRecords.length > 0;
    });
    return rl.scopeLogs.length > 0;
  });
}

/** The log record's `sampling_priority` attribute as a threshold, if it sets one. */
function recordPriorityThreshold(
  record: LogRecord,
  key: string,
  precision: number,
): bigint | undefined {
  const i = indexOfAttribute(record.attributes, key);
  if (i < 0) return undefined;
  const v = record.attributes[i]!.value;
  const minProb = typeof v === "number" ? v / 100 : typeof v === "bigint" ? Number(v) / 100 : 0;
  if (minProb === 0) return undefined;
  try {
    return probabilityToThreshold(minProb, precision);
  } catch {
    return undefined;
  }
}

/** Creates one probabilistic sampler instance. */
export function createProbabilisticSampler<S extends Signal>(
  config: ProbabilisticSamplerConfig,
  signal: S,
  next: Consumer<S>,
  meter: Meter,
): Processor<S> {
  const mode = makeMode(config);
  const failClosed = config.fail_closed;
  let run: (payload: Payload<S>) => boolean;
  if (signal === "traces") {
    const count = decisionCounter(
      meter,
      "otelcol_processor_probabilistic_sampler_count_traces_sampled",
      "Count of traces that were sampled or not [Development]",
    );
    run = (payload) => {
      const data = payload.edit() as TracesData;
      sampleTraces(data, (span) => {
        const priority: Priority = (rnd, th) => {
          const p = spanPriority(span);
          if (p === "never") return [asPriority(rnd), NEVER_SAMPLE_THRESHOLD];
          if (p === "always") return [asPriority(rnd), ALWAYS_SAMPLE_THRESHOLD];
          return [rnd, th];
        };
        const r = shouldSampleItem(mode, spanRandomness(mode, span), failClosed, priority);
        count(r.policy, r.sampled);
        return r.sampled;
      });
      return data.resourceSpans.length > 0;
    };
  } else {
    const count = decisionCounter(
      meter,
      "otelcol_processor_probabilistic_sampler_count_logs_sampled",
      "Count of logs that were sampled or not [Development]",
    );
    const source: LogSource = {
      traceId: config.attribute_source === "traceID",
      fromAttribute: config.from_attribute,
    };
    const priorityKey = config.sampling_priority;
    run = (payload) => {
      const data = payload.edit() as LogsData;
      sampleLogs(data, (record) => {
        const priority: Priority = (rnd, th) => {
          if (priorityKey === "") return [rnd, th];
          const pth = recordPriorityThreshold(record, priorityKey, config.sampling_precision);
          return pth === undefined ? [rnd, th] : [asPriority(rnd), pth];
        };
        const r = shouldSampleItem(
          mode,
          recordRandomness(mode, record, source),
          failClosed,
          priority,
        );
        count(r.policy, r.sampled);
        return r.sampled;
      });
      return data.resourceLogs.length > 0;
    };
  }
  return {
    mutatesData: true,
    consume(payload: Payload<S>): Promise<void> {
      // Like the Collector's ErrSkipProcessingData: nothing kept, nothing sent, no error.
      return run(payload) ? next.consume(payload) : Promise.resolve();
    },
    start: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
  };
}

/** The `probabilistic_sampler` processor factory. */
export const probabilisticSamplerFactory: ProcessorFactory<ProbabilisticSamplerConfig> = {
  kind: "processor",
  type: "probabilistic_sampler",
  configSchema: probabilisticSamplerConfigSchema,
  signals: { traces: "beta", logs: "alpha" },
  create: (settings, signal, next) =>
    createProbabilisticSampler(settings.config, signal, next, settings.meter),
};
