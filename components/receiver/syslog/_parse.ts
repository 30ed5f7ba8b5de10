/**
 * Syslog message parsing, RFC 5424 and RFC 3164, into the fields the Collector's syslog parser
 * gives (`hostname`, `appname`, `proc_id`, `msg_id`, `message`, `structured_data`, `version`,
 * `priority`, `facility`), the severity mapped as it maps it (emerg → FATAL … debug → DEBUG) and
 * the event time. RFC 3164 times carry no year or zone: they are read in `location` in the
 * current year.
 *
 * @module
 */

/** What one message gives. */
export interface ParsedSyslog {
  /** The attributes, in the Collector's names; absent fields are left out. */
  fields: Record<string, unknown>;
  /** Unix nanoseconds, or 0n when the message has none. */
  timestamp: bigint;
  severityNumber: number;
  severityText: string;
}

/** A message that is not syslog in the configured protocol. */
export class SyslogParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SyslogParseError";
  }
}

// OTLP severity numbers: FATAL 21, ERROR3 19, ERROR2 18, ERROR 17, WARN 13, INFO2 10, INFO 9, DEBUG 5.
const SEVERITY_NUMBER = [21, 19, 18, 17, 13, 10, 9, 5];
const SEVERITY_TEXT = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"];

/** 0n…191n, made once: PRI, facility and version are small and repeat on every message. */
const SMALL_INTS: readonly bigint[] = Array.from({ length: 192 }, (_, i) => BigInt(i));

interface Pri {
  priority: number;
  rest: string;
}

function pri(line: string, allowSkip: boolean): Pri | undefined {
  const match = /^<(\d{1,3})>/.exec(line);
  if (match === null) {
    if (allowSkip) return undefined;
    throw new SyslogParseError("the message does not start with <PRI>");
  }
  const priority = Number(match[1]);
  if (priority > 191) throw new SyslogParseError(`PRI ${priority} is above 191`);
  return { priority, rest: line.slice(match[0].length) };
}

function withPriority(
  fields: Record<string, unknown>,
  p: Pri | undefined,
): Pick<ParsedSyslog, "severityNumber" | "severityText"> {
  if (p === undefined) return { severityNumber: 0, severityText: "" };
  // Integers, as the Collector's parser gives them (OTLP int, not double).
  fields.priority = SMALL_INTS[p.priority]!;
  fields.facility = SMALL_INTS[p.priority >> 3]!;
  const severity = p.priority & 7;
  return { severityNumber: SEVERITY_NUMBER[severity]!, severityText: SEVERITY_TEXT[severity]! };
}

function nanosOf(ms: number, extraNanos = 0): bigint {
  return BigInt(ms) * 1_000_000n + BigInt(extraNanos);
}

/** The last second parsed by {@linkcode rfc3339} (senders stamp many messages per second). */
let lastSecond = "";
let lastSecondNanos = 0n;

/** RFC 3339 with up to 9 fraction digits, as RFC 5424 allows. */
function rfc3339(text: string): bigint {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(text);
  if (m === null) throw new SyslogParseError(`"${text}" is not an RFC 3339 timestamp`);
  const second = `${m[1]}${m[3]}`;
  if (second !== lastSecond) {
    const ms = Date.parse(second);
    if (Number.isNaN(ms)) throw new SyslogParseError(`"${text}" is not a valid time`);
    lastSecond = second;
    lastSecondNanos = nanosOf(ms);
  }
  return m[2] === undefined
    ? lastSecondNanos
    : lastSecondNanos + BigInt(Number(m[2].padEnd(9, "0")));
}

/** A structured data value from `at` (after its opening quote) to its closing quote. */
function sdValue(text: string, at: number): { value: string; end: number } {
  const quote = text.indexOf('"', at);
  if (quote < 0) throw new SyslogParseError("a structured data value is not closed");
  const slash = text.indexOf("\\", at);
  if (slash < 0 || slash > quote) return { value: text.slice(at, quote), end: quote + 1 };
  let value = "";
  let i = at;
  for (; i < text.length; i++) {
    const c = text[i]!;
    if (c === "\\" && i + 1 < text.length && '"\\]'.includes(text[i + 1]!)) {
      value += text[++i];
    } else if (c === '"') return { value, end: i + 1 };
    else value += c;
  }
  throw new SyslogParseError("a structured data value is not closed");
}

/** Sets `key` on `target` as an own property, also when it is `__proto__`. */
function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  if (key === "__proto__") {
    Object.defineProperty(target, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else target[key] = value;
}

/** The end of an SD-ID or PARAM-NAME starting at `from`: the next space, `]` or `=`. */
function nameEnd(text: string, from: number): number {
  let i = from;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x5d || c === 0x3d) break;
    i++;
  }
  return i;
}

