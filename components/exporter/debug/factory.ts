/**
 * The `debug` exporter: writes what it receives to tfo's log, as the OpenTelemetry Collector's
 * debug exporter does. `basic` writes one line of counts per batch (`Traces` with `resource spans`
 * and `spans`); `normal` adds a line per item; `detailed` adds every field. Also the deprecated
 * `logging` exporter, which takes `loglevel` instead of `verbosity`.
 *
 * It never changes data (`mutatesData: false`) and never refuses it. Sent items are counted by the
 * service's exporter wrapper, not here.
 *
 * @module
 */
import type { Exporter, ExporterFactory } from "../../component.ts";
import type { Consumer, SignalConsumers } from "../../../lib/consumer/consumer.ts";
import { countDataPoints, countLogRecords, countSpans } from "../../../lib/pdata/count.ts";
import { formatData } from "../../../lib/pdata/format.ts";
import { NO_FIELDS } from "../../../lib/pdata/fields.ts";
import type { Payload } from "../../../lib/pdata/payload.ts";
import type { LogsData, MetricsData, Signal, TracesData } from "../../../lib/pdata/types.ts";
import { createLogger, type Logger } from "../../../lib/telemetry/logger.ts";
import { type DebugConfig, debugConfigSchema, loggingConfigSchema } from "./config.ts";
import { createSampler, type Sampler } from "./_sampler.ts";

const TITLES: Readonly<Record<Signal, string>> = {
  traces: "Traces",
  metrics: "Metrics",
  logs: "Logs",
};

/**
 * The counts of the `basic` line, named as the Collector names them. They need no field of any
 * item, so a payload still encoded is decoded down to its structure only (its items are counted,
 * not read): `basic` is the agent seed's verbosity, and a full decode here cost every request.
 */
function counts(payload: Payload): Record<string, number> {
  switch (payload.signal) {
    case "traces": {
      const data = payload.read(NO_FIELDS) as TracesData;
      return { "resource spans": data.resourceSpans.length, spans: countSpans(data) };
    }
    case "metrics": {
      const data = payload.read(NO_FIELDS) as MetricsData;
      let metrics = 0;
      for (const rm of data.resourceMetrics) {
        for (const sm of rm.scopeMetrics) metrics += sm.metrics.length;
      }
      return {
        "resource metrics": data.resourceMetrics.length,
        metrics,
        "data points": countDataPoints(data),
      };
    }
    default: {
      const data = payload.read(NO_FIELDS) as LogsData;
      return { "resource logs": data.resourceLogs.length, "log records": countLogRecords(data) };
    }
  }
}

const encoder = new TextEncoder();

/** A console-encoded logger on stdout, for `use_internal_logger: false`. */
function stdoutLogger(): Logger {
  return createLogger({
    encoding: "console",
    write: (line) => {
      try {
        Deno.stdout.writeSync(encoder.encode(line + "\n"));
      } catch {
        // stdout closed: the debug output has nowhere to go
      }
    },
  });
}

function debugConsumer<S extends Signal>(
  signal: S,
  config: DebugConfig,
  logger: Logger,
  sample: Sampler,
): Consumer<S> {
  const title = TITLES[signal];
  return {
    mutatesData: false,
    consume(payload) {
      if (!sample(signal)) return Promise.resolve();
      logger.info(title, counts(payload));
      if (config.verbosity !== "basic") {
        const text = formatData(signal, payload.read(), config.verbosity);
        if (text !== "") logger.info(text);
      }
      return Promise.resolve();
    },
  };
}

function createDebugExporter(
  config: DebugConfig,
  logger: Logger,
  signals: readonly Signal[],
): Exporter {
  const out = config.use_internal_logger ? logger : stdoutLogger();
  const sample = createSampler(config.sampling_initial, config.sampling_thereafter);
  const consumers: SignalConsumers = {};
  for (const signal of signals) {
    switch (signal) {
      case "traces":
        consumers.traces = debugConsumer("traces", config, out, sample);
        break;
      case "metrics":
        consumers.metrics = debugConsumer("metrics", config, out, sample);
        break;
      case "logs":
        consumers.logs = debugConsumer("logs", config, out, sample);
        break;
    }
  }
  return {
    consumers,
    start: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
  };
}

/** The `debug` exporter. */
export const debugFactory: ExporterFactory<DebugConfig> = {
  kind: "exporter",
  type: "debug",
  configSchema: debugConfigSchema,
  signals: { traces: "development", metrics: "development", logs: "development" },
  create(settings, signals) {
    return createDebugExporter(settings.config, settings.logger, signals);
  },
};

/** The deprecated `logging` exporter: the debug exporter under its old name and keys. */
export const loggingFactory: ExporterFactory<DebugConfig> = {
  kind: "exporter",
  type: "logging",
  configSchema: loggingConfigSchema,
  signals: { traces: "deprecated", metrics: "deprecated", logs: "deprecated" },
  create(settings, signals) {
    settings.logger.warn(
      'The "logging" exporter is deprecated and will be removed: use the "debug" exporter ' +
        "(loglevel becomes verbosity: debug → detailed, info → normal, warn and error → basic)",
    );
    return createDebugExporter(settings.config, settings.logger, signals);
  },
};
