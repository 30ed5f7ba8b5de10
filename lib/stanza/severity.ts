/**
 * Severity parsing, as the Collector's `severity` blocks and `severity_parser` operator do it: a
 * `preset` (`default`: the 24 level names, `trace` … `fatal4`, case-insensitive; or `none`) plus a
 * `mapping` from level names to values, lists of values, ranges (`{min, max}`) and HTTP status
 * classes (`2xx` … `5xx`). The severity text is the value as found, or the level's short name
 * (`ERROR`, `INFO3`) with `overwrite_text`.
 *
 * @module
 */

/** Level names and their OTLP severity numbers. */
export const SEVERITY_LEVELS: Readonly<Record<string, number>> = (() => {
  const out: Record<string, number> = { default: 0 };
  ["trace", "debug", "info", "warn", "error", "fatal"].forEach((name, i) => {
    out[name] = i * 4 + 1;
    for (let k = 2; k <= 4; k++) out[`${name}${k}`] = i * 4 + k;
  });
  return out;
})();

const SHORT_NAMES: readonly string[] = Object.entries(SEVERITY_LEVELS)
  .sort((a, b) => a[1] - b[1])
  .map(([name]) => name === "default" ? "" : name.toUpperCase());

/** A mapping value: one value, a range, or a list of those. */
export type SeverityMappingValue =
  | string
  | number
  | { min: number; max: number }
  | (string | number | { min: number; max: number })[];

/** The settings of a severity parse. */
export interface SeveritySettings {
  /** `default` or `none`. @default "default" */
  readonly preset?: string | undefined;
  /** Level name → values. */
  readonly mapping?: Readonly<Record<string, SeverityMappingValue>> | undefined;
  /** Sets the text to the level's short name. @default false */
  readonly overwrite_text?: boolean | undefined;
}

/** The outcome of a severity parse. */
export interface ParsedSeverity {
  readonly number: number;
  readonly text: string;
}

const HTTP_CLASS = /^([2-5])xx$/;

/** Compiles a severity mapping; throws an Error for unknown level names or presets. */
export function compileSeverity(settings: SeveritySettings): (value: unknown) => ParsedSeverity {
  const preset = settings.preset ?? "default";
  if (preset !== "default" && preset !== "none") {
    throw new Error(`Unknown severity preset "${preset}": use default or none`);
  }
  const exact = new Map<string, number>();
  const ranges: { min: number; max: number; level: number }[] = [];
  if (preset === "default") {
    for (const [name, level] of Object.entries(SEVERITY_LEVELS)) {
      if (name !== "default") exact.set(name, level);
    }
  }
  for (const [name, values] of Object.entries(settings.mapping ?? {})) {
    const level = SEVERITY_LEVELS[name.toLowerCase()];
    if (level === undefined) throw new Error(`Unknown severity level "${name}" in mapping`);
    for (const v of Array.isArray(values) ? values : [values]) {
      if (typeof v === "object") ranges.push({ min: v.min, max: v.max, level });
      else {
        const s = String(v).toLowerCase();
        const m = HTTP_CLASS.exec(s);
        if (m !== null) {
          const base = Number(m[1]) * 100;
          ranges.push({ min: base, max: base + 99, level });
        } else exact.set(s, level);
      }
    }
  }
  const overwrite = settings.overwrite_text === true;
  return (value) => {
    const text = typeof value === "string" ? value : String(value);
    let level = exact.get(text.toLowerCase());
    if (level === undefined && ranges.length > 0) {
      const n = typeof value === "number" || typeof value === "bigint"
        ? Number(value)
        : /^-?\d+$/.test(text)
        ? Number(text)
        : NaN;
      if (!Number.isNaN(n)) {
        for (const r of ranges) {
          if (n >= r.min && n <= r.max) {
            level = r.level;
            break;
          }
        }
      }
    }
    const number = level ?? 0;
    return { number, text: overwrite ? SHORT_NAMES[number]! : text };
  };
}
