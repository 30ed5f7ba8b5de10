/**
 * Parsers for the Prometheus text exposition format 0.0.4 and OpenMetrics 1.0 text. One pass over
 * the lines with index scanning; a malformed line throws an {@linkcode ExpositionError} naming its
 * line number (never anything else).
 *
 * Beyond the published formats, both accept the quoted UTF-8 names of newer Prometheus versions
 * (`{"my.metric", "my.label"="x"} 1`).
 *
 * @module
 */
import { LineScanner, parseFloatToken, unescape } from "./_scanner.ts";
import {
  type Exemplar,
  type Exposition,
  ExpositionError,
  type ExpositionFormat,
  type FamilyMetadata,
  type Label,
  type MetricType,
  type Sample,
} from "./types.ts";

const HASH = 0x23;
const OPEN_BRACE = 0x7b;
const SPACE = 0x20;
const TAB = 0x09;
const CR = 0x0d;

const TEXT_TYPES: Readonly<Record<string, MetricType>> = {
  counter: "counter",
  gauge: "gauge",
  histogram: "histogram",
  summary: "summary",
  untyped: "unknown",
};

const OPENMETRICS_TYPES: Readonly<Record<string, MetricType>> = {
  counter: "counter",
  gauge: "gauge",
  histogram: "histogram",
  gaugehistogram: "gaugehistogram",
  summary: "summary",
  info: "info",
  stateset: "stateset",
  unknown: "unknown",
};

/**
 * The format of a response from its `Content-Type`: `application/openmetrics-text` is
 * OpenMetrics, anything else (including none) the text format.
 */
export function formatOfContentType(contentType: string | null | undefined): ExpositionFormat {
  if (contentType == null) return "text";
  const semi = contentType.indexOf(";");
  const media = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  return media === "application/openmetrics-text" ? "openmetrics" : "text";
}

function metadataOf(metadata: Map<string, FamilyMetadata>, name: string): FamilyMetadata {
  let meta = metadata.get(name);
  if (meta === undefined) {
    meta = { type: "unknown", help: "", unit: "" };
    metadata.set(name, meta);
  }
  return meta;
}

/** Parses the metadata after `# ` (text format); other comments are ignored. */
function textComment(sc: LineScanner, metadata: Map<string, FamilyMetadata>): void {
  sc.skipBlanks();
  const keyword = sc.token();
  if ((keyword !== "HELP" && keyword !== "TYPE") || sc.skipBlanks() === 0) return;
  const name = sc.metricName();
  const blanks = sc.skipBlanks();
  if (keyword === "HELP") {
    if (blanks === 0 && !sc.atEnd()) sc.fail(`expected a blank after the metric name "${name}"`);
    metadataOf(metadata, name).help = unescape(sc.rest(), false);
    return;
  }
  const typeName = sc.token();
  const type = TEXT_TYPES[typeName];
  if (type === undefined || blanks === 0) {
    sc.fail(
      `invalid metric type ${JSON.stringify(typeName)} for "${name}" ` +
        "(expected counter, gauge, histogram, summary or untyped)",
    );
  }
  sc.skipBlanks();
  if (!sc.atEnd()) sc.fail(`unexpected ${sc.found()} after the metric type`);
  metadataOf(metadata, name).type = type;
}

/** Parses an OpenMetrics metadata line after `#`; returns true on `# EOF`. */
function openMetricsComment(sc: LineScanner, metadata: Map<string, FamilyMetadata>): boolean {
  if (sc.peek() !== SPACE) sc.fail('expected "# TYPE", "# HELP", "# UNIT" or "# EOF"');
  sc.pos++;
  const keyword = sc.token();
  if (keyword === "EOF") {
    if (!sc.atEnd()) sc.fail(`unexpected ${sc.found()} after "# EOF"`);
    return true;
  }
  if (keyword !== "HELP" && keyword !== "TYPE" && keyword !== "UNIT") {
    sc.fail(`expected "# TYPE", "# HELP", "# UNIT" or "# EOF", got "# ${keyword}"`);
  }
  if (sc.skipBlanks() === 0) sc.fail(`expected a metric name after "# ${keyword}"`);
  const name = sc.peek() === 0x22 ? sc.quoted() : sc.metricName();
  const blanks = sc.skipBlanks();
  if (blanks === 0 && !sc.atEnd()) sc.fail(`expected a blank after the metric name "${name}"`);
  const meta = metadataOf(metadata, name);
  if (keyword === "HELP") {
    meta.help = unescape(sc.rest(), true);
  } else if (keyword === "UNIT") {
    meta.unit = sc.rest();
  } else {
    const typeName = sc.token();
    const type = OPENMETRICS_TYPES[typeName];
    if (type === undefined) {
      sc.fail(`invalid metric type ${JSON.stringify(typeName)} for "${name}"`);
    }
    if (!sc.atEnd()) sc.fail(`unexpected ${sc.found()} after the metric type`);
    meta.type = type;
  }
  return false;
}

