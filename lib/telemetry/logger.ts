/**
 * Structured logs on stderr, as JSON lines or as a console-friendly line. Every logger made with
 * {@linkcode Logger.with} carries its fields (the component ID, above all) on every line.
 *
 * @module
 */

/** Log levels, least severe first. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const LEVEL_RANK: Readonly<Record<LogLevel, number>> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Fields attached to a log line. */
export type LogFields = Readonly<Record<string, unknown>>;

/** A structured logger. */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** True when lines of this level are written. */
  enabled(level: LogLevel): boolean;
  /** A logger that adds these fields to every line. */
  with(fields: LogFields): Logger;
}

/** Options of {@linkcode createLogger}. */
export interface LoggerOptions {
  /** The least severe level written. @default "info" */
  level?: LogLevel;
  /** `json` lines or `console` text. @default "json" */
  encoding?: "json" | "console";
  /** Where lines go. @default a writer to stderr */
  write?: (line: string) => void;
}

const encoder = new TextEncoder();

function writeStderr(line: string): void {
  try {
    Deno.stderr.writeSync(encoder.encode(line + "\n"));
  } catch {
    // stderr closed: nothing sensible left to do with a log line
  }
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Error) return value.message;
  return value;
}

function consoleValue(value: unknown): string {
  if (typeof value === "string") return /[\s"=]/.test(value) ? JSON.stringify(value) : value;
  if (value instanceof Error) return JSON.stringify(value.message);
  return JSON.stringify(value, jsonReplacer) ?? String(value);
}

/** Creates a logger. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const minRank = LEVEL_RANK[options.level ?? "info"];
  const write = options.write ?? writeStderr;
  const encoding = options.encoding ?? "json";

  function make(base: LogFields): Logger {
    function log(level: LogLevel, message: string, fields?: LogFields): void {
      if (LEVEL_RANK[level] < minRank) return;
      const ts = new Date().toISOString();
      if (encoding === "json") {
        write(JSON.stringify({ ts, level, msg: message, ...base, ...fields }, jsonReplacer));
        return;
      }
      let line = `${ts}\t${level}\t${message}`;
      for (const [k, v] of Object.entries({ ...base, ...fields })) {
        line += ` ${k}=${consoleValue(v)}`;
      }
      write(line);
    }
    return {
      debug: (m, f) => log("debug", m, f),
      info: (m, f) => log("info", m, f),
      warn: (m, f) => log("warn", m, f),
      error: (m, f) => log("error", m, f),
      enabled: (level) => LEVEL_RANK[level] >= minRank,
      with: (fields) => make({ ...base, ...fields }),
    };
  }
  return make({});
}

/** A logger that writes nothing (for tests and library use). */
export const NOOP_LOGGER: Logger = createLogger({ level: "error", write: () => {} });
