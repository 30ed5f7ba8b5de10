/**
 * Include/exclude match properties, as the OpenTelemetry Collector's `filterconfig`: which spans,
 * log records or metrics a processor acts on. Within one set of properties every property given
 * must match (and); within a list of names any entry may match (or); every listed attribute and
 * resource attribute must match. `strict` compares exactly; `regexp` patterns are unanchored,
 * as Go's `MatchString`. Everything is compiled once, when the processor is created.
 *
 * @module
 */
import { z } from "../config/z.js";
import { indexOfAttribute } from "../pdata/attributes.ts";
import type {
  AnyValue,
  InstrumentationScope,
  KeyValue,
  LogRecord,
  Metric,
  Resource,
  Signal,
  Span,
} from "../pdata/types.ts";
import { compileRegex, regexError } from "./regex.ts";
import { anyValueEquals, configValueToAnyValue, valueAsString } from "./value.ts";

/** Span kind names as the Collector writes them in `span_kinds`, by OTLP number. */
export const SPAN_KIND_NAMES: readonly string[] = [
  "SPAN_KIND_UNSPECIFIED",
  "SPAN_KIND_INTERNAL",
  "SPAN_KIND_SERVER",
  "SPAN_KIND_CLIENT",
  "SPAN_KIND_PRODUCER",
  "SPAN_KIND_CONSUMER",
];

const SEVERITY_BASE: Readonly<Record<string, number>> = {
  trace: 1,
  debug: 5,
  info: 9,
  warn: 13,
  error: 17,
  fatal: 21,
};

/** A severity number from a name (`info`, `WARN3`, …) or a number 0–24; undefined if neither. */
export function parseSeverityNumber(value: string | number): number | undefined {
  if (typeof value === "number") {
    return Number.isInteger(value) && value >= 0 && value <= 24 ? value : undefined;
  }
  const m = /^([a-z]+)([234])?$/.exec(value.trim().toLowerCase());
  const base = m === null ? undefined : SEVERITY_BASE[m[1]!];
  return base === undefined ? undefined : base + (m![2] === undefined ? 0 : Number(m![2]) - 1);
}

const keyValueSchema = z.strictObject({
  key: z.string().min(1),
  /** Without a value, the key only has to be present. */
  value: z.unknown().optional(),
});

const nameList = z.array(z.string()).optional();

/** One `include` or `exclude` block. */
export const matchPropertiesSchema = z
  .strictObject({
    match_type: z.enum(["strict", "regexp"], { message: 'must be "strict" or "regexp"' }),
    /** Accepted for config compatibility; tfo compiles regexes once and needs no cache. */
    regexp: z
      .strictObject({
        cacheenabled: z.boolean().default(false),
        cachemaxnumentries: z.number().int().nonnegative().default(0),
      })
      .optional(),
    services: nameList,
    span_names: nameList,
    span_kinds: nameList,
    log_bodies: nameList,
    log_severity_texts: nameList,
    log_severity_number: z
      .strictObject({
        min: z.union([z.number(), z.string()]),
        match_undefined: z.boolean().default(false),
      })
      .optional(),
    metric_names: nameList,
    attributes: z.array(keyValueSchema).optional(),
    resources: z.array(keyValueSchema).optional(),
    libraries: z
      .array(z.strictObject({ name: z.string(), version: z.string().optional() }))
      .optional(),
  })
  .superRefine((mp, ctx) => {
    const issue = (path: (string | number)[], message: string) =>
      ctx.addIssue({ code: "custom", path, message });
    const regexp = mp.match_type === "regexp";
    const lists = [
      "services",
      "span_names",
      "span_kinds",
      "log_bodies",
      "log_severity_texts",
      "metric_names",
    ] as const;
    const given = [...lists, "attributes", "resources", "libraries", "log_severity_number"]
      .filter((k) => mp[k as keyof typeof mp] !== undefined);
    if (given.length === 0) {
      issue(
        [],
        `at least one of ${
          [...lists, "attributes", "resources", "libraries"].join(", ")
        } must be given`,
      );
    }
    if (mp.regexp !== undefined && !regexp) {
      issue(["regexp"], 'applies only to match_type "regexp"');
    }
    const checkPattern = (path: (string | number)[], pattern: string) => {
      const error = regexError(pattern);
      if (error !== undefined) issue(path, `is not a valid regular expression: ${error}`);
    };
    for (const k of lists) {
      mp[k]?.forEach((name, i) => {
        if (regexp) checkPattern([k, i], name);
        else if (k === "span_kinds" && !SPAN_KIND_NAMES.includes(name)) {
          issue([k, i], `must be one of ${SPAN_KIND_NAMES.join(", ")}`);
        }
      });
    }
    for (const k of ["attributes", "resources"] as const) {
      mp[k]?.forEach((kv, i) => {
        if (kv.value === undefined || kv.value === null) return;
        if (regexp) {
          if (typeof kv.value !== "string") {
            issue([k, i, "value"], 'must be a string with match_type "regexp"');
          } else checkPattern([k, i, "value"], kv.value);
        } else {
          const r = configValueToAnyValue(kv.value);
          if ("error" in r) issue([k, i, "value"], r.error);
        }
      });
    }
    mp.libraries?.forEach((lib, i) => {
      if (!regexp) return;
      checkPattern(["libraries", i, "name"], lib.name);
      if (lib.version !== undefined) checkPattern(["libraries", i, "version"], lib.version);
    });
    if (
      mp.log_severity_number !== undefined &&
      parseSeverityNumber(mp.log_severity_number.min) === undefined
    ) {
      issue(["log_severity_number", "min"], "must be a severity name (INFO, WARN2, …) or 0–24");
    }
  });

