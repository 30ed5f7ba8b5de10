/**
 * The `health_check` extension: an HTTP endpoint for liveness and readiness probes, answering as
 * the OpenTelemetry Collector's does: 200 with
 * `{"status":"Server available","upSince":"…","uptime":"…"}` while the service is running, 503
 * with `{"status":"Server not available","upSince":"0001-01-01T00:00:00Z","uptime":""}` while it
 * starts or stops (or the configured `response_body` texts instead).
 *
 * The server opens in `start` — the service starts extensions first, so probes get 503 while the
 * other components start — and closes in `shutdown`. The state is read from `host.status()` on each
 * request; `upSince` is the moment the service became ready, as the host reports it (a host that
 * cannot tell gets the moment a request first saw it running).
 *
 * @module
 */
import type { Extension, ExtensionFactory, Host } from "../../component.ts";
import {
  type HttpRequest,
  type HttpServer,
  startHttpServer,
} from "../../../lib/net/http_server.ts";
import type { Logger } from "../../../lib/telemetry/logger.ts";
import { type HealthCheckConfig, healthCheckConfigSchema } from "./config.ts";

const NEVER_UP = "0001-01-01T00:00:00Z";

const UNITS: ReadonlyArray<readonly [number, string]> = [[1e3, "µs"], [1e6, "ms"], [1e9, "s"]];

function trimFraction(n: number): string {
  return n.toFixed(9).replace(/\.?0+$/, "");
}

/** A duration the way Go's `time.Duration.String` writes it: `1h2m3.5s`, `49.01s`, `1.5ms`. */
export function goDuration(nanos: number): string {
  const ns = Math.round(nanos);
  if (ns === 0) return "0s";
  if (ns < 1e9) {
    if (ns < 1e3) return `${ns}ns`;
    const [div, unit] = ns < 1e6 ? UNITS[0]! : UNITS[1]!;
    return `${trimFraction(ns / div)}${unit}`;
  }
  const hours = Math.floor(ns / 3.6e12);
  const minutes = Math.floor((ns % 3.6e12) / 6e10);
  const seconds = `${trimFraction((ns % 6e10) / 1e9)}s`;
  if (hours > 0) return `${hours}h${minutes}m${seconds}`;
  if (minutes > 0) return `${minutes}m${seconds}`;
  return seconds;
}

/** Whether a request path is answered, as Go's `ServeMux` matches one pattern. */
function matchesPath(configured: string, pathname: string): boolean {
  return configured.endsWith("/") ? pathname.startsWith(configured) : pathname === configured;
}

/** A `health_check` instance. */
export class HealthCheckExtension implements Extension {
  readonly #config: HealthCheckConfig;
  readonly #logger: Logger;
  #server: HttpServer | undefined;
  #starting: Promise<HttpServer> | undefined;
  /** When the service became ready (`Date.now()` and `performance.now()`). */
  #upSince: { wall: number; mono: number } | undefined;

  /** Creates the extension; nothing listens before {@linkcode HealthCheckExtension.start}. */
  constructor(config: HealthCheckConfig, logger: Logger) {
    this.#config = config;
    this.#logger = logger;
  }

  #answer(host: Host, request: HttpRequest): Response {
    const { pathname } = new URL(request.url);
    if (!matchesPath(this.#config.path, pathname)) {
      return new Response("404 page not found\n", {
        status: 404,
        headers: { "content-type": "text/plain; charset=utf-8" },
      });
    }
    const running = host.status() === "running";
    const ready = host.readySince?.();
    if (!running) {
      this.#upSince = undefined;
    } else if (ready !== undefined && this.#upSince?.wall !== ready) {
      // The monotonic clock at that moment, so uptime does not jump with the wall clock.
      this.#upSince = { wall: ready, mono: performance.now() - Math.max(0, Date.now() - ready) };
    } else if (this.#upSince === undefined) {
      this.#upSince = { wall: Date.now(), mono: performance.now() };
    }
    const status = running ? 200 : 503;
    const custom = this.#config.response_body;
    if (custom !== undefined) {
      return new Response(running ? custom.healthy : custom.unhealthy, {
        status,
        headers: { "content-type": "text/plain; charset=utf-8" },
      });
    }
    const up = this.#upSince;
    const body = up === undefined
      ? { status: "Server not available", upSince: NEVER_UP, uptime: "" }
      : {
        status: "Server available",
        upSince: new Date(up.wall).toISOString(),
        uptime: goDuration((performance.now() - up.mono) * 1e6),
      };
    return Response.json(body, { status });
  }

  /** Opens the endpoint; rejects with `Cannot listen on …` when it cannot. */
  async start(host: Host): Promise<void> {
    if (this.#starting !== undefined) return void await this.#starting;
    this.#starting = startHttpServer(
      this.#config.endpoint,
      (request) => this.#answer(host, request),
    );
    this.#server = await this.#starting;
    this.#logger.info("Health check serving", {
      endpoint: this.#server.address,
      path: this.#config.path,
    });
  }

  /** Closes the endpoint; safe to call twice and without start. */
  async shutdown(): Promise<void> {
    const starting = this.#starting;
    if (starting === undefined) return;
    let server: HttpServer;
    try {
      server = await starting;
    } catch {
      return; // it never listened
    }
    await server.shutdown();
  }

  /** The bound port once started (the real one when port 0 was asked for). */
  get port(): number | undefined {
    return this.#server?.port;
  }
}

/** The `health_check` extension. */
export const healthCheckFactory: ExtensionFactory<HealthCheckConfig> = {
  kind: "extension",
  type: "health_check",
  configSchema: healthCheckConfigSchema,
  stability: "beta",
  create(settings) {
    return new HealthCheckExtension(settings.config, settings.logger);
  },
};