function value(sc: LineScanner, what: string): number {
  const token = sc.token();
  const v = parseFloatToken(token);
  if (v === undefined) {
    sc.fail(token === "" ? `missing ${what}` : `invalid ${what} ${JSON.stringify(token)}`);
  }
  return v;
}

function timestamp(sc: LineScanner, openMetrics: boolean): number {
  const token = sc.token();
  if (openMetrics) {
    const seconds = parseFloatToken(token);
    if (seconds === undefined || !Number.isFinite(seconds)) {
      sc.fail(`invalid timestamp ${JSON.stringify(token)} (expected seconds since the epoch)`);
    }
    return Math.round(seconds * 1000);
  }
  let i = token.charCodeAt(0) === 0x2d ? 1 : 0;
  if (i === token.length) sc.fail(`invalid timestamp ${JSON.stringify(token)}`);
  for (; i < token.length; i++) {
    const c = token.charCodeAt(i);
    if (c < 0x30 || c > 0x39) {
      sc.fail(`invalid timestamp ${JSON.stringify(token)} (expected integer milliseconds)`);
    }
  }
  return Number(token);
}

function exemplar(sc: LineScanner): Exemplar {
  sc.pos++; // '#'
  if (sc.skipBlanks() === 0) sc.fail('expected a blank after the exemplar "#"');
  sc.expect(OPEN_BRACE, 'an exemplar label set "{"');
  const labels: Label[] = [];
  sc.labels(labels, false);
  if (sc.skipBlanks() === 0) sc.fail("expected a blank before the exemplar value");
  const v = value(sc, "exemplar value");
  let timestampMs: number | undefined;
  if (sc.skipBlanks() > 0 && !sc.atEnd()) timestampMs = timestamp(sc, true);
  sc.skipBlanks();
  if (!sc.atEnd()) sc.fail(`unexpected ${sc.found()} after the exemplar`);
  return { labels, value: v, timestampMs };
}

function sample(sc: LineScanner, openMetrics: boolean): Sample {
  let name: string | undefined;
  const labels: Label[] = [];
  if (sc.peek() !== OPEN_BRACE) name = sc.metricName();
  if (sc.peek() === OPEN_BRACE) {
    sc.pos++;
    const quotedName = sc.labels(labels, name === undefined);
    if (quotedName !== undefined) name = quotedName;
    if (name === undefined) sc.fail("missing metric name");
    sc.skipBlanks();
  } else if (sc.skipBlanks() === 0) {
    sc.fail(`expected a blank or "{" after the metric name "${name}", got ${sc.found()}`);
  }
  const v = value(sc, `value for "${name}"`);
  let timestampMs: number | undefined;
  let ex: Exemplar | undefined;
  if (sc.skipBlanks() > 0 && !sc.atEnd()) {
    if (sc.peek() !== HASH) {
      timestampMs = timestamp(sc, openMetrics);
      sc.skipBlanks();
    }
    if (sc.peek() === HASH) {
      if (!openMetrics) sc.fail("exemplars are only allowed in OpenMetrics");
      ex = exemplar(sc);
    }
  }
  if (!sc.atEnd()) sc.fail(`unexpected ${sc.found()} after the sample value`);
  return { name: name!, labels, value: v, timestampMs, exemplar: ex };
}

/**
 * Parses an exposition in the given format.
 * @throws {ExpositionError} on the first malformed line, naming it
 */
export function parseExposition(text: string, format: ExpositionFormat): Exposition {
  const openMetrics = format === "openmetrics";
  const samples: Sample[] = [];
  const metadata = new Map<string, FamilyMetadata>();
  const sc = new LineScanner(text);
  let line = 0;
  let pos = 0;
  let eof = false;
  while (pos < text.length) {
    let end = text.indexOf("\n", pos);
    const next = end < 0 ? text.length : end + 1;
    if (end < 0) end = text.length;
    line++;
    if (end > pos && text.charCodeAt(end - 1) === CR) end--;
    if (eof) throw new ExpositionError(line, 'unexpected content after "# EOF"');
    sc.reset(pos, end, line);
    pos = next;
    if (openMetrics) {
      if (sc.atEnd()) sc.fail("empty lines are not allowed in OpenMetrics");
      if (sc.peek() === HASH) {
        sc.pos++;
        eof = openMetricsComment(sc, metadata);
        continue;
      }
    } else {
      sc.skipBlanks();
      if (sc.atEnd()) continue;
      if (sc.peek() === HASH) {
        sc.pos++;
        textComment(sc, metadata);
        continue;
      }
    }
    const c = sc.peek();
    if (c === SPACE || c === TAB) sc.fail("unexpected leading blank");
    samples.push(sample(sc, openMetrics));
  }
  if (openMetrics && !eof) {
    throw new ExpositionError(line + 1, 'the data does not end with "# EOF"');
  }
  return { samples, metadata };
}
