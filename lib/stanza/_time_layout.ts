/**
 * Time layouts compiled to a token list, from strptime directives or Go reference layouts, and a
 * parser over it. Private to the timestamp operator.
 *
 * @module
 */

/** One piece of a layout. */
export type TimeToken =
  | { t: "lit"; s: string }
  | {
    t:
      | "Y"
      | "y"
      | "m" // month, 1-2 digits
      | "b" // month name, abbreviated or full
      | "d" // day, 1-2 digits (space padding allowed)
      | "a" // weekday name, abbreviated or full (checked loosely, ignored)
      | "H" // hour 0-24
      | "I" // hour 1-12
      | "p" // AM/PM
      | "M"
      | "S"
      | "frac" // fractional seconds digits
      | "Z" // zone abbreviation
      | "z" // numeric offset, or Z
      | "j"; // day of year, 3 digits
  };

const STRPTIME: Readonly<Record<string, TimeToken["t"] | string>> = {
  Y: "Y",
  y: "y",
  m: "m",
  o: "m",
  q: "m",
  b: "b",
  h: "b",
  B: "b",
  d: "d",
  e: "d",
  g: "d",
  a: "a",
  A: "a",
  H: "H",
  k: "H",
  I: "I",
  l: "I",
  p: "p",
  P: "p",
  M: "M",
  S: "S",
  L: "frac",
  f: "frac",
  s: "frac",
  N: "frac",
  Z: "Z",
  z: "z",
  i: "z",
  j: "z",
  J: "j",
  D: "%m/%d/%y",
  F: "%Y-%m-%d",
  T: "%H:%M:%S",
  r: "%I:%M:%S %p",
  c: "%a %b %d %H:%M:%S %Y",
  R: "%H:%M",
  n: "\n",
  t: "\t",
  "%": "%",
};

function pushLit(out: TimeToken[], s: string): void {
  const last = out[out.length - 1];
  if (last !== undefined && last.t === "lit") last.s += s;
  else out.push({ t: "lit", s });
}

/** Compiles a strptime layout (`%Y-%m-%d %H:%M:%S.%L %z`). */
export function compileStrptime(layout: string, out: TimeToken[] = []): TimeToken[] {
  for (let i = 0; i < layout.length; i++) {
    const c = layout[i]!;
    if (c !== "%") {
      pushLit(out, c);
      continue;
    }
    const d = layout[++i];
    const what = d === undefined ? undefined : STRPTIME[d];
    if (what === undefined) throw new Error(`Unsupported strptime directive "%${d ?? ""}"`);
    if (what.length === 1 && !/[A-Za-z]/.test(what)) pushLit(out, what);
    else if (what.includes("%") || what === "\n" || what === "\t") {
      if (what.includes("%")) compileStrptime(what, out);
      else pushLit(out, what);
    } else out.push({ t: what as Exclude<TimeToken["t"], "lit"> });
  }
  return out;
}

/** Go layout elements, longest first so prefixes do not shadow them. */
const GO: readonly [string, TimeToken][] = [
  ["January", { t: "b" }],
  ["Monday", { t: "a" }],
  ["2006", { t: "Y" }],
  ["Z07:00:00", { t: "z" }],
  ["-07:00:00", { t: "z" }],
  ["Z07:00", { t: "z" }],
  ["-07:00", { t: "z" }],
  ["Z0700", { t: "z" }],
  ["-0700", { t: "z" }],
  ["Z07", { t: "z" }],
  ["-07", { t: "z" }],
  ["MST", { t: "Z" }],
  ["Jan", { t: "b" }],
  ["Mon", { t: "a" }],
  ["002", { t: "j" }],
  ["__2", { t: "j" }],
  ["01", { t: "m" }],
  ["02", { t: "d" }],
  ["_2", { t: "d" }],
  ["03", { t: "I" }],
  ["04", { t: "M" }],
  ["05", { t: "S" }],
  ["06", { t: "y" }],
  ["15", { t: "H" }],
  ["PM", { t: "p" }],
  ["pm", { t: "p" }],
  ["1", { t: "m" }],
  ["2", { t: "d" }],
  ["3", { t: "I" }],
  ["4", { t: "M" }],
  ["5", { t: "S" }],
];

