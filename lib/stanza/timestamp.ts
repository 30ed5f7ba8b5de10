/**
 * Timestamp parsing, as the Collector's `timestamp` blocks and `time_parser` operator do it:
 * `layout_type` `strptime` (default), `gotime` or `epoch`, and a `location` (IANA zone name,
 * `Local` by default, `UTC`) for times that carry no zone of their own. A time without a year gets
 * the current one, as the Collector's does.
 *
 * @module
 */
import {
  compileGoLayout,
  compileStrptime,
  parseTimeParts,
  type TimeParts,
  type TimeToken,
} from "./_time_layout.ts";

/** The settings of a timestamp parse. */
export interface TimestampSettings {
  /** `strptime`, `gotime` or `epoch`. @default "strptime" */
  readonly layout_type?: "strptime" | "gotime" | "epoch" | undefined;
  /** The layout; for `epoch` one of `s`, `ms`, `us`, `ns`, `s.ms`, `s.us`, `s.ns`. */
  readonly layout: string;
  /** The zone for times without one. @default "Local" */
  readonly location?: string | undefined;
}

/** Parses a value into Unix nanoseconds; throws an Error when it does not fit. */
export type TimestampParser = (value: unknown) => bigint;

const EPOCH_UNITS: Readonly<Record<string, bigint>> = {
  s: 1_000_000_000n,
  ms: 1_000_000n,
  us: 1_000n,
  ns: 1n,
  "s.ms": 1_000_000_000n,
  "s.us": 1_000_000_000n,
  "s.ns": 1_000_000_000n,
};

function epochParser(layout: string): TimestampParser {
  const unit = EPOCH_UNITS[layout];
  if (unit === undefined) {
    throw new Error(`Invalid epoch layout "${layout}": use s, ms, us, ns, s.ms, s.us or s.ns`);
  }
  return (value) => {
    let text: string;
    if (typeof value === "bigint") return value * unit;
    if (typeof value === "number") text = value.toFixed(9);
    else if (typeof value === "string") text = value.trim();
    else throw new Error(`Cannot parse ${typeof value} as an epoch time`);
    const m = /^(-?\d+)(?:\.(\d*))?$/.exec(text);
    if (m === null) throw new Error(`Invalid epoch time "${text}"`);
    let ns = BigInt(m[1]!) * unit;
    const frac = m[2] ?? "";
    if (frac !== "" && unit > 1n) {
      const digits = unit.toString().length - 1;
      const f = frac.slice(0, digits).padEnd(digits, "0");
      ns += (m[1]!.startsWith("-") ? -1n : 1n) * BigInt(f);
    }
    return ns;
  };
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The offset of a zone from UTC at an instant, in milliseconds. */
function zoneOffsetMs(zone: string, utcMs: number): number {
  let f = formatters.get(zone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(zone, f);
  }
  const parts: Record<string, number> = {};
  for (const p of f.formatToParts(new Date(utcMs))) {
    if (p.type !== "literal") parts[p.type] = Number(p.value);
  }
  const asUtc = utcFields(
    parts.year!,
    parts.month!,
    parts.day!,
    parts.hour!,
    parts.minute!,
    parts.second!,
  );
  return asUtc - Math.floor(utcMs / 1000) * 1000;
}

function utcFields(y: number, mo: number, d: number, h: number, mi: number, s: number): number {
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi, s, 0);
  return date.getTime();
}

/** Checks that a location name is usable; throws an Error otherwise. */
export function checkLocation(location: string): void {
  if (location === "Local" || location === "UTC") return;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: location });
  } catch {
    throw new Error(`Unknown location "${location}": use an IANA zone such as "America/New_York"`);
  }
}

function toUnixNanos(p: TimeParts, location: string): bigint {
  let year = p.year;
  if (year === undefined) year = new Date().getFullYear();
  let month = p.month;
  let day = p.day;
  if (p.yday !== undefined) {
    const d = new Date(utcFields(year, 1, p.yday, 0, 0, 0));
    month = d.getUTCMonth() + 1;
    day = d.getUTCDate();
  }
  const naive = utcFields(year, month, day, p.hour, p.minute, p.second);
  let ms: number;
  if (p.offset !== undefined) ms = naive - p.offset * 1000;
  else {
    const zone = p.zoneName !== undefined && isZone(p.zoneName) ? p.zoneName : location;
    if (zone === "UTC") ms = naive;
    else if (zone === "Local") {
      const local = new Date(0);
      local.setFullYear(year, month - 1, day);
      local.setHours(p.hour, p.minute, p.second, 0);
      ms = local.getTime();
    } else {
      ms = naive - zoneOffsetMs(zone, naive);
      const again = naive - zoneOffsetMs(zone, ms);
      if (again !== ms) ms = again;
    }
  }
  return BigInt(ms) * 1_000_000n + BigInt(p.nanos);
}

function isZone(name: string): boolean {
  try {
    checkLocation(name);
    return true;
  } catch {
    return false;
  }
}

/** Compiles a timestamp parser; throws an Error for a bad layout or location. */
export function compileTimestamp(settings: TimestampSettings): TimestampParser {
  const type = settings.layout_type ?? "strptime";
  if (type === "epoch") return epochParser(settings.layout);
  const location = settings.location ?? "Local";
  checkLocation(location);
  const tokens: TimeToken[] = type === "gotime"
    ? compileGoLayout(settings.layout)
    : compileStrptime(settings.layout);
  return (value) => {
    if (typeof value !== "string") {
      throw new Error(`Cannot parse a ${typeof value} as a timestamp with layout`);
    }
    try {
      return toUnixNanos(parseTimeParts(tokens, value), location);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`Cannot parse "${value}" with layout "${settings.layout}": ${reason}`);
    }
  };
}
