/**
 * Time helpers for OTTL converters: strptime-style layouts (`%Y-%m-%dT%H:%M:%S%z`, as the
 * Collector's `Time` takes them), IANA zone offsets through `Intl`, and Go duration strings.
 *
 * @module
 */

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const MONTH_NAMES = [
  "january",
  "february",
  "march",
  "april",
  "may",
  "june",
  "july",
  "august",
  "september",
  "october",
  "november",
  "december",
];
const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const DAY_NAMES = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];

interface Parts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  nanos: number;
  pm: boolean | undefined;
  offsetMinutes: number | undefined;
  epochSeconds: number | undefined;
}

/** Validates a layout: true when every directive is supported. */
export function layoutError(layout: string): string | undefined {
  for (let i = 0; i < layout.length; i++) {
    if (layout[i] !== "%") continue;
    const d = layout[++i];
    if (
      d === undefined || !"YymodeHIpMSfLsbhBaAzZjcxX%FTDnt".includes(d) && !/[cCuUVwWgGr]/.test(d)
    ) {
      return `unsupported directive %${d ?? ""}`;
    }
    if (!"YymodeHIpMSfLsbhBaAzZj%FTDnt".includes(d)) return `unsupported directive %${d}`;
  }
  return undefined;
}

function num(s: string, i: number, min: number, max: number): [number, number] | undefined {
  let j = i;
  while (j < s.length && j - i < max && s[j]! >= "0" && s[j]! <= "9") j++;
  if (j - i < min) return undefined;
  return [Number(s.slice(i, j)), j];
}

function word(s: string, i: number, list: readonly string[]): [number, number] | undefined {
  const rest = s.slice(i).toLowerCase();
  let best = -1, len = 0;
  list.forEach((w, k) => {
    if (rest.startsWith(w) && w.length > len) {
      best = k;
      len = w.length;
    }
  });
  return best < 0 ? undefined : [best, i + len];
}

/**
 * Parses `s` with a strptime layout. Returns Unix nanoseconds, or an error message. Without a zone
 * in the value, `zone` (IANA name, default UTC) gives the offset.
 */