/** `[id k="v" …][id2 …]` or `-`; returns the map and the rest. */
function structuredData(
  text: string,
): { data: Record<string, Record<string, string>> | undefined; rest: string } {
  if (text.startsWith("-")) return { data: undefined, rest: text.slice(1) };
  if (!text.startsWith("[")) {
    throw new SyslogParseError("structured data must be - or start with [");
  }
  const data: Record<string, Record<string, string>> = {};
  let i = 0;
  while (text[i] === "[") {
    const idEnd = nameEnd(text, i + 1);
    if (idEnd === i + 1 || idEnd >= text.length || text[idEnd] === "=") {
      throw new SyslogParseError("a structured data element has no ID");
    }
    const id = text.slice(i + 1, idEnd);
    const params: Record<string, string> = {};
    i = idEnd;
    while (text[i] === " ") {
      const eq = text.indexOf("=", i);
      if (eq < 0 || text[eq + 1] !== '"') {
        throw new SyslogParseError("a structured data parameter is malformed");
      }
      const name = text.slice(i + 1, eq);
      const { value, end } = sdValue(text, eq + 2);
      setOwn(params, name, value);
      i = end;
    }
    if (text[i] !== "]") throw new SyslogParseError("a structured data element is not closed");
    i++;
    setOwn(data, id, params);
  }
  return { data, rest: text.slice(i) };
}

/** Parses one RFC 5424 message. */
export function parseRfc5424(line: string, allowSkipPri = false): ParsedSyslog {
  const p = pri(line, allowSkipPri);
  const text = p === undefined ? line : p.rest;
  const header = /^(\d{1,2}) (\S+) (\S+) (\S+) (\S+) (\S+) /.exec(text);
  if (header === null) throw new SyslogParseError("the RFC 5424 header is incomplete");
  const [, version, time, hostname, appname, procId, msgId] = header;
  const v = Number(version!);
  const fields: Record<string, unknown> = { version: SMALL_INTS[v] ?? BigInt(v) };
  const nil = (key: string, value: string) => {
    if (value !== "-") fields[key] = value;
  };
  nil("hostname", hostname!);
  nil("appname", appname!);
  nil("proc_id", procId!);
  nil("msg_id", msgId!);
  const timestamp = time === "-" ? 0n : rfc3339(time!);
  const { data, rest } = structuredData(text.slice(header[0].length));
  if (data !== undefined) fields.structured_data = data;
  if (rest.length > 0) {
    if (rest[0] !== " ") {
      throw new SyslogParseError("the message must follow the structured data after a space");
    }
    const message = rest.slice(1).replace(/^\uFEFF/, "");
    fields.message = message;
  }
  return { fields, timestamp, ...withPriority(fields, p) };
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** The offset of `zone` from UTC at `utcMs`, in ms (`UTC`, `Local` or an IANA name). */
function zoneOffsetMs(zone: string, utcMs: number): number {
  if (zone === "UTC") return 0;
  if (zone === "Local") return -new Date(utcMs).getTimezoneOffset() * 60_000;
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: zone,
    hourCycle: "h23",
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
    minute: "numeric",
    second: "numeric",
  }).formatToParts(new Date(utcMs));
  const get = (type: string) => Number(parts.find((x) => x.type === type)?.value);
  const asUtc = Date.UTC(
    get("year"),
    get("month") - 1,
    get("day"),
    get("hour"),
    get("minute"),
    get("second"),
  );
  return asUtc - Math.floor(utcMs / 1000) * 1000;
}

/** True when `zone` is one {@linkcode parseRfc3164} can read times in. */
export function isKnownZone(zone: string): boolean {
  if (zone === "UTC" || zone === "Local") return true;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Parses one RFC 3164 (BSD) message; `now` gives the year. */
export function parseRfc3164(
  line: string,
  location: string,
  allowSkipPri = false,
  now = new Date(),
): ParsedSyslog {
  const p = pri(line, allowSkipPri);
  const text = p === undefined ? line : p.rest;
  const m = /^([A-Z][a-z]{2}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) /.exec(text);
  if (m === null) throw new SyslogParseError("the RFC 3164 timestamp (Mmm dd hh:mm:ss) is missing");
  const month = MONTHS.indexOf(m[1]!);
  if (month < 0) throw new SyslogParseError(`"${m[1]}" is not a month`);
  const wall = Date.UTC(
    now.getUTCFullYear(),
    month,
    Number(m[2]!.trim()),
    Number(m[3]),
    Number(m[4]),
    Number(m[5]),
  );
  const utc = wall - zoneOffsetMs(location, wall);
  const fields: Record<string, unknown> = {};
  let rest = text.slice(m[0].length);
  const host = /^(\S+) /.exec(rest);
  if (host !== null) {
    fields.hostname = host[1];
    rest = rest.slice(host[0].length);
  }
  const tag = /^([^\s:[\]]+)(?:\[([^\]]*)\])?: ?/.exec(rest);
  if (tag !== null) {
    fields.appname = tag[1];
    if (tag[2] !== undefined) fields.proc_id = tag[2];
    rest = rest.slice(tag[0].length);
  }
  if (rest.length > 0) fields.message = rest;
  return { fields, timestamp: nanosOf(utc), ...withPriority(fields, p) };
}
