/**
 * The tail sampler's self-metrics: the Collector's `otelcol_processor_tail_sampling_*` families
 * (names, labels and units as contrib v0.161 declares them) and tfo's own `tfo_processor_tail_sampling_*`.
 *
 * @module
 */
import type { Counter, Gauge, Histogram, Meter } from "../../../lib/telemetry/metrics.ts";
import { Decision } from "./_policies.ts";

const P = "otelcol_processor_tail_sampling_";

/** The instruments the sampler records into. */
export interface SamplerMetrics {
  policyDecision(policy: string, decision: Decision): void;
  globalDecision(decision: Decision): void;
  earlyReleases(sampled: boolean, spans: number): void;
  evicted(reason: string): void;
  /** One execution of a policy that took `micros` microseconds. */
  policyExecution(policy: string, micros: number): void;
  readonly newTraces: Counter;
  readonly tracesOnMemory: Gauge;
  readonly droppedTooEarly: Counter;
  readonly evaluationErrors: Counter;
  readonly tracesTooLarge: Counter;
  readonly decisionLatency: Histogram;
  readonly lateSpanAge: Histogram;
  readonly earlyDecisions: Counter;
  readonly forwardFailed: Counter;
}

/** The `sampled` and `decision` labels of a decision (none for undecided ones). */
function decisionLabels(d: Decision): { sampled: string; decision: string } | undefined {
  switch (d) {
    case Decision.Sampled:
    case Decision.InvertSampled:
      return { sampled: "true", decision: "sampled" };
    case Decision.NotSampled:
    case Decision.InvertNotSampled:
      return { sampled: "false", decision: "not_sampled" };
    case Decision.Dropped:
      return { sampled: "false", decision: "dropped" };
    default:
      return undefined;
  }
}

/** The sampler's instruments on a component's meter. */
export function samplerMetrics(meter: Meter): SamplerMetrics {
  const series = new Map<string, Counter>();
  const executions = new Map<string, { count: Counter; time: Counter; micros: number }>();
  const counter = (
    key: string,
    name: string,
    help: string,
    labels: () => Record<string, string>,
    unit: string,
  ) => {
    let c = series.get(key);
    if (c === undefined) {
      c = meter.counter(name, help, labels(), { unit });
      series.set(key, c);
    }
    return c;
  };
  return {
    policyDecision(policy, decision) {
      const labels = decisionLabels(decision);
      if (labels === undefined) return;
      counter(
        `p${decision}\u0000${policy}`,
        `${P}count_traces_sampled`,
        "Count of traces that were sampled or not per sampling policy [Development]",
        () => ({ policy, ...labels }),
        "{traces}",
      ).add(1);
    },
    globalDecision(decision) {
      const labels = decisionLabels(decision);
      if (labels === undefined) return;
      counter(
        `g${decision}`,
        `${P}global_count_traces_sampled`,
        "Global count of traces that were sampled or not by at least one policy [Development]",
        () => labels,
        "{traces}",
      ).add(1);
    },
    earlyReleases(sampled, spans) {
      counter(
        `e${sampled}`,
        `${P}early_releases_from_cache_decision`,
        "Number of spans that were able to be immediately released due to a decision cache hit. [Development]",
        () => ({ sampled: String(sampled) }),
        "{spans}",
      ).add(spans);
    },
    policyExecution(policy, micros) {
      let pair = executions.get(policy);
      if (pair === undefined) {
        pair = {
          count: meter.counter(
            `${P}sampling_policy_execution_count`,
            "Total number of executions of a specific sampling policy [Development]",
            { policy },
            { unit: "{executions}" },
          ),
          time: meter.counter(
            `${P}sampling_policy_execution_time_sum`,
            "Total time spent (in microseconds) executing a specific sampling policy [Development]",
            { policy },
            { unit: "us" },
          ),
          micros: 0,
        };
        executions.set(policy, pair);
      }
      pair.count.add(1);
      // The Collector adds whole microseconds; carry the fractions so the sum stays right.
      pair.micros += micros;
      const whole = Math.floor(pair.micros);
      if (whole > 0) {
        pair.time.add(whole);
        pair.micros -= whole;
      }
    },
    evicted(reason) {
      counter(
        `v${reason}`,
        "tfo_processor_tail_sampling_evicted_traces",
        "Pending traces decided before their decision_wait because num_traces or max_memory_mib was reached.",
        () => ({ reason }),
        "{traces}",
      ).add(1);
    },
    newTraces: meter.counter(
      `${P}new_trace_id_received`,
      "Counts the arrival of new traces [Development]",
      {},
      {
        unit: "{traces}",
      },
    ),
    tracesOnMemory: meter.gauge(
      `${P}sampling_traces_on_memory`,
      "Tracks the number of traces current on memory [Development]",
      {},
      { unit: "{traces}" },
    ),
    droppedTooEarly: meter.counter(
      `${P}sampling_trace_dropped_too_early`,
      "Count of traces that needed to be dropped before the configured wait time [Development]",
      {},
      { unit: "{traces}" },
    ),
    evaluationErrors: meter.counter(
      `${P}sampling_policy_evaluation_error`,
      "Count of sampling policy evaluation errors [Development]",
      {},
      { unit: "{errors}" },
    ),
    tracesTooLarge: meter.counter(
      `${P}traces_dropped_too_large`,
      "Count of traces that were dropped because they were too large [Development]",
      {},
      { unit: "{traces}" },
    ),
    decisionLatency: meter.histogram(
      `${P}sampling_decision_timer_latency`,
      "Latency (in milliseconds) of each run of the sampling decision timer [Development]",
      [
        1,
        2,
        5,
        10,
        25,
        50,
        75,
        100,
        150,
        200,
        300,
        400,
        500,
        750,
        1000,
        2000,
        3000,
        4000,
        5000,
        10000,
        20000,
        30000,
        50000,
      ],
      {},
      { unit: "ms" },
    ),
    lateSpanAge: meter.histogram(
      `${P}sampling_late_span_age`,
      "Time (in seconds) from the sampling decision was taken and the arrival of a late span [Development]",
      [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000],
      {},
      { unit: "s" },
    ),
    forwardFailed: meter.counter(
      "tfo_processor_tail_sampling_forward_failed_spans",
      "Spans of sampled traces that the next component refused, after retries, and that were dropped.",
      {},
      { unit: "{spans}" },
    ),
    earlyDecisions: meter.counter(
      "tfo_processor_tail_sampling_early_decisions",
      "Traces sampled before their decision_wait because a policy could already decide.",
      {},
      { unit: "{traces}" },
    ),
  };
}
