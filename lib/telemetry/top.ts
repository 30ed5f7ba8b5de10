/**
 * `tfo top`'s model: reads two scrapes of a running tfo's (or a Collector's) own metrics and turns
 * them into one row per component with items per second in and out, refusals, failures and queue
 * fill, the way `vector top` shows a pipeline. It works from the Collector's self-metric names
 * (`otelcol_receiver_accepted_spans`, `otelcol_processor_incoming_items`,
 * `otelcol_exporter_sent_log_records`, `otelcol_exporter_queue_size`, …), so it reads an
 * OpenTelemetry Collector's endpoint as well.
 *
 * @module
 */
import type { Sample } from "../prometheus/types.ts";

/** The kinds of component a row can be. */
export type TopKind = "receiver" | "processor" | "exporter";

/** Cumulative counters and gauges of one component in one scrape. */
export interface ComponentTotals {
  kind: TopKind;
  id: string;
  /** Items taken in: accepted by a receiver, passed to a processor, sent by an exporter's input. */
  incoming: number;
  /** Items passed on: emitted by a processor, sent to the destination by an exporter. */
  outgoing: number;
  /** Items refused to the sender (receivers) or not enqueued (exporters). */
  refused: number;
  /** Items that failed: receiver internal errors, exporter failed sends. */
  failed: number;
  /** An exporter's queue size and capacity, when it has a queue. */
  queueSize?: number;
  queueCapacity?: number;
  /** Bytes an exporter's sending queue holds (tfo's `tfo_exporter_queue_bytes`). */
  queueBytes?: number;
  /** Seconds the oldest item of an exporter's queues has waited (the largest over its signals). */
  queueAgeSeconds?: number;
}

/** One component in one scrape, keyed `kind/id`. */
export type Snapshot = Map<string, ComponentTotals>;

/** One row on the screen: rates per second over the interval between two snapshots. */
export interface TopRow {
  kind: TopKind;
  id: string;
  inPerSecond: number;
  outPerSecond: number;
  refusedPerSecond: number;
  failedPerSecond: number;
  /** Cumulative totals, for the columns that show them. */
  totalIn: number;
  totalOut: number;
  queue?: string;
}

const RECEIVER =
  /^otelcol_receiver_(accepted|refused|failed)_(spans|metric_points|log_records|profiles)(_total)?$/;
const EXPORTER =
  /^otelcol_exporter_(sent|send_failed|enqueue_failed)_(spans|metric_points|log_records|profiles)(_total)?$/;
const PROCESSOR = /^otelcol_processor_(incoming|outgoing)_items(_total)?$/;
const QUEUE = /^otelcol_exporter_queue_(size|capacity)$/;
const QUEUE_BYTES = /^tfo_exporter_queue_bytes$/;
const QUEUE_AGE = /^tfo_exporter_queue_oldest_item_age(_seconds)?$/;

function label(sample: Sample, name: string): string | undefined {
  return sample.labels.find((l) => l.name === name)?.value;
}

