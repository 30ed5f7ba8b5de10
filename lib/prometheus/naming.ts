/**
 * OTLP → Prometheus name translation, as the OpenTelemetry–Prometheus compatibility specification
 * describes and the Collector's translator (`github.com/prometheus/otlptranslator`, used by the
 * `prometheus` exporter) implements it:
 *
 * - metric names: with suffixes, the name is split on characters outside `[a-zA-Z0-9:]`, the unit
 *   (`By` → `bytes`, `ms` → `milliseconds`, `m/s` → `meters_per_second`, `{…}` annotations
 *   dropped) is appended unless a name token already is it, monotonic counters end in `_total`,
 *   gauges of unit `1` in `_ratio`, the namespace comes first, a leading digit gets `_`;
 *   without suffixes, runs of invalid characters become `_`;
 * - label names: runs of characters outside `[a-zA-Z0-9]` become one `_`, a leading digit gets
 *   `key_`, a single leading `_` becomes `key_`, `__x__` keeps its underscores;
 * - with UTF-8 allowed (`NoUTF8EscapingWithSuffixes`, `NoTranslation`) names pass unchanged (and
 *   suffixes are added to the name as is).
 *
 * @module
 */

/** The translator's view of an OTLP metric type. */
export type TranslatedType =
  | "unknown"
  | "nonMonotonicCounter"
  | "monotonicCounter"
  | "gauge"
  | "histogram"
  | "exponentialHistogram"
  | "summary";

/** How names are translated. */
export interface NamingOptions {
  /** Prefix of every metric name (joined with `_`); empty for none. */
  readonly namespace: string;
  /** Append unit and type suffixes (`_bytes`, `_total`, `_ratio`). */
  readonly withSuffixes: boolean;
  /** Keep names as they are instead of escaping them to the legacy character set. */
  readonly utf8Allowed: boolean;
}

const UNITS: Readonly<Record<string, string>> = {
  d: "days",
  h: "hours",
  min: "minutes",
  s: "seconds",
  ms: "milliseconds",
  us: "microseconds",
  ns: "nanoseconds",
  By: "bytes",
  KiBy: "kibibytes",
  MiBy: "mebibytes",
  GiBy: "gibibytes",
  TiBy: "tibibytes",
  KBy: "kilobytes",
  MBy: "megabytes",
  GBy: "gigabytes",
  TBy: "terabytes",
  m: "meters",
  V: "volts",
  A: "amperes",
  J: "joules",
  W: "watts",
  g: "grams",
  Cel: "celsius",
  Hz: "hertz",
  "1": "",
  "%": "percent",
};

const PER_UNITS: Readonly<Record<string, string>> = {
  s: "second",
  m: "minute",
  h: "hour",
  d: "day",
  w: "week",
  mo: "month",
  y: "year",
};

function isMetricChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 58;
}

function isLabelChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57);
}

function isDigit(s: string): boolean {
  const c = s.charCodeAt(0);
  return c >= 48 && c <= 57;
}

/** Splits `s` on runs of characters for which `keep` is false, dropping empty fields. */
function fields(s: string, keep: (c: number) => boolean): string[] {
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i < s.length; i++) {
    if (keep(s.charCodeAt(i))) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      out.push(s.slice(start, i));
      start = -1;
    }
  }
  if (start >= 0) out.push(s.slice(start));
  return out;
}

function onlyUnderscores(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s[i] !== "_") return false;
  return true;
}

/** The main and per-unit suffixes of an OTLP unit (`m/s` → `meters`, `per_second`). */
export function unitSuffixes(unit: string): { main: string; per: string } {
  const slash = unit.indexOf("/");
  const mainOtel = (slash < 0 ? unit : unit.slice(0, slash)).trim();
  let main = "";
  let per = "";
  if (mainOtel !== "" && !/[{}]/.test(mainOtel)) main = UNITS[mainOtel] ?? mainOtel;
  if (slash >= 0 && slash + 1 < unit.length) {
    const perOtel = unit.slice(slash + 1).trim();
    if (perOtel !== "" && !/[{}]/.test(perOtel)) per = PER_UNITS[perOtel] ?? perOtel;
    if (per !== "") per = "per_" + per;
  }
  return { main, per };
}

/** Invalid characters to `_`, runs of `_` collapsed, a leading `_` removed. */
function cleanUpUnit(unit: string): string {
  let out = "";
  let prevUnderscore = false;
  for (let i = 0; i < unit.length; i++) {
    const c = unit.charCodeAt(i);
    const ch = isMetricChar(c) ? unit[i]! : "_";
    if (ch === "_") {
      if (!prevUnderscore) out += "_";
      prevUnderscore = true;
    } else {
      out += ch;
      prevUnderscore = false;
    }
  }
  return out.startsWith("_") ? out.slice(1) : out;
}

function withoutItem(tokens: string[], value: string): string[] {
  return tokens.filter((t) => t !== value);
}