/** Compiles a Go reference layout (`2006-01-02T15:04:05.999999999Z07:00`). */
export function compileGoLayout(layout: string): TimeToken[] {
  const out: TimeToken[] = [];
  let i = 0;
  outer: while (i < layout.length) {
    const c = layout[i]!;
    if ((c === "." || c === ",") && (layout[i + 1] === "0" || layout[i + 1] === "9")) {
      let j = i + 1;
      while (layout[j] === layout[i + 1]) j++;
      if (!/[0-9]/.test(layout[j] ?? "")) {
        pushLit(out, c);
        out.push({ t: "frac" });
        i = j;
        continue;
      }
    }
    for (const [name, token] of GO) {
      if (layout.startsWith(name, i)) {
        out.push(token);
        i += name.length;
        continue outer;
      }
    }
    pushLit(out, c);
    i++;
  }
  return out;
}

const MONTHS = [
  "jan",
  "feb",
  "mar",
  "apr",
  "may",
  "jun",
  "jul",
  "aug",
  "sep",
  "oct",
  "nov",
  "dec",
];
const MONTH_FULL = [
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
const DAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];

/** Zone abbreviations with a fixed offset in seconds. Others fall back to the location. */
const ZONES: Readonly<Record<string, number>> = {
  UTC: 0,
  GMT: 0,
  Z: 0,
  UT: 0,
  EST: -5 * 3600,
  EDT: -4 * 3600,
  CST: -6 * 3600,
  CDT: -5 * 3600,
  MST: -7 * 3600,
  MDT: -6 * 3600,
  PST: -8 * 3600,
  PDT: -7 * 3600,
  AKST: -9 * 3600,
  AKDT: -8 * 3600,
  HST: -10 * 3600,
  WET: 0,
  WEST: 3600,
  BST: 3600,
  CET: 3600,
  CEST: 2 * 3600,
  EET: 2 * 3600,
  EEST: 3 * 3600,
  MSK: 3 * 3600,
  IST: 5 * 3600 + 1800,
  JST: 9 * 3600,
  KST: 9 * 3600,
  AEST: 10 * 3600,
  AEDT: 11 * 3600,
  NZST: 12 * 3600,
  NZDT: 13 * 3600,
};

/** The fields read from a time string. */
export interface TimeParts {
  year: number | undefined;
  month: number; // 1-12
  day: number;
  yday: number | undefined;
  hour: number;
  pm: boolean | undefined;
  minute: number;
  second: number;
  nanos: number;
  /** The UTC offset in seconds when the string said it. */
  offset: number | undefined;
  /** A zone abbreviation that has no fixed offset in the table. */
  zoneName: string | undefined;
}

class Cursor {
  pos = 0;
  constructor(readonly s: string) {}

  digits(min: number, max: number): number {
    let j = this.pos;
    while (j < this.s.length && j - this.pos < max) {
      const c = this.s.charCodeAt(j);
      if (c < 48 || c > 57) break;
      j++;
    }
    if (j - this.pos < min) throw new Error(`expected a number at position ${this.pos}`);
    const n = Number(this.s.slice(this.pos, j));
    this.pos = j;
    return n;
  }

  skipSpaces(): void {
    while (this.s[this.pos] === " ") this.pos++;
  }

  word(): string {
    let j = this.pos;
    while (j < this.s.length && /[A-Za-z]/.test(this.s[j]!)) j++;
    const w = this.s.slice(this.pos, j);
    this.pos = j;
    return w;
  }
}

function readOffset(c: Cursor): number {
  const s = c.s;
  if (s[c.pos] === "Z" || s[c.pos] === "z") {
    c.pos++;
    return 0;
  }
  const sign = s[c.pos];
  if (sign !== "+" && sign !== "-") throw new Error(`expected a UTC offset at position ${c.pos}`);
  c.pos++;
  const h = c.digits(2, 2);
  let m = 0;
  let sec = 0;
  if (s[c.pos] === ":") c.pos++;
  if (/[0-9]/.test(s[c.pos] ?? "")) {
    m = c.digits(2, 2);
    if (s[c.pos] === ":") c.pos++;
    if (/[0-9]/.test(s[c.pos] ?? "")) sec = c.digits(2, 2);
  }
  const total = h * 3600 + m * 60 + sec;
  return sign === "-" ? -total : total;
}

