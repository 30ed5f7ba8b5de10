/**
 * tracefs: where it is (mounting it when it is not and the process may), tracepoint ids, and
 * record layouts parsed from `events/<group>/<name>/format` at run time rather than hard-coded.
 *
 * @module
 */
import { mountRaw } from "./_libc.ts";
import { BpfError } from "./errors.ts";

/** One field of a tracepoint record. */
export interface TraceField {
  /** The C declaration's type, e.g. `const void *`, `__u8[4]`, `int`. */
  type: string;
  name: string;
  offset: number;
  size: number;
  signed: boolean;
}

/** A tracepoint record's layout. */
export interface TraceFormat {
  /** `group:name`. */
  event: string;
  id: number;
  fields: Map<string, TraceField>;
}

const CANDIDATES = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];

function hasEvents(dir: string): boolean {
  try {
    return Deno.statSync(`${dir}/events`).isDirectory;
  } catch {
    return false;
  }
}

/**
 * The tracefs mount point. When none is mounted, mounts tracefs on `/sys/kernel/tracing` (root
 * only); throws a {@linkcode BpfError} saying what is missing otherwise.
 * @param mount mount tracefs when it is not @default true
 */
export function findTracefs(mount = true): string {
  for (const dir of CANDIDATES) if (hasEvents(dir)) return dir;
  if (!mount) {
    throw new BpfError("tracefs is not mounted (looked in " + CANDIDATES.join(", ") + ")", 0);
  }
  const target = CANDIDATES[0]!;
  const r = mountRaw("tracefs", target, "tracefs");
  if (r < 0 || !hasEvents(target)) {
    throw new BpfError(
      `tracefs is not mounted and cannot be mounted on ${target}` +
        " (mount it with: mount -t tracefs tracefs /sys/kernel/tracing)",
      r < 0 ? -r : 0,
    );
  }
  return target;
}

/** True when the tracepoint `group/name` exists. */
export function hasTracepoint(tracefs: string, group: string, name: string): boolean {
  try {
    return Deno.statSync(`${tracefs}/events/${group}/${name}/format`).isFile;
  } catch {
    return false;
  }
}

/**
 * Parses a `format` file's text.
 * @param event `group:name`, for messages
 */
export function parseFormat(event: string, text: string): TraceFormat {
  const id = /^ID:\s*(\d+)/m.exec(text);
  if (id === null) throw new BpfError(`The format of tracepoint ${event} has no ID line`, 0);
  const fields = new Map<string, TraceField>();
  const re = /field:([^;]+);\s*offset:(\d+);\s*size:(\d+);\s*signed:(\d+);/g;
  for (const m of text.matchAll(re)) {
    const decl = m[1]!.trim();
    // The name is the last identifier, before any array suffix: `__u8 saddr[4]`, `char comm[16]`.
    const dm = /^(.*?)([A-Za-z_][A-Za-z0-9_]*)\s*((?:\[[^\]]*\])*)$/.exec(decl);
    if (dm === null) continue;
    const type = `${dm[1]!.trim()}${dm[3] ?? ""}`;
    fields.set(dm[2]!, {
      type,
      name: dm[2]!,
      offset: Number(m[2]),
      size: Number(m[3]),
      signed: m[4] === "1",
    });
  }
  return { event, id: Number(id[1]), fields };
}

/** Reads and parses the format of tracepoint `group/name`. */
export function readFormat(tracefs: string, group: string, name: string): TraceFormat {
  const event = `${group}:${name}`;
  let text: string;
  try {
    text = Deno.readTextFileSync(`${tracefs}/events/${group}/${name}/format`);
  } catch (error) {
    throw new BpfError(`Tracepoint ${event} is not available`, 0, { cause: error });
  }
  return parseFormat(event, text);
}

/** The field `name` of a format; throws naming the tracepoint when the kernel lacks it. */
export function field(format: TraceFormat, name: string, size?: number): TraceField {
  const f = format.fields.get(name);
  if (f === undefined) throw new BpfError(`Tracepoint ${format.event} has no field "${name}"`, 0);
  if (size !== undefined && f.size !== size) {
    throw new BpfError(
      `Field "${name}" of tracepoint ${format.event} is ${f.size} bytes, expected ${size}`,
      0,
    );
  }
  return f;
}
