/**
 * Index names of the `opensearch` exporter, as the contrib exporter resolves them:
 *
 * - No `<signal>_index`: `ss4o_<signal>-<dataset>-<namespace>`.
 * - Otherwise each `%{key}` of the pattern becomes, per log record or span, the value of attribute
 *   `key` of the item, else of its scope (`scope.name` and `scope.version` too), else of its
 *   resource; when none has it (or it is empty), `<signal>_index_fallback`, else `unknown`.
 * - `<signal>_index_time_format` appends `-` and the current UTC time in a Java-style format
 *   (`yyyy`, `yy`, `MM`, `dd`, `HH`, `mm`, `ss`).
 *
 * @module
 */
import { anyValueToString, indexOfAttribute } from "../../../lib/pdata/attributes.ts";
import type { InstrumentationScope, KeyValue } from "../../../lib/pdata/types.ts";

const PLACEHOLDER = /%\{([^}]+)\}/g;

/** Formats `date` (UTC) with a Java-style pattern. */
export function formatTime(format: string, date: Date): string {
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  const year = String(date.getUTCFullYear());
  return format.replace(/yyyy|yy|MM|dd|HH|mm|ss/g, (token) => {
    switch (token) {
      case "yyyy":
        return year;
      case "yy":
        return year.slice(-2);
      case "MM":
        return pad(date.getUTCMonth() + 1);
      case "dd":
        return pad(date.getUTCDate());
      case "HH":
        return pad(date.getUTCHours());
      case "mm":
        return pad(date.getUTCMinutes());
      default:
        return pad(date.getUTCSeconds());
    }
  });
}

/** What an index pattern is resolved against. */
export interface IndexSource {
  readonly item: readonly KeyValue[];
  readonly scope: InstrumentationScope;
  readonly resource: readonly KeyValue[];
}

/** Resolves the index of one signal's items. */
export interface IndexResolver {
  /** True when the name is the same for every item (no placeholders): resolve once per request. */
  readonly constant: boolean;
  /** The time suffix of a request (`-2024.06.07`, or ""), computed once per request. */
  suffix(): string;
  /** The index of an item, given the request's suffix. */
  resolve(source: IndexSource, suffix: string): string;
}

function attributeString(attributes: readonly KeyValue[], key: string): string | undefined {
  const i = indexOfAttribute(attributes, key);
  if (i < 0) return undefined;
  const value = anyValueToString(attributes[i]!.value);
  return value === "" ? undefined : value;
}

function scopeValue(scope: InstrumentationScope, key: string): string | undefined {
  if (key === "scope.name" && scope.name !== "") return scope.name;
  if (key === "scope.version" && scope.version !== "") return scope.version;
  return attributeString(scope.attributes, key);
}

/**
 * A resolver for one signal.
 * @param type `logs` or `traces` (the default name's `ss4o_<type>` prefix)
 * @param now the clock of the time suffix
 */
export function indexResolver(
  type: "logs" | "traces",
  options: {
    readonly pattern: string;
    readonly fallback: string;
    readonly timeFormat: string;
    readonly dataset: string;
    readonly namespace: string;
  },
  now: () => Date = () => new Date(),
): IndexResolver {
  const suffix = () => options.timeFormat === "" ? "" : `-${formatTime(options.timeFormat, now())}`;
  if (options.pattern === "") {
    const base = `ss4o_${type}-${options.dataset}-${options.namespace}`;
    return { constant: true, suffix, resolve: (_, s) => base + s };
  }
  const hasPlaceholder = new RegExp(PLACEHOLDER.source).test(options.pattern);
  const missing = options.fallback === "" ? "unknown" : options.fallback;
  if (!hasPlaceholder) return { constant: true, suffix, resolve: (_, s) => options.pattern + s };
  return {
    constant: false,
    suffix,
    resolve(source, s) {
      const name = options.pattern.replace(
        PLACEHOLDER,
        (_, key: string) =>
          attributeString(source.item, key) ?? scopeValue(source.scope, key) ??
            attributeString(source.resource, key) ?? missing,
      );
      return name + s;
    },
  };
}