/** Reads `value` by the layout's tokens; throws an Error when it does not fit. */
export function parseTimeParts(tokens: readonly TimeToken[], value: string): TimeParts {
  const c = new Cursor(value);
  const p: TimeParts = {
    year: undefined,
    month: 1,
    day: 1,
    yday: undefined,
    hour: 0,
    pm: undefined,
    minute: 0,
    second: 0,
    nanos: 0,
    offset: undefined,
    zoneName: undefined,
  };
  for (let k = 0; k < tokens.length; k++) {
    const tok = tokens[k]!;
    switch (tok.t) {
      case "lit": {
        // A literal "." or "," before a fraction the input omits is optional (Go does the same).
        const next = tokens[k + 1];
        if (
          (tok.s === "." || tok.s === ",") && next?.t === "frac" &&
          !/[0-9]/.test(value[c.pos + 1] ?? "")
        ) {
          if (value[c.pos] === tok.s) c.pos++;
          k++;
          break;
        }
        for (const ch of tok.s) {
          if (ch === " ") {
            if (value[c.pos] !== " ") throw new Error(`expected " " at position ${c.pos}`);
            c.skipSpaces();
          } else if (value[c.pos] === ch) c.pos++;
          else throw new Error(`expected "${ch}" at position ${c.pos}`);
        }
        break;
      }
      case "Y":
        p.year = c.digits(4, 4);
        break;
      case "y": {
        const y = c.digits(2, 2);
        p.year = y >= 69 ? 1900 + y : 2000 + y;
        break;
      }
      case "m":
        c.skipSpaces();
        p.month = c.digits(1, 2);
        break;
      case "b": {
        const w = c.word().toLowerCase();
        let i = MONTH_FULL.indexOf(w);
        if (i < 0) i = MONTHS.indexOf(w);
        if (i < 0) throw new Error(`unknown month "${w}"`);
        p.month = i + 1;
        break;
      }
      case "d":
        c.skipSpaces();
        p.day = c.digits(1, 2);
        break;
      case "j":
        c.skipSpaces();
        p.yday = c.digits(1, 3);
        break;
      case "a": {
        const w = c.word().toLowerCase();
        if (!DAYS.some((d) => d === w || d.slice(0, 3) === w)) {
          throw new Error(`unknown weekday "${w}"`);
        }
        break;
      }
      case "H":
        c.skipSpaces();
        p.hour = c.digits(1, 2);
        break;
      case "I":
        c.skipSpaces();
        p.hour = c.digits(1, 2);
        break;
      case "p": {
        const w = value.slice(c.pos, c.pos + 2).toUpperCase();
        if (w !== "AM" && w !== "PM") throw new Error(`expected AM or PM at position ${c.pos}`);
        p.pm = w === "PM";
        c.pos += 2;
        break;
      }
      case "M":
        p.minute = c.digits(1, 2);
        break;
      case "S": {
        p.second = c.digits(1, 2);
        const next = tokens[k + 1];
        const ch = value[c.pos];
        // Go accepts a fraction after the seconds even when the layout has none.
        if (
          (ch === "." || ch === ",") && /[0-9]/.test(value[c.pos + 1] ?? "") &&
          !(next?.t === "lit" && next.s[0] === ch) && next?.t !== "frac"
        ) {
          c.pos++;
          p.nanos = readFrac(c);
        }
        break;
      }
      case "frac":
        p.nanos = readFrac(c);
        break;
      case "Z": {
        const w = c.word();
        if (w === "") {
          // Go lets "MST" match a numeric offset too.
          if (value[c.pos] === "+" || value[c.pos] === "-") p.offset = readOffset(c);
          else throw new Error(`expected a time zone at position ${c.pos}`);
        } else if (w in ZONES) p.offset = ZONES[w];
        else p.zoneName = w;
        break;
      }
      case "z":
        p.offset = readOffset(c);
        break;
    }
  }
  if (c.pos !== value.length) {
    throw new Error(`extra text "${value.slice(c.pos)}" after the timestamp`);
  }
  if (p.pm !== undefined) {
    if (p.hour > 12) throw new Error("hour over 12 with AM/PM");
    if (p.pm && p.hour < 12) p.hour += 12;
    if (!p.pm && p.hour === 12) p.hour = 0;
  }
  return p;
}

function readFrac(c: Cursor): number {
  const start = c.pos;
  const n = c.digits(1, 9);
  const len = c.pos - start;
  c.digits(0, 100); // digits past nanoseconds are dropped
  return n * 10 ** (9 - len);
}
