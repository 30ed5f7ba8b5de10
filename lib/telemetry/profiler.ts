/**
 * In-process profiling through V8's inspector protocol (`node:inspector`, which Deno implements
 * without `--inspect`): CPU profiles (`.cpuprofile`), heap snapshots (`.heapsnapshot`) and sampled
 * allocation profiles (`.heapprofile`), each in the format Chrome DevTools opens (Performance and
 * Memory panels). One profile runs at a time: V8 has one CPU profiler and one heap profiler per
 * isolate, so a second request is refused with {@linkcode ProfilerBusyError} instead of silently
 * ending the first.
 *
 * A heap snapshot stops the JavaScript thread while V8 walks the heap (about a second per few
 * hundred MiB); CPU and allocation profiles only sample.
 *
 * @module
 */
import { Session } from "node:inspector";

/** A profile of the same kind is already running. */
export class ProfilerBusyError extends Error {
  constructor(kind: string) {
    super(`a ${kind} profile is already running; try again when it is done`);
    this.name = "ProfilerBusyError";
  }
}

/** What {@linkcode openProfiler} gives. */
export interface Profiler {
  /** Samples the CPU for `ms` and resolves to the profile as `.cpuprofile` JSON text. */
  cpuProfile(ms: number, signal?: AbortSignal): Promise<string>;
  /** Starts a CPU profile that runs until {@linkcode Profiler.stopCpuProfile}. */
  startCpuProfile(): Promise<void>;
  /** Stops the profile {@linkcode Profiler.startCpuProfile} began; `.cpuprofile` JSON text. */
  stopCpuProfile(): Promise<string>;
  /** Samples allocations for `ms` and resolves to the `.heapprofile` JSON text. */
  allocationProfile(ms: number, signal?: AbortSignal): Promise<string>;
  /** Takes a heap snapshot; resolves to its `.heapsnapshot` text, in the chunks V8 sent. */
  heapSnapshot(): Promise<string[]>;
  /** Ends the inspector session; a running profile is discarded. */
  close(): void;
}

interface Notification {
  method: string;
  params: { chunk?: string };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** Connects an inspector session to this isolate. */
export function openProfiler(): Profiler {
  const session = new Session();
  session.connect();
  const post = <T = Record<string, unknown>>(method: string, params: object = {}) =>
    new Promise<T>((resolve, reject) => {
      session.post(method, params, (error: Error | null, result?: unknown) => {
        if (error) reject(new Error(`${method}: ${error.message}`));
        else resolve(result as T);
      });
    });
  const busy = new Set<"cpu" | "heap">();
  const claim = (kind: "cpu" | "heap", name: string) => {
    if (busy.has(kind)) throw new ProfilerBusyError(name);
    busy.add(kind);
  };
  const startCpu = async () => {
    await post("Profiler.enable");
    await post("Profiler.start");
  };
  const stopCpu = async () => {
    const { profile } = await post<{ profile: unknown }>("Profiler.stop");
    await post("Profiler.disable");
    return JSON.stringify(profile);
  };
  return {
    async cpuProfile(ms, signal) {
      claim("cpu", "CPU");
      try {
        await startCpu();
        await sleep(ms, signal);
        return await stopCpu();
      } finally {
        busy.delete("cpu");
      }
    },
    async startCpuProfile() {
      claim("cpu", "CPU");
      try {
        await startCpu();
      } catch (error) {
        busy.delete("cpu");
        throw error;
      }
    },
    async stopCpuProfile() {
      try {
        return await stopCpu();
      } finally {
        busy.delete("cpu");
      }
    },
    async allocationProfile(ms, signal) {
      claim("heap", "heap");
      try {
        await post("HeapProfiler.enable");
        await post("HeapProfiler.startSampling", { samplingInterval: 32_768 });
        await sleep(ms, signal);
        const { profile } = await post<{ profile: unknown }>("HeapProfiler.stopSampling");
        await post("HeapProfiler.disable");
        return JSON.stringify(profile);
      } finally {
        busy.delete("heap");
      }
    },
    async heapSnapshot() {
      claim("heap", "heap");
      const chunks: string[] = [];
      const onMessage = (message: Notification) => {
        if (message.method === "HeapProfiler.addHeapSnapshotChunk" && message.params.chunk) {
          chunks.push(message.params.chunk);
        }
      };
      session.on("inspectorNotification", onMessage);
      try {
        await post("HeapProfiler.enable");
        await post("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
        await post("HeapProfiler.disable");
        return chunks;
      } finally {
        session.off("inspectorNotification", onMessage);
        busy.delete("heap");
      }
    },
    close() {
      session.disconnect();
    },
  };
}
