/**
 * Pressure stall information reader: `/proc/pressure/{cpu,memory,io,irq}` (Linux 4.20+, when the
 * kernel has PSI enabled; containers often lack it).
 *
 * @module
 */
import { hostPath, num, readOptional, type RootPath, splitFields, splitLines } from "./_read.ts";

/** The resources the kernel reports pressure for. */
export type PressureResource = "cpu" | "memory" | "io" | "irq";

/** Every resource, in report order. */
export const PRESSURE_RESOURCES: readonly PressureResource[] = ["cpu", "memory", "io", "irq"];

/** One line of a pressure file: share of time stalled over three windows, and the total. */
export interface PressureLine {
  /** Percent of the last 10 s. */
  avg10: number;
  /** Percent of the last 60 s. */
  avg60: number;
  /** Percent of the last 300 s. */
  avg300: number;
  /** Seconds stalled since boot. */
  totalSeconds: number;
}

/** A resource's pressure: `some` (at least one task stalled) and `full` (all non-idle stalled). */
export interface Pressure {
  some: PressureLine | undefined;
  full: PressureLine | undefined;
}

function parseLine(fields: readonly string[]): PressureLine {
  const line: PressureLine = { avg10: 0, avg60: 0, avg300: 0, totalSeconds: 0 };
  for (let i = 1; i < fields.length; i++) {
    const f = fields[i]!;
    const eq = f.indexOf("=");
    if (eq < 0) continue;
    const value = num(f.slice(eq + 1));
    switch (f.slice(0, eq)) {
      case "avg10":
        line.avg10 = value;
        break;
      case "avg60":
        line.avg60 = value;
        break;
      case "avg300":
        line.avg300 = value;
        break;
      case "total":
        line.totalSeconds = value / 1e6;
        break;
    }
  }
  return line;
}

/** Parses the text of one `/proc/pressure/*` file. */
export function parsePressure(text: string): Pressure {
  const out: Pressure = { some: undefined, full: undefined };
  for (const line of splitLines(text)) {
    const f = splitFields(line);
    if (f[0] === "some") out.some = parseLine(f);
    else if (f[0] === "full") out.full = parseLine(f);
  }
  return out;
}

/** Reads one resource's pressure, or undefined when the kernel does not offer it. */
export async function readPressure(
  resource: PressureResource,
  root: RootPath = "",
): Promise<Pressure | undefined> {
  const text = await readOptional(hostPath(root, `/proc/pressure/${resource}`));
  return text === undefined ? undefined : parsePressure(text);
}
