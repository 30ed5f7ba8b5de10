/**
 * The `pprof` extension: the Collector's profiling endpoint (`127.0.0.1:1777` by default) with
 * Go's `/debug/pprof/` routes, answering in the formats Chrome DevTools opens, because tfo runs on
 * V8 rather than the Go runtime:
 *
 * - `/debug/pprof/profile?seconds=N` — a CPU profile of N seconds (default 30), `.cpuprofile`
 *   (DevTools: Performance → Load profile);
 * - `/debug/pprof/heap` — a heap snapshot, `.heapsnapshot` (DevTools: Memory → Load);
 * - `/debug/pprof/allocs?seconds=N` — sampled allocations over N seconds (default 10),
 *   `.heapprofile` (DevTools: Memory → Load);
 * - `/debug/pprof/cmdline` — the command line, NUL-separated, as Go serves it.
 *
 * Go-only profiles (goroutine, block, mutex, threadcreate, trace) answer 404 saying why. One CPU
 * and one heap profile run at a time; another request meanwhile gets 409. With `save_to_file`, a
 * CPU profile runs from start to shutdown and is written there. Shutdown ends profiles in progress
 * early, so it never waits for a long `seconds`.
 *
 * @module
 */
import type { Extension, ExtensionFactory } from "../../component.ts";
import {
  type HttpRequest,
  type HttpServer,
  startHttpServer,
} from "../../../lib/net/http_server.ts";
import { openProfiler, type Profiler, ProfilerBusyError } from "../../../lib/telemetry/profiler.ts";
import type { Logger } from "../../../lib/telemetry/logger.ts";
import { type PprofConfig, pprofConfigSchema } from "./config.ts";

const PREFIX = "/debug/pprof/";
/** The longest profile a request may ask for. */
const MAX_SECONDS = 600;

const GO_ONLY = new Set(["goroutine", "block", "mutex", "threadcreate", "trace", "symbol"]);

const INDEX = `tfo profiling (V8: open the files in Chrome DevTools)

/debug/pprof/profile?seconds=30  CPU profile (.cpuprofile; DevTools Performance panel)
/debug/pprof/heap                heap snapshot (.heapsnapshot; DevTools Memory panel)
/debug/pprof/allocs?seconds=10   sampled allocations (.heapprofile; DevTools Memory panel)
/debug/pprof/cmdline             the command line
`;

function text(body: string, status = 200): Response {
  return new Response(body, { status, headers: { "content-type": "text/plain; charset=utf-8" } });
}

function download(body: BodyInit, name: string): Response {
  const stamp = new Date().toISOString().replaceAll(":", "").replace(/\.\d+Z$/, "Z");
  return new Response(body, {
    headers: {
      "content-type": "application/json",
      "content-disposition": `attachment; filename="tfo-${stamp}.${name}"`,
      "x-content-type-options": "nosniff",
    },
  });
}

function secondsParam(url: URL, fallback: number): number | string {
  const raw = url.searchParams.get("seconds");
  if (raw === null) return fallback;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > MAX_SECONDS) {
    return `seconds must be a number in (0, ${MAX_SECONDS}], not "${raw}"`;
  }
  return seconds;
}

/** Creates a `pprof` instance; nothing listens before `start`. */
export function createPprofExtension(config: PprofConfig, logger: Logger): Extension & {
  readonly port: number | undefined;
} {
  let server: HttpServer | undefined;
  let profiler: Profiler | undefined;
  let savingToFile = false;
  const stopping = new AbortController();

  async function answer(request: HttpRequest): Promise<Response> {
    const url = new URL(request.url);
    if (request.method !== "GET" && request.method !== "HEAD") {
      return text("method not allowed\n", 405);
    }
    if (url.pathname === "/debug/pprof" || url.pathname === PREFIX) return text(INDEX);
    if (!url.pathname.startsWith(PREFIX) || profiler === undefined) {
      return text("404 page not found\n", 404);
    }
    const name = url.pathname.slice(PREFIX.length);
    try {
      switch (name) {
        case "profile": {
          const seconds = secondsParam(url, 30);
          if (typeof seconds === "string") return text(`${seconds}\n`, 400);
          if (savingToFile) {
            return text("a CPU profile is being saved to save_to_file for the whole run\n", 409);
          }
          return download(await profiler.cpuProfile(seconds * 1000, stopping.signal), "cpuprofile");
        }
        case "allocs": {
          const seconds = secondsParam(url, 10);
          if (typeof seconds === "string") return text(`${seconds}\n`, 400);
          return download(
            await profiler.allocationProfile(seconds * 1000, stopping.signal),
            "heapprofile",
          );
        }
        case "heap": {
          const chunks = await profiler.heapSnapshot();
          const encoder = new TextEncoder();
          let next = 0;
          const body = new ReadableStream<Uint8Array>({
            pull(controller) {
              if (next < chunks.length) controller.enqueue(encoder.encode(chunks[next++]!));
              else controller.close();
            },
          });
          const response = download(body, "heapsnapshot");
          // Streamed chunk by chunk: a snapshot can be hundreds of MiB.
          response.headers.set("transfer-encoding", "chunked");
          return response;
        }
        case "cmdline":
          return text([Deno.execPath(), ...Deno.args].join("\0"));
        default:
          if (GO_ONLY.has(name)) {
            return text(`the ${name} profile is Go's; tfo runs on V8 and has none\n`, 404);
          }
          return text("Unknown profile\n", 404);
      }
    } catch (error) {
      if (error instanceof ProfilerBusyError) return text(`${error.message}\n`, 409);
      logger.error("Profiling failed", { error });
      return text(`profiling failed: ${(error as Error).message}\n`, 500);
    }
  }

  return {
    get port() {
      return server?.port;
    },
    async start() {
      profiler = openProfiler();
      if (config.save_to_file !== "") {
        await profiler.startCpuProfile();
        savingToFile = true;
      }
      try {
        server = await startHttpServer(config.endpoint, answer, {
          logger,
          // Profiles take their seconds and event streams stay open: no write deadline.
          writeTimeoutMs: 0,
        });
      } catch (error) {
        profiler.close();
        profiler = undefined;
        throw error;
      }
      logger.info("Starting net/http/pprof server", { endpoint: server.address });
    },
    async shutdown() {
      stopping.abort();
      await server?.shutdown();
      server = undefined;
      if (profiler === undefined) return;
      if (savingToFile) {
        savingToFile = false;
        try {
          await Deno.writeTextFile(config.save_to_file, await profiler.stopCpuProfile());
          logger.info("CPU profile saved", { path: config.save_to_file });
        } catch (error) {
          logger.error("Cannot save the CPU profile", { path: config.save_to_file, error });
        }
      }
      profiler.close();
      profiler = undefined;
    },
  };
}

/** The `pprof` extension. */
export const pprofFactory: ExtensionFactory<PprofConfig> = {
  kind: "extension",
  type: "pprof",
  configSchema: pprofConfigSchema,
  stability: "beta",
  create(settings) {
    return createPprofExtension(settings.config, settings.logger);
  },
};
