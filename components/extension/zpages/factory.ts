/**
 * The `zpages` extension: the Collector's zpages routes and tfo's live pipeline page, on
 * `127.0.0.1:55679` by default.
 *
 * - `/` — the pipeline page: the running graph left to right (shared receivers, exporters and
 *   connectors once, processors per pipeline), each edge labelled with items/s and refusals, each
 *   node with its state, refusals, failures and, for exporters, queue fill and bytes queued;
 *   updated every second over server-sent events; a component panel with the redacted config,
 *   self-metrics, recent log lines and, when `tap.enabled`, a live tap of sampled items. It follows
 *   live reloads and shows a refused reload with its config diagnostics. The page is one file
 *   imported as a module, so the compiled binary carries it; no CDN, no build step.
 * - `/api/graph`, `/api/events` (SSE), `/api/component?node=KEY`, `/api/tap?node=KEY` (SSE).
 * - `/debug/servicez`, `/debug/pipelinez`, `/debug/extensionz` — the Collector's pages.
 *
 * Streams are bounded (`max_streams`; more are answered 503) and one stats frame per second is
 * computed for all open pages together.
 *
 * @module
 */
import type { Extension, ExtensionFactory, Host } from "../../component.ts";
import type { GraphView, ServiceView } from "../../../lib/component/view.ts";
import {
  type HttpRequest,
  type HttpServer,
  startHttpServer,
} from "../../../lib/net/http_server.ts";
import { sampleItems } from "../../../lib/pdata/sample_view.ts";
import type { Logger } from "../../../lib/telemetry/logger.ts";
import { type ZpagesConfig, zpagesConfigSchema } from "./config.ts";
import { createStatsClock, type StatsFrame } from "./_stats.ts";
import { extensionz, pipelinez, servicez } from "./_zpages.ts";
import PAGE from "./page.html" with { type: "text" };

const encoder = new TextEncoder();

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", "cache-control": "no-store" },
  });
}

function text(body: string, status: number): Response {
  return new Response(body, { status, headers: { "content-type": "text/plain; charset=utf-8" } });
}

function html(body: string): Response {
  return new Response(body, {
    headers: {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
      "content-security-policy":
        "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'",
      "x-frame-options": "DENY",
    },
  });
}

function graphJson(graph: GraphView) {
  return {
    nodes: graph.nodes,
    edges: graph.edges,
    pipelines: graph.pipelines,
    extensions: graph.extensions,
  };
}

/** The metric lines of one component, from the Prometheus text. */
function metricLines(view: ServiceView, kind: string, id: string): string[] {
  const needle = `${kind}="${id}"`;
  return view.metricsText().split("\n").filter((line) =>
    !line.startsWith("#") && line.includes(needle)
  );
}

