/**
 * The OpenTelemetry Collector's own metrics that tfo exposes, as a v0.162 Collector declares them:
 * the OpenTelemetry unit (which becomes a name suffix unless `without_units`), the description and
 * stability its Prometheus endpoint shows as HELP (`… [Alpha]`), and the instrumentation scope it
 * reports them under (a label only when `without_scope_info: false`).
 *
 * Components create instruments by name as before; the registry looks a name up here, so the
 * HELP text, unit and scope of a Collector metric are written once. Names not listed (tfo's own
 * `tfo_*` metrics) keep the help their caller gives and have no unit.
 *
 * @module
 */
import { ITEM_UNIT } from "../pdata/count.ts";
import { SIGNALS } from "../pdata/types.ts";

/** What the Collector declares about one of its metrics. */
export interface CatalogEntry {
  /** The OpenTelemetry unit (`s`, `By`, `{spans}`). */
  readonly unit: string;
  /** The HELP text, stability included. */
  readonly help: string;
  /** The instrumentation scope name. */
  readonly scope: string;
}

const GO = "go.opentelemetry.io/collector";
const RECEIVER_SCOPE = `${GO}/receiver/receiverhelper`;
const PROCESSOR_SCOPE = `${GO}/processor/processorhelper`;
const EXPORTER_SCOPE = `${GO}/exporter/exporterhelper`;
const MEMORY_LIMITER_SCOPE = `${GO}/processor/memorylimiterprocessor`;
const SERVICE_SCOPE = `${GO}/service`;
const SCRAPER_SCOPE = `${GO}/scraper/scraperhelper`;
const BATCH_SCOPE = `${GO}/processor/batchprocessor`;

/** The scope of metrics the catalog does not know (tfo's own). */
export const TFO_SCOPE = "tfo";

const entries = new Map<string, CatalogEntry>();

function add(name: string, unit: string, help: string, scope: string, stability = "Alpha"): void {
  entries.set(name, { unit, help: `${help} [${stability}]`, scope });
}

for (const signal of SIGNALS) {
  const unit = ITEM_UNIT[signal];
  const items = unit.replace("_", " ");
  const braces = `{${items.replace(" ", "_")}}`;
  // The Collector's descriptions say "log record" (singular) for the exporter's sent counter.
  const sentItems = unit === "log_records" ? "log record" : items;
  add(
    `otelcol_receiver_accepted_${unit}`,
    braces,
    `Number of ${items} successfully pushed into the pipeline.`,
    RECEIVER_SCOPE,
  );
  add(
    `otelcol_receiver_refused_${unit}`,
    braces,
    `Number of ${items} that could not be pushed into the pipeline.`,
    RECEIVER_SCOPE,
  );
  add(
    `otelcol_receiver_failed_${unit}`,
    braces,
    `The number of ${items} that failed to be processed by the receiver due to internal errors.`,
    RECEIVER_SCOPE,
  );
  add(
    `otelcol_exporter_sent_${unit}`,
    braces,
    `Number of ${sentItems} successfully sent to destination.`,
    EXPORTER_SCOPE,
  );
  add(
    `otelcol_exporter_send_failed_${unit}`,
    braces,
    `Number of ${items} in failed attempts to send to destination. At detailed telemetry level, ` +
      "includes attributes: error.type (semantic convention), error.permanent.",
    EXPORTER_SCOPE,
  );
  add(
    `otelcol_exporter_enqueue_failed_${unit}`,
    braces,
    `Number of ${items} failed to be added to the sending queue.`,
    EXPORTER_SCOPE,
  );
  add(
    `otelcol_processor_memory_limiter_accepted_${unit}`,
    braces,
    `Number of ${items} successfully pushed into the next component in the pipeline.`,
    MEMORY_LIMITER_SCOPE,
  );
  add(
    `otelcol_processor_memory_limiter_refused_${unit}`,
    braces,
    `Number of ${items} that were rejected by the next component in the pipeline.`,
    MEMORY_LIMITER_SCOPE,
  );
}
add(
  "otelcol_processor_incoming_items",
  "{items}",
  "Number of items passed to the processor.",
  PROCESSOR_SCOPE,
);
add(
  "otelcol_processor_outgoing_items",
  "{items}",
  "Number of items emitted from the processor.",
  PROCESSOR_SCOPE,
);
add(
  "otelcol_exporter_queue_size",
  "{batches}",
  "Current size of the retry queue (in batches).",
  EXPORTER_SCOPE,
);
add(
  "otelcol_exporter_queue_capacity",
  "{batches}",
  "Fixed capacity of the retry queue (in batches).",
  EXPORTER_SCOPE,
);
add(
  "otelcol_exporter_in_flight_requests",
  "{requests}",
  "Number of export requests currently in-flight (including retry backoff).",
  EXPORTER_SCOPE,
  "Development",
);
add("otelcol_process_uptime", "s", "Uptime of the process", SERVICE_SCOPE);
add("otelcol_process_cpu_seconds", "s", "Total CPU user and system time in seconds", SERVICE_SCOPE);
add("otelcol_process_memory_rss", "By", "Total physical memory (resident set size)", SERVICE_SCOPE);
add(
  "otelcol_process_runtime_heap_alloc_bytes",
  "By",
  "Bytes of allocated heap objects (see 'go doc runtime.MemStats.HeapAlloc')",
  SERVICE_SCOPE,
);
add(
  "otelcol_process_runtime_total_alloc_bytes",
  "By",
  "Cumulative bytes allocated for heap objects (see 'go doc runtime.MemStats.TotalAlloc')",
  SERVICE_SCOPE,
);
add(
  "otelcol_process_runtime_total_sys_memory_bytes",
  "By",
  "Total bytes of memory obtained from the OS (see 'go doc runtime.MemStats.Sys')",
  SERVICE_SCOPE,
);
add(
  "otelcol_scraper_scraped_metric_points",
  "{datapoints}",
  "Number of metric points successfully scraped.",
  SCRAPER_SCOPE,
);
add(
  "otelcol_scraper_errored_metric_points",
  "{datapoints}",
  "Number of metric points that were unable to be scraped.",
  SCRAPER_SCOPE,
);

add(
  "otelcol_processor_batch_batch_send_size",
  "{units}",
  "Number of units in the batch",
  BATCH_SCOPE,
  "Development",
);
add(
  "otelcol_processor_batch_batch_size_trigger_send",
  "{times}",
  "Number of times the batch was sent due to a size trigger",
  BATCH_SCOPE,
  "Development",
);
add(
  "otelcol_processor_batch_timeout_trigger_send",
  "{times}",
  "Number of times the batch was sent due to a timeout trigger",
  BATCH_SCOPE,
  "Development",
);
add(
  "otelcol_processor_batch_metadata_cardinality",
  "{combinations}",
  "Number of distinct metadata value combinations being processed",
  BATCH_SCOPE,
  "Development",
);

/** What the Collector declares about the metric `name`, if it is one of its metrics. */
export function catalogEntry(name: string): CatalogEntry | undefined {
  return entries.get(name);
}

/** Every metric name the catalog knows, sorted. */
export function catalogNames(): string[] {
  return [...entries.keys()].sort();
}
