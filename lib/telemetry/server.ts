/**
 * Serves tfo's own metrics at `GET /metrics` in the Prometheus text format, as the OpenTelemetry
 * Collector does on `:8888`.
 *
 * @module
 */
import {
  type HttpRequest,
  type HttpServer,
  type HttpServerOptions,
  startHttpServer,
} from "../net/http_server.ts";
import type { MetricRegistry, RenderOptions } from "./metrics.ts";

/** The content type of the Prometheus text exposition format 0.0.4. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** The path metrics are served on. */
export const METRICS_PATH = "/metrics";

/**
 * The request handler: `GET` (or `HEAD`) `/metrics` renders the registry; other methods on it get
 * 405, other paths 404.
 */
export function metricsHandler(
  registry: MetricRegistry,
  render: RenderOptions = {},
): (request: HttpRequest) => Response | Promise<Response> {
  return (request) => {
    const { pathname } = new URL(request.url);
    if (pathname !== METRICS_PATH) {
      return new Response("404 page not found\n", {
        status: 404,
        headers: { "content-type": "text/plain; charset=utf-8" },
      });
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("Method Not Allowed\n", {
        status: 405,
        headers: { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" },
      });
    }
    const respond = () =>
      new Response(request.method === "HEAD" ? null : registry.render(render), {
        headers: { "content-type": PROMETHEUS_CONTENT_TYPE },
      });
    // Other workers' series are fetched fresh for a scrape, when there are other workers.
    const refreshing = registry.refresh();
    return refreshing === undefined ? respond() : refreshing.then(respond);
  };
}

/**
 * Serves `registry` at `http://<endpoint>/metrics`.
 *
 * @param endpoint `host:port`, for example `0.0.0.0:8888`; port 0 picks a free one
 * @param options the server's options and how names are exposed (`render`, see {@linkcode RenderOptions})
 * @throws {Error} `Cannot listen on 0.0.0.0:8888: address already in use` and the like
 */
export function startMetricsServer(
  registry: MetricRegistry,
  endpoint: string,
  options: HttpServerOptions & { readonly render?: RenderOptions } = {},
): Promise<HttpServer> {
  const { render, ...server } = options;
  return startHttpServer(endpoint, metricsHandler(registry, render), server);
}