export function parseTime(s: string, layout: string, zone: string | undefined): bigint | string {
  const p: Parts = {
    year: 1970,
    month: 1,
    day: 1,
    hour: 0,
    minute: 0,
    second: 0,
    nanos: 0,
    pm: undefined,
    offsetMinutes: undefined,
    epochSeconds: undefined,
  };
  const expanded = layout.replace(/%F/g, "%Y-%m-%d").replace(/%T/g, "%H:%M:%S").replace(
    /%D/g,
    "%m/%d/%y",
  );
  let i = 0;
  const fail = () => `cannot parse "${s}" as "${layout}"`;
  for (let k = 0; k < expanded.length; k++) {
    const c = expanded[k]!;
    if (c !== "%") {
      if (s[i] !== c) return fail();
      i++;
      continue;
    }
    const d = expanded[++k]!;
    let r: [number, number] | undefined;
    switch (d) {
      case "Y":
        r = num(s, i, 4, 4);
        if (r) p.year = r[0];
        break;
      case "y":
        r = num(s, i, 2, 2);
        if (r) p.year = r[0] + (r[0] < 69 ? 2000 : 1900);
        break;
      case "m":
        r = num(s, i, 1, 2);
        if (r) p.month = r[0];
        break;
      case "d":
      case "e":
        if (d === "e" && s[i] === " ") i++;
        r = num(s, i, 1, 2);
        if (r) p.day = r[0];
        break;
      case "H":
      case "I":
        r = num(s, i, 1, 2);
        if (r) p.hour = r[0];
        break;
      case "M":
        r = num(s, i, 1, 2);
        if (r) p.minute = r[0];
        break;
      case "S":
        r = num(s, i, 1, 2);
        if (r) p.second = r[0];
        break;
      case "f":
      case "L": {
        r = num(s, i, 1, 9);
        if (r) p.nanos = Number((s.slice(i, r[1]) + "000000000").slice(0, 9));
        break;
      }
      case "s":
        r = num(s, i, 1, 19);
        if (r) p.epochSeconds = r[0];
        break;
      case "j":
        r = num(s, i, 1, 3);
        if (r) {
          p.month = 1;
          p.day = r[0];
        }
        break;
      case "p": {
        const m = /^(am|pm)/i.exec(s.slice(i));
        if (m) {
          p.pm = m[1]!.toLowerCase() === "pm";
          r = [0, i + 2];
        }
        break;
      }
      case "b":
      case "h":
        r = word(s, i, MONTHS);
        if (r) p.month = r[0] + 1;
        break;
      case "B":
        r = word(s, i, MONTH_NAMES);
        if (r) p.month = r[0] + 1;
        break;
      case "a":
        r = word(s, i, DAYS);
        break;
      case "A":
        r = word(s, i, DAY_NAMES);
        break;
      case "z": {
        const m = /^(Z|([+-])(\d{2}):?(\d{2}))/.exec(s.slice(i));
        if (m) {
          p.offsetMinutes = m[1] === "Z"
            ? 0
            : (m[2] === "-" ? -1 : 1) * (Number(m[3]) * 60 + Number(m[4]));
          r = [0, i + m[0].length];
        }
        break;
      }
      case "Z": {
        const m = /^[A-Za-z]+/.exec(s.slice(i));
        if (m) {
          if (m[0] === "UTC" || m[0] === "GMT" || m[0] === "Z") p.offsetMinutes = 0;
          r = [0, i + m[0].length];
        }
        break;
      }
      case "n":
      case "t": {
        let j = i;
        while (j < s.length && /\s/.test(s[j]!)) j++;
        r = [0, j];
        break;
      }
      case "%":
        if (s[i] === "%") r = [0, i + 1];
        break;
    }
    if (r === undefined) return fail();
    i = r[1];
  }
  if (i !== s.length) return fail();
  if (p.epochSeconds !== undefined) {
    return BigInt(p.epochSeconds) * 1_000_000_000n + BigInt(p.nanos);
  }
  if (p.pm !== undefined) {
    if (p.hour < 1 || p.hour > 12) return fail();
    if (p.pm && p.hour !== 12) p.hour += 12;
    if (!p.pm && p.hour === 12) p.hour = 0;
  }
  if (
    p.month < 1 || p.month > 12 || p.day < 1 || p.day > 366 || p.hour > 23 || p.minute > 59 ||
    p.second > 60
  ) {
    return fail();
  }
  const local = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  let offsetMs: number;
  if (p.offsetMinutes !== undefined) offsetMs = p.offsetMinutes * 60_000;
  else {
    const o = zoneOffsetMs(zone ?? "UTC", local);
    if (typeof o === "string") return o;
    offsetMs = o;
  }
  return BigInt(local - offsetMs) * 1_000_000n + BigInt(p.nanos);
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The offset of `zone` at the local wall time `localMs` (as if UTC), in ms; or an error. */
export function zoneOffsetMs(zone: string, localMs: number): number | string {
  if (zone === "UTC" || zone === "") return 0;
  let f = formatters.get(zone);
  if (f === undefined) {
    try {
      f = new Intl.DateTimeFormat("en-US", {
        timeZone: zone === "Local" ? undefined : zone,
        hourCycle: "h23",
        year: "numeric",
        month: "numeric",
        day: "numeric",
        hour: "numeric",
        minute: "numeric",
        second: "numeric",
      });
    } catch {
      return `unknown time zone "${zone}"`;
    }
    formatters.set(zone, f);
  }
  const offsetAt = (utc: number) => {
    const parts: Record<string, number> = {};
    for (const part of f!.formatToParts(new Date(utc))) {
      if (part.type !== "literal") parts[part.type] = Number(part.value);
    }
    const asUtc = Date.UTC(
      parts.year!,
      parts.month! - 1,
      parts.day!,
      parts.hour!,
      parts.minute!,
      parts.second!,
    );
    return asUtc - Math.floor(utc / 1000) * 1000;
  };
  const first = offsetAt(localMs);
  return offsetAt(localMs - first);
}

/** True when the zone name is usable. */
export function zoneError(zone: string): string | undefined {
  const r = zoneOffsetMs(zone, 0);
  return typeof r === "string" ? r : undefined;
}

const UNITS: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  "µs": 1e3,
  "μs": 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Parses a Go duration string (`1h30m`, `-1.5s`, `300ms`) to nanoseconds; undefined when invalid. */
export function parseGoDuration(s: string): bigint | undefined {
  let i = 0;
  let sign = 1;
  if (s[0] === "-" || s[0] === "+") {
    sign = s[0] === "-" ? -1 : 1;
    i++;
  }
  if (s.slice(i) === "0") return 0n;
  if (i >= s.length) return undefined;
  let total = 0;
  while (i < s.length) {
    const m = /^(\d*\.?\d*)([a-zµμ]+)/.exec(s.slice(i));
    if (m === null || m[1] === "" || m[1] === ".") return undefined;
    const unit = UNITS[m[2]!];
    if (unit === undefined) return undefined;
    total += Number(m[1]) * unit;
    i += m[0].length;
  }
  return BigInt(Math.round(sign * total));
}