function normalizeName(name: string, unit: string, type: TranslatedType, namespace: string) {
  let tokens = fields(name, isMetricChar);
  const suffixes = unitSuffixes(unit);
  let main = cleanUpUnit(suffixes.main);
  let per = cleanUpUnit(suffixes.per);
  if (tokens.includes(main)) main = "";
  if (per === "per_") {
    per = "";
  } else {
    if (per.endsWith("_")) per = per.slice(0, -1);
    if (tokens.includes(per)) per = "";
  }
  if (per !== "" && main.endsWith("_")) main = main.slice(0, -1);
  if (main !== "") tokens.push(main);
  if (per !== "") tokens.push(per);
  if (type === "monotonicCounter") tokens = [...withoutItem(tokens, "total"), "total"];
  if (unit === "1" && type === "gauge") tokens = [...withoutItem(tokens, "ratio"), "ratio"];
  if (namespace !== "") tokens.unshift(namespace);
  const joined = tokens.join("_");
  return joined !== "" && isDigit(joined) ? "_" + joined : joined;
}

function trimSuffixAndDelimiter(name: string, suffix: string): string {
  return name.endsWith(suffix) && name.length > suffix.length + 1
    ? name.slice(0, name.length - suffix.length - 1)
    : name;
}

function utf8Name(input: string, unit: string, type: TranslatedType, o: NamingOptions): string {
  let name = o.namespace !== "" ? `${o.namespace}_${input}` : input;
  if (!o.withSuffixes) return name;
  const tail: string[] = [];
  if (unit === "1" && type === "gauge") {
    name = trimSuffixAndDelimiter(name, "ratio");
    tail.unshift("_ratio");
  }
  if (type === "monotonicCounter") {
    name = trimSuffixAndDelimiter(name, "total");
    tail.unshift("_total");
  }
  const { main, per } = unitSuffixes(unit);
  if (per !== "") {
    name = trimSuffixAndDelimiter(name, per);
    tail.unshift(`_${per}`);
  }
  if (main !== "" && !name.endsWith(main)) name = `${name}_${main}`;
  return name + tail.join("");
}

/**
 * The Prometheus name of an OTLP metric, or `undefined` when translation leaves no valid name
 * (empty, or only underscores).
 */
export function metricName(
  name: string,
  unit: string,
  type: TranslatedType,
  options: NamingOptions,
): string | undefined {
  if (options.utf8Allowed) return utf8Name(name, unit, type, options);
  let out: string;
  if (options.withSuffixes) {
    out = normalizeName(name, unit, type, options.namespace);
  } else {
    const base = fields(name, (c) => isMetricChar(c) || c === 95).join("_");
    if (options.namespace !== "") {
      out = fields(options.namespace, (c) => isMetricChar(c) || c === 95).join("_") + "_" + base;
    } else {
      out = base !== "" && isDigit(base) ? "_" + base : base;
    }
  }
  if (out === "") return undefined;
  if (out !== name && onlyUnderscores(out)) return undefined;
  return out;
}

/**
 * The Prometheus name of an attribute key, or `undefined` when none is valid (empty, or only
 * underscores).
 */
export function labelName(key: string, utf8Allowed: boolean): string | undefined {
  if (key === "") return undefined;
  if (utf8Allowed) return onlyUnderscores(key) ? undefined : key;
  let name = key;
  const reserved = name.length >= 4 && name.startsWith("__") && name.endsWith("__");
  if (reserved) name = name.slice(2, -2);
  let out = "";
  let prevUnderscore = false;
  for (const ch of name) {
    if (isLabelChar(ch.charCodeAt(0)) && ch.length === 1) {
      out += ch;
      prevUnderscore = false;
    } else if (!prevUnderscore) {
      out += "_";
      prevUnderscore = true;
    }
  }
  if (reserved) out = `__${out}__`;
  if (out === "") return undefined;
  if (isDigit(out)) out = "key_" + out;
  else if (out.startsWith("_") && !out.startsWith("__")) out = "key" + out;
  return onlyUnderscores(out) ? undefined : out;
}

/**
 * A name as the Prometheus client library escapes it for a scraper that did not ask for UTF-8
 * names (`escaping=underscores`): every character outside `[a-zA-Z_:]` (and digits after the
 * first character) becomes `_`.
 */
export function escapeName(name: string, label: boolean): string {
  let ok = name.length > 0;
  for (let i = 0; ok && i < name.length; i++) ok = legacyChar(name.charCodeAt(i), i, label);
  if (ok) return name;
  let out = "";
  let i = 0;
  for (const ch of name) {
    out += ch.length === 1 && legacyChar(ch.charCodeAt(0), i, label) ? ch : "_";
    i++;
  }
  return out;
}

function legacyChar(c: number, i: number, label: boolean): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || (!label && c === 58) ||
    (c >= 48 && c <= 57 && i > 0);
}