/** Creates a `zpages` instance; nothing listens before `start`. */
export function createZpagesExtension(config: ZpagesConfig, logger: Logger): Extension & {
  readonly port: number | undefined;
} {
  let server: HttpServer | undefined;
  let view: ServiceView | undefined;
  let version = 0;
  let lastGraph: GraphView | undefined;
  const streams = new Set<() => void>();
  const watchers = new Set<(frame: StatsFrame) => void>();
  let ticker: ReturnType<typeof setInterval> | undefined;
  let frame: (() => StatsFrame) | undefined;
  /** The last frame sent, handed at once to a page that connects between two ticks. */
  let latest: StatsFrame | undefined;
  /** The graph's JSON answer, serialized once per graph. */
  let graphBody: { graph: GraphView; body: string } | undefined;
  const startedAt = new Date();

  function currentGraph(v: ServiceView): GraphView {
    const graph = v.graph();
    if (graph !== lastGraph) {
      lastGraph = graph;
      version++;
    }
    return graph;
  }

  function tick(): void {
    if (view === undefined || frame === undefined) return;
    currentGraph(view);
    const next = latest = frame();
    for (const watcher of watchers) watcher(next);
  }

  /** An SSE response; `open` registers what to send and returns its cleanup. */
  function eventStream(
    open: (send: (event: string, data: unknown) => void) => () => void,
  ): Response {
    if (streams.size >= config.max_streams) {
      return text(`too many live streams (max_streams: ${config.max_streams})\n`, 503);
    }
    let close = () => {};
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        const send = (event: string, data: unknown) => {
          try {
            controller.enqueue(
              encoder.encode(
                event === ""
                  ? ": keepalive\n\n"
                  : `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`,
              ),
            );
          } catch {
            close();
          }
        };
        const cleanup = open(send);
        // A comment now and then: a write is how a client that went away is noticed.
        const heartbeat = setInterval(() => send("", null), 15_000);
        let done = false;
        close = () => {
          if (done) return;
          done = true;
          clearInterval(heartbeat);
          cleanup();
          streams.delete(close);
          try {
            controller.close();
          } catch {
            // already closed by the client
          }
        };
        streams.add(close);
        controller.enqueue(encoder.encode(": tfo\n\n"));
      },
      cancel() {
        close();
      },
    });
    return new Response(body, {
      headers: {
        "content-type": "text/event-stream",
        "cache-control": "no-store",
        // tfo's HTTP server streams a chunked body as it comes instead of reading it whole.
        "transfer-encoding": "chunked",
        "x-accel-buffering": "no",
      },
    });
  }

  function events(v: ServiceView): Response {
    return eventStream((send) => {
      const watcher = (f: StatsFrame) => send("stats", f);
      watchers.add(watcher);
      if (ticker === undefined) {
        // A fresh clock: its rates count from now, not from whenever the last page closed.
        frame = createStatsClock(v, () => version);
        latest = undefined;
        ticker = setInterval(tick, 1000);
      }
      // The newcomer gets the latest frame now; the others are not sent an extra one (whose
      // rates would be over the few milliseconds since the last tick).
      queueMicrotask(() => {
        if (!watchers.has(watcher) || frame === undefined) return;
        latest ??= frame();
        watcher(latest);
      });
      return () => {
        watchers.delete(watcher);
        if (watchers.size === 0 && ticker !== undefined) {
          clearInterval(ticker);
          ticker = undefined;
          frame = undefined;
          latest = undefined;
        }
      };
    });
  }

  function tap(v: ServiceView, node: string): Response {
    if (!config.tap.enabled) {
      return text("the tap is off; set tap.enabled in the zpages config\n", 403);
    }
    if (!v.graph().nodes.some((n) => n.key === node)) return text(`no node "${node}"\n`, 404);
    const intervalMs = 1000 / config.tap.max_per_second;
    return eventStream((send) => {
      let nextAt = 0;
      return v.tap(node, (payload, signal, edge) => {
        const now = performance.now();
        if (now < nextAt) return;
        nextAt = now + intervalMs;
        const items = sampleItems(signal, payload.read(), config.tap.max_items);
        send("items", {
          at: new Date().toISOString(),
          edge,
          signal,
          total: payload.itemCount,
          items,
        });
      });
    });
  }

  function answer(request: HttpRequest): Response {
    const url = new URL(request.url);
    if (request.method !== "GET" && request.method !== "HEAD") {
      return text("method not allowed\n", 405);
    }
    const v = view;
    if (v === undefined) return text("the service gives no view of its pipelines\n", 503);
    switch (url.pathname) {
      case "/":
      case "/debug/pipeline":
        return html(PAGE);
      case "/api/graph": {
        // Reading the graph first bumps the version when a reload replaced it.
        const graph = currentGraph(v);
        if (graphBody?.graph !== graph) {
          graphBody = {
            graph,
            body: JSON.stringify({ graphVersion: version, graph: graphJson(graph) }),
          };
        }
        return new Response(graphBody.body, {
          headers: { "content-type": "application/json", "cache-control": "no-store" },
        });
      }
      case "/api/events":
        return events(v);
      case "/api/component": {
        const key = url.searchParams.get("node") ?? "";
        const node = currentGraph(v).nodes.find((n) => n.key === key);
        const componentKey = node === undefined ? key : `${node.kind}:${node.id}`;
        const component = currentGraph(v).components.get(componentKey);
        if (component === undefined) return text(`no component "${key}"\n`, 404);
        return json({
          ...component,
          node: key,
          metrics: metricLines(v, component.kind, component.id),
          logs: v.logs(componentKey),
          tap: config.tap.enabled && node !== undefined,
        });
      }
      case "/api/tap":
        return tap(v, url.searchParams.get("node") ?? "");
      case "/debug/servicez":
        return html(servicez(v, startedAt));
      case "/debug/pipelinez":
        return html(pipelinez(currentGraph(v)));
      case "/debug/extensionz":
        return html(extensionz(currentGraph(v)));
      default:
        return text("404 page not found\n", 404);
    }
  }

  return {
    get port() {
      return server?.port;
    },
    async start(host: Host) {
      view = host.view?.();
      server = await startHttpServer(config.endpoint, answer, {
        logger,
        // Profiles take their seconds and event streams stay open: no write deadline.
        writeTimeoutMs: 0,
      });
      logger.info("Starting zPages and the pipeline page", { endpoint: server.address });
    },
    async shutdown() {
      for (const close of [...streams]) close();
      if (ticker !== undefined) clearInterval(ticker);
      ticker = undefined;
      frame = undefined;
      latest = undefined;
      await server?.shutdown();
      server = undefined;
    },
  };
}

/** The `zpages` extension. */
export const zpagesFactory: ExtensionFactory<ZpagesConfig> = {
  kind: "extension",
  type: "zpages",
  configSchema: zpagesConfigSchema,
  stability: "beta",
  create(settings) {
    return createZpagesExtension(settings.config, settings.logger);
  },
};