/** Sums one scrape's samples into per-component totals. */
export function snapshotOf(samples: readonly Sample[]): Snapshot {
  const snapshot: Snapshot = new Map();
  const entry = (kind: TopKind, id: string): ComponentTotals => {
    const key = `${kind}/${id}`;
    let totals = snapshot.get(key);
    if (totals === undefined) {
      totals = { kind, id, incoming: 0, outgoing: 0, refused: 0, failed: 0 };
      snapshot.set(key, totals);
    }
    return totals;
  };
  for (const sample of samples) {
    if (!Number.isFinite(sample.value)) continue;
    let match = RECEIVER.exec(sample.name);
    if (match !== null) {
      const id = label(sample, "receiver");
      if (id === undefined) continue;
      const totals = entry("receiver", id);
      if (match[1] === "accepted") {
        totals.incoming += sample.value;
        totals.outgoing += sample.value;
      } else if (match[1] === "refused") totals.refused += sample.value;
      else totals.failed += sample.value;
      continue;
    }
    match = EXPORTER.exec(sample.name);
    if (match !== null) {
      const id = label(sample, "exporter");
      if (id === undefined) continue;
      const totals = entry("exporter", id);
      if (match[1] === "sent") totals.outgoing += sample.value;
      else if (match[1] === "send_failed") totals.failed += sample.value;
      else totals.refused += sample.value;
      continue;
    }
    match = PROCESSOR.exec(sample.name);
    if (match !== null) {
      const id = label(sample, "processor");
      if (id === undefined) continue;
      const totals = entry("processor", id);
      if (match[1] === "incoming") totals.incoming += sample.value;
      else totals.outgoing += sample.value;
      continue;
    }
    match = QUEUE.exec(sample.name);
    if (match !== null) {
      const id = label(sample, "exporter");
      if (id === undefined) continue;
      const totals = entry("exporter", id);
      if (match[1] === "size") totals.queueSize = (totals.queueSize ?? 0) + sample.value;
      else totals.queueCapacity = (totals.queueCapacity ?? 0) + sample.value;
      continue;
    }
    if (QUEUE_BYTES.test(sample.name)) {
      const id = label(sample, "exporter");
      if (id === undefined) continue;
      const totals = entry("exporter", id);
      totals.queueBytes = (totals.queueBytes ?? 0) + sample.value;
      continue;
    }
    if (QUEUE_AGE.test(sample.name)) {
      const id = label(sample, "exporter");
      if (id === undefined) continue;
      const totals = entry("exporter", id);
      totals.queueAgeSeconds = Math.max(totals.queueAgeSeconds ?? 0, sample.value);
    }
  }
  // An exporter takes in what it sent, failed or could not enqueue.
  for (const totals of snapshot.values()) {
    if (totals.kind === "exporter") {
      totals.incoming = totals.outgoing + totals.failed + totals.refused;
    }
  }
  return snapshot;
}

const KIND_ORDER: Readonly<Record<TopKind, number>> = { receiver: 0, processor: 1, exporter: 2 };

/**
 * Rates between two snapshots `seconds` apart, receivers first, then processors, then exporters,
 * each by ID. A counter that went down (the process restarted) counts from zero.
 */
export function topRows(previous: Snapshot, current: Snapshot, seconds: number): TopRow[] {
  const rate = (now: number, before: number | undefined) => {
    const delta = before === undefined || now < before ? now : now - before;
    return seconds > 0 ? delta / seconds : 0;
  };
  const rows: TopRow[] = [];
  for (const [key, now] of current) {
    const before = previous.get(key);
    rows.push({
      kind: now.kind,
      id: now.id,
      inPerSecond: rate(now.incoming, before?.incoming),
      outPerSecond: rate(now.outgoing, before?.outgoing),
      refusedPerSecond: rate(now.refused, before?.refused),
      failedPerSecond: rate(now.failed, before?.failed),
      totalIn: now.incoming,
      totalOut: now.outgoing,
      ...(now.queueSize === undefined
        ? {}
        : { queue: `${now.queueSize}/${now.queueCapacity ?? "?"}` }),
    });
  }
  return rows.sort((a, b) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || a.id.localeCompare(b.id));
}

function human(value: number): string {
  if (value >= 1e9) return `${(value / 1e9).toFixed(1)}G`;
  if (value >= 1e6) return `${(value / 1e6).toFixed(1)}M`;
  if (value >= 1e4) return `${(value / 1e3).toFixed(1)}k`;
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

const HEADER = [
  "KIND",
  "ID",
  "IN/S",
  "OUT/S",
  "REFUSED/S",
  "FAILED/S",
  "TOTAL IN",
  "TOTAL OUT",
  "QUEUE",
];

/** The rows as an aligned text table, one line per component under a header. */
export function renderTop(rows: readonly TopRow[]): string {
  const cells = [
    HEADER,
    ...rows.map((row) => [
      row.kind,
      row.id,
      human(row.inPerSecond),
      human(row.outPerSecond),
      human(row.refusedPerSecond),
      human(row.failedPerSecond),
      human(row.totalIn),
      human(row.totalOut),
      row.queue ?? "-",
    ]),
  ];
  const widths = HEADER.map((_, column) => Math.max(...cells.map((line) => line[column]!.length)));
  return cells
    .map((line) =>
      line
        .map((cell, column) =>
          column < 2 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)
        )
        .join("  ")
        .trimEnd()
    )
    .join("\n");
}