/** One validated `include` or `exclude` block. */
export type MatchProperties = z.output<typeof matchPropertiesSchema>;

/** A compiled `include` or `exclude` block. Each method is true when its properties match. */
export interface Matcher {
  /** `services` and `resources`. */
  resource(resource: Resource): boolean;
  /** `libraries`. */
  scope(scope: InstrumentationScope): boolean;
  /** `span_names`, `span_kinds`, `attributes`. */
  span(span: Span): boolean;
  /** `log_bodies`, `log_severity_texts`, `log_severity_number`, `attributes`. */
  log(record: LogRecord): boolean;
  /** `metric_names`. */
  metric(metric: Metric): boolean;
  /** `attributes` alone (metric data points). */
  attributes(attributes: readonly KeyValue[]): boolean;
}

type StringMatch = (s: string) => boolean;
type AttributesMatch = (attributes: readonly KeyValue[]) => boolean;

const ALWAYS = () => true;

function stringMatcher(
  names: readonly string[] | undefined,
  regexp: boolean,
): StringMatch | undefined {
  if (names === undefined) return undefined;
  if (!regexp) {
    const set = new Set(names);
    return (s) => set.has(s);
  }
  const res = names.map(compileRegex);
  return (s) => {
    for (const re of res) if (re.test(s)) return true;
    return false;
  };
}

/** The string form a regexp attribute match sees: primitives only, as the Collector. */
function matchableString(value: AnyValue): string | undefined {
  switch (typeof value) {
    case "string":
      return value;
    case "boolean":
    case "bigint":
    case "number":
      return valueAsString(value);
    default:
      return undefined;
  }
}

function attributesMatcher(
  list: MatchProperties["attributes"],
  regexp: boolean,
): AttributesMatch | undefined {
  if (list === undefined || list.length === 0) return undefined;
  const checks = list.map(({ key, value }): AttributesMatch => {
    if (value === undefined || value === null) return (attrs) => indexOfAttribute(attrs, key) >= 0;
    if (regexp) {
      const re = compileRegex(value as string);
      return (attrs) => {
        const i = indexOfAttribute(attrs, key);
        if (i < 0) return false;
        const s = matchableString(attrs[i]!.value);
        return s !== undefined && re.test(s);
      };
    }
    const r = configValueToAnyValue(value);
    const expected = "value" in r ? r.value : undefined;
    return (attrs) => {
      const i = indexOfAttribute(attrs, key);
      return i >= 0 && anyValueEquals(attrs[i]!.value, expected);
    };
  });
  return (attrs) => {
    for (const check of checks) if (!check(attrs)) return false;
    return true;
  };
}

const SIGNAL_ONLY: Readonly<Record<string, Signal>> = {
  span_names: "traces",
  span_kinds: "traces",
  log_bodies: "logs",
  log_severity_texts: "logs",
  log_severity_number: "logs",
  metric_names: "metrics",
};

/**
 * Compiles one block for one signal. Throws when the block names a property of another signal
 * (`span_names` in a logs pipeline, for example), as the Collector does.
 */
export function compileMatcher(mp: MatchProperties, signal: Signal): Matcher {
  for (const [key, only] of Object.entries(SIGNAL_ONLY)) {
    if (mp[key as keyof MatchProperties] !== undefined && only !== signal) {
      throw new Error(`"${key}" applies to ${only} only and cannot match ${signal}`);
    }
  }
  const regexp = mp.match_type === "regexp";
  const services = stringMatcher(mp.services, regexp);
  const resources = attributesMatcher(mp.resources, regexp);
  const spanNames = stringMatcher(mp.span_names, regexp);
  const spanKinds = stringMatcher(mp.span_kinds, regexp);
  const bodies = stringMatcher(mp.log_bodies, regexp);
  const severityTexts = stringMatcher(mp.log_severity_texts, regexp);
  const severity = mp.log_severity_number;
  const minSeverity = severity === undefined ? 0 : parseSeverityNumber(severity.min)!;
  const metricNames = stringMatcher(mp.metric_names, regexp);
  const attributes = attributesMatcher(mp.attributes, regexp);
  const libraries = mp.libraries?.map((lib) => ({
    name: stringMatcher([lib.name], regexp)!,
    version: lib.version === undefined ? undefined : stringMatcher([lib.version], regexp)!,
  }));

  return {
    resource: services === undefined && resources === undefined ? ALWAYS : (r) => {
      if (services !== undefined) {
        const i = indexOfAttribute(r.attributes, "service.name");
        const name = i < 0 ? "" : r.attributes[i]!.value;
        if (!services(typeof name === "string" ? name : "")) return false;
      }
      return resources === undefined || resources(r.attributes);
    },
    scope: libraries === undefined ? ALWAYS : (s) => {
      for (const lib of libraries) {
        if (lib.name(s.name) && (lib.version === undefined || lib.version(s.version))) return true;
      }
      return false;
    },
    span: (s) =>
      (spanNames === undefined || spanNames(s.name)) &&
      (spanKinds === undefined || spanKinds(SPAN_KIND_NAMES[s.kind] ?? "")) &&
      (attributes === undefined || attributes(s.attributes)),
    log: (r) =>
      (bodies === undefined || bodies(valueAsString(r.body))) &&
      (severityTexts === undefined || severityTexts(r.severityText)) &&
      (severity === undefined ||
        (r.severityNumber === 0 ? severity.match_undefined : r.severityNumber >= minSeverity)) &&
      (attributes === undefined || attributes(r.attributes)),
    metric: (m) => metricNames === undefined || metricNames(m.name),
    attributes: attributes ?? ALWAYS,
  };
}
