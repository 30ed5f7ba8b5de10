/**
 * Keeps each component's recent log lines for the component page: a logger that writes what the
 * one it wraps writes and also remembers, per component (`kind:id` from the
 * `otelcol.component.kind` / `otelcol.component.id` fields), the last lines in a bounded ring.
 * Lines below the wrapped logger's level are neither written nor kept.
 *
 * @module
 */
import type { LogFields, Logger, LogLevel } from "./logger.ts";

/** One remembered line. */
export interface RingLine {
  readonly ts: string;
  readonly level: LogLevel;
  readonly message: string;
  readonly fields: LogFields;
}

/** What {@linkcode createLogRing} gives. */
export interface LogRing {
  /** A logger writing through `base` and remembering component lines. */
  logger: Logger;
  /** The remembered lines of `componentKey`, oldest first. */
  lines(componentKey: string): readonly RingLine[];
}

/** Wraps `base`; keeps up to `perComponent` lines per component. */
export function createLogRing(base: Logger, perComponent = 100): LogRing {
  const rings = new Map<string, RingLine[]>();
  function keep(level: LogLevel, message: string, fields: LogFields): void {
    const kind = fields["otelcol.component.kind"];
    const id = fields["otelcol.component.id"];
    if (typeof kind !== "string" || typeof id !== "string") return;
    const key = `${kind}:${id}`;
    let ring = rings.get(key);
    if (ring === undefined) rings.set(key, ring = []);
    ring.push({ ts: new Date().toISOString(), level, message, fields });
    if (ring.length > perComponent) ring.splice(0, ring.length - perComponent);
  }
  function wrap(inner: Logger, own: LogFields): Logger {
    const log = (level: LogLevel) => (message: string, fields?: LogFields) => {
      inner[level](message, fields);
      if (inner.enabled(level)) keep(level, message, { ...own, ...fields });
    };
    return {
      debug: log("debug"),
      info: log("info"),
      warn: log("warn"),
      error: log("error"),
      enabled: (level) => inner.enabled(level),
      with: (fields) => wrap(inner.with(fields), { ...own, ...fields }),
    };
  }
  return { logger: wrap(base, {}), lines: (key) => rings.get(key) ?? [] };
}
