/**
 * The `attributes` processor: runs attribute actions on span attributes, log record attributes
 * and metric data point attributes, optionally only for items selected by `include` and not
 * selected by `exclude`. Span events and links are left alone, as in the Collector.
 *
 * @module
 */
import type { Processor, ProcessorFactory } from "../../component.ts";
import type { Consumer } from "../../../lib/consumer/consumer.ts";
import type { Payload } from "../../../lib/pdata/payload.ts";
import type {
  KeyValue,
  LogsData,
  MetricsData,
  Signal,
  SignalData,
  TracesData,
} from "../../../lib/pdata/types.ts";
import {
  type AttributeActions,
  compileActions,
  type ContextValues,
} from "../../../lib/processing/actions.ts";
import { compileMatcher, type Matcher } from "../../../lib/processing/match.ts";
import { type AttributesConfig, attributesConfigSchema } from "./config.ts";

interface Selection {
  include: Matcher | undefined;
  exclude: Matcher | undefined;
}

function processTraces(
  data: TracesData,
  actions: AttributeActions,
  { include, exclude }: Selection,
  context: ContextValues,
): void {
  for (const rs of data.resourceSpans) {
    if (include !== undefined && !include.resource(rs.resource)) continue;
    const excludeResource = exclude !== undefined && exclude.resource(rs.resource);
    for (const ss of rs.scopeSpans) {
      if (include !== undefined && !include.scope(ss.scope)) continue;
      const excludeScope = excludeResource && exclude!.scope(ss.scope);
      for (const span of ss.spans) {
        if (include !== undefined && !include.span(span)) continue;
        if (excludeScope && exclude!.span(span)) continue;
        actions.apply(span.attributes, context);
      }
    }
  }
}

function processLogs(
  data: LogsData,
  actions: AttributeActions,
  { include, exclude }: Selection,
  context: ContextValues,
): void {
  for (const rl of data.resourceLogs) {
    if (include !== undefined && !include.resource(rl.resource)) continue;
    const excludeResource = exclude !== undefined && exclude.resource(rl.resource);
    for (const sl of rl.scopeLogs) {
      if (include !== undefined && !include.scope(sl.scope)) continue;
      const excludeScope = excludeResource && exclude!.scope(sl.scope);
      for (const record of sl.logRecords) {
        if (include !== undefined && !include.log(record)) continue;
        if (excludeScope && exclude!.log(record)) continue;
        actions.apply(record.attributes, context);
      }
    }
  }
}

function processMetrics(
  data: MetricsData,
  actions: AttributeActions,
  { include, exclude }: Selection,
  context: ContextValues,
): void {
  for (const rm of data.resourceMetrics) {
    if (include !== undefined && !include.resource(rm.resource)) continue;
    const excludeResource = exclude !== undefined && exclude.resource(rm.resource);
    for (const sm of rm.scopeMetrics) {
      if (include !== undefined && !include.scope(sm.scope)) continue;
      const excludeScope = excludeResource && exclude!.scope(sm.scope);
      for (const metric of sm.metrics) {
        if (metric.data === undefined) continue;
        if (include !== undefined && !include.metric(metric)) continue;
        const excludeMetric = excludeScope && exclude!.metric(metric);
        const points: readonly { attributes: KeyValue[] }[] = metric.data.dataPoints;
        for (const point of points) {
          if (include !== undefined && !include.attributes(point.attributes)) continue;
          if (excludeMetric && exclude!.attributes(point.attributes)) continue;
          actions.apply(point.attributes, context);
        }
      }
    }
  }
}

/** Creates one attributes processor instance. Throws when `include`/`exclude` do not fit `signal`. */
export function createAttributesProcessor<S extends Signal>(
  config: AttributesConfig,
  signal: S,
  next: Consumer<S>,
): Processor<S> {
  const actions = compileActions(config.actions);
  const selection: Selection = {
    include: config.include === undefined ? undefined : compileMatcher(config.include, signal),
    exclude: config.exclude === undefined ? undefined : compileMatcher(config.exclude, signal),
  };
  const process =
    (signal === "traces" ? processTraces : signal === "logs" ? processLogs : processMetrics) as (
      data: SignalData[S],
      actions: AttributeActions,
      selection: Selection,
      context: ContextValues,
    ) => void;

  return {
    mutatesData: true,
    consume(payload: Payload<S>): Promise<void> {
      process(payload.edit(), actions, selection, actions.contextValues(payload.client));
      return next.consume(payload);
    },
    start: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
  };
}

/** The `attributes` processor factory. */
export const attributesFactory: ProcessorFactory<AttributesConfig> = {
  kind: "processor",
  type: "attributes",
  configSchema: attributesConfigSchema,
  signals: { traces: "beta", metrics: "beta", logs: "beta" },
  create: (settings, signal, next) => createAttributesProcessor(settings.config, signal, next),
};
