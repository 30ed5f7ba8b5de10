/**
 * Linux host readers over /proc and /sys, shared by the `hostmetrics` receiver and the heartbeat's
 * system info. Every reader takes a root path (`""` for this machine, `/hostfs` for a host mounted
 * into a container) and returns plain typed records in base units (bytes, seconds, counts).
 *
 * @module
 */
export { CLOCK_TICKS_PER_SECOND, hostPath, type RootPath } from "./_read.ts";
export * from "./cpu.ts";
export * from "./memory.ts";
export * from "./disk.ts";
export * from "./filesystem.ts";
export * from "./network.ts";
export * from "./load.ts";
export * from "./paging.ts";
export * from "./vmstat.ts";
export * from "./processes.ts";
export * from "./process.ts";
export * from "./pressure.ts";
export * from "./sockstat.ts";
export * from "./kernel.ts";
export * from "./thermal.ts";
export * from "./system.ts";
export * from "./dmi.ts";
export * from "./virtualization.ts";
export * from "./cloud.ts";
export * from "./container.ts";
export * from "./interfaces.ts";
export * from "./block.ts";
export * from "./semconv.ts";
