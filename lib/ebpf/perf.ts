/**
 * `perf_event_open(2)` for the two kinds of event tfo attaches programs to: a tracefs tracepoint
 * (one event, the program then runs on every CPU) and a software counter such as major page faults
 * (one event per CPU, the program runs on each occurrence).
 *
 * @module
 */
import { perfEventOpenRaw } from "./_libc.ts";
import { BpfError } from "./errors.ts";

const PERF_TYPE_SOFTWARE = 1;
const PERF_TYPE_TRACEPOINT = 2;
const PERF_SAMPLE_RAW = 1n << 10n;
const PERF_FLAG_FD_CLOEXEC = 8n;
/** `PERF_ATTR_SIZE_VER7`. */
const ATTR_SIZE = 128;

/** Software counters (`enum perf_sw_ids`). */
export const SoftwareEvent = {
  pageFaults: 2,
  contextSwitches: 3,
  cpuMigrations: 4,
  pageFaultsMin: 5,
  pageFaultsMaj: 6,
} as const;

function open(
  type: number,
  config: bigint,
  sampleType: bigint,
  cpu: number,
  what: string,
): number {
  const buf = new Uint8Array(ATTR_SIZE);
  const view = new DataView(buf.buffer);
  view.setUint32(0, type, true);
  view.setUint32(4, ATTR_SIZE, true);
  view.setBigUint64(8, config, true);
  view.setBigUint64(16, 1n, true); // sample_period: every event
  view.setBigUint64(24, sampleType, true);
  view.setUint32(48, 1, true); // wakeup_events
  const fd = perfEventOpenRaw(buf, -1, cpu, PERF_FLAG_FD_CLOEXEC);
  if (fd < 0) throw new BpfError(`Cannot open perf event for ${what}`, -fd);
  return fd;
}

/**
 * Opens a perf event on a tracepoint by its tracefs id (`events/<group>/<name>/id`).
 * @returns the event's descriptor, to attach a tracepoint program to
 */
export function openTracepointEvent(id: number, what: string): number {
  return open(PERF_TYPE_TRACEPOINT, BigInt(id), PERF_SAMPLE_RAW, 0, `tracepoint ${what}`);
}

/**
 * Opens a software counter on one CPU for every process, overflowing on every event.
 * @returns the event's descriptor, to attach a perf-event program to
 */
export function openSoftwareEvent(config: number, cpu: number, what: string): number {
  return open(PERF_TYPE_SOFTWARE, BigInt(config), 0n, cpu, `${what} on CPU ${cpu}`);
}
