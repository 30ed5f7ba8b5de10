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
 * computed for all open pages together. The HTTP server runs in a worker of its own
 * (`_page_server.ts`): the page, the graph, the stats stream and the Collector's tables are
 * answered there from what this side pushes, so a page does not wait behind the pipelines' work on
 * the service's event loop; a component panel, `/debug/servicez` and a tap are asked of this side.
 *
 * @module
 */
import type { Extension, ExtensionFactory, Host } from "../../component.ts";
import type { GraphView, ServiceView, ViewLogLine } from "../../../lib/component/view.ts";
import { sampleItems } from "../../../lib/pdata/sample_view.ts";
import type { Logger } from "../../../lib/telemetry/logger.ts";
import { type ZpagesConfig, zpagesConfigSchema } from "./config.ts";
import { createStatsClock, type StatsFrame } from "./_stats.ts";
import { extensionz, pipelinez, servicez } from "./_zpages.ts";
import { componentAnswer } from "./_panel.ts";
import type { ToServer, ToService } from "./_page_protocol.ts";
import PAGE from "./page.html" with { type: "text" };

/** How long a stopping page server may take to close its streams and port. */
const STOP_TIMEOUT_MS = 5000;

function graphJson(graph: GraphView) {
  return {
    nodes: graph.nodes,
    edges: graph.edges,
    pipelines: graph.pipelines,
    extensions: graph.extensions,
  };
}

/** Creates a `zpages` instance; nothing listens before `start`. */
export function createZpagesExtension(config: ZpagesConfig, logger: Logger): Extension & {
  readonly port: number | undefined;
} {
  let worker: Worker | undefined;
  let port: number | undefined;
  let view: ServiceView | undefined;
  let version = 0;
  let lastGraph: GraphView | undefined;
  let ticker: ReturnType<typeof setInterval> | undefined;
  /** Set while a page listens: one stats frame a second. */
  let frame: (() => StatsFrame) | undefined;
  const taps = new Map<number, () => void>();
  let stopped: PromiseWithResolvers<void> | undefined;
  const startedAt = new Date();

  function post(message: ToServer): void {
    worker?.postMessage(message);
  }

  /** Pushes the graph when a reload replaced it. */
  function checkGraph(v: ServiceView): void {
    const graph = v.graph();
    if (graph === lastGraph) return;
    lastGraph = graph;
    version++;
    post({
      type: "graph",
      graph: {
        version,
        json: JSON.stringify({ graphVersion: version, graph: graphJson(graph) }),
        pipelinez: pipelinez(graph),
        extensionz: extensionz(graph),
        nodes: graph.nodes,
        // As JSON gives them to the page; a config value that cannot be cloned cannot break it.
        components: JSON.parse(JSON.stringify(Object.fromEntries(graph.components))),
        tap: config.tap.enabled,
      },
    });
  }

  let lastState = "";

  /** Pushes the service's state when it changed. */
  function checkState(v: ServiceView): void {
    const status = v.status();
    const readySince = v.readySince();
    const key = `${status} ${readySince}`;
    if (key === lastState) return;
    lastState = key;
    post({ type: "state", status, readySince, startedAt: startedAt.toISOString() });
  }

  function tick(): void {
    if (view === undefined) return;
    checkGraph(view);
    checkState(view);
    if (frame !== undefined) {
      const logs: Record<string, readonly ViewLogLine[]> = {};
      for (const key of lastGraph?.components.keys() ?? []) logs[key] = view.logs(key);
      post({ type: "frame", frame: frame(), panel: { metrics: view.metricsText(), logs } });
    }
  }

  function openTap(v: ServiceView, id: number, node: string): void {
    const intervalMs = 1000 / config.tap.max_per_second;
    let nextAt = 0;
    const unsubscribe = v.tap(node, (payload, signal, edge) => {
      const now = performance.now();
      if (now < nextAt) return;
      nextAt = now + intervalMs;
      const items = sampleItems(signal, payload.read(), config.tap.max_items);
      post({
        type: "tapEvent",
        id,
        data: { at: new Date().toISOString(), edge, signal, total: payload.itemCount, items },
      });
    });
    taps.set(id, unsubscribe);
  }

  function onMessage(message: ToService): void {
    const v = view;
    switch (message.type) {
      case "watch":
        if (v === undefined) return;
        if (message.on) {
          // A fresh clock: its rates count from now, not from whenever the last page closed.
          frame = createStatsClock(v, () => version);
          tick();
        } else frame = undefined;
        return;
      case "ask": {
        if (v === undefined) return;
        checkGraph(v);
        if (message.path === "/debug/servicez") {
          post({
            type: "answer",
            id: message.id,
            status: 200,
            contentType: "text/html; charset=utf-8",
            body: servicez(v, startedAt),
          });
          return;
        }
        const key = new URLSearchParams(message.query).get("node") ?? "";
        const graph = lastGraph!;
        const [status, body] = componentAnswer(
          graph.nodes,
          (k) => graph.components.get(k),
          { metrics: v.metricsText(), logs: (k) => v.logs(k) },
          key,
          config.tap.enabled,
        );
        post({
          type: "answer",
          id: message.id,
          status,
          contentType: status === 200 ? "application/json" : "text/plain; charset=utf-8",
          body,
        });
        return;
      }
      case "tap":
        if (v !== undefined && config.tap.enabled) openTap(v, message.id, message.node);
        return;
      case "untap":
        taps.get(message.id)?.();
        taps.delete(message.id);
        return;
      case "stopped":
        stopped?.resolve();
        return;
    }
  }

  function closeTaps(): void {
    for (const unsubscribe of taps.values()) unsubscribe();
    taps.clear();
  }

  return {
    get port() {
      return port;
    },
    async start(host: Host) {
      view = host.view?.();
      // The HTTP server runs in a worker: pages are answered without waiting behind the
      // pipelines' work on this event loop.
      const w = new Worker(new URL("./_page_server.ts", import.meta.url).href, {
        type: "module",
        name: "zpages",
      });
      worker = w;
      const ready = Promise.withResolvers<void>();
      w.onmessage = (event: MessageEvent<ToService>) => {
        const message = event.data;
        if (message.type === "listening") {
          port = message.port;
          logger.info("Starting zPages and the pipeline page", { endpoint: message.address });
          ready.resolve();
        } else if (message.type === "failed") ready.reject(new Error(message.message));
        else onMessage(message);
      };
      w.onerror = (event) => {
        event.preventDefault();
        const error = new Error(`The pipeline page's server failed: ${event.message}`);
        ready.reject(error);
        logger.error(error.message);
      };
      if (view !== undefined) {
        checkGraph(view);
        checkState(view);
      }
      post({ type: "start", config, page: PAGE });
      try {
        await ready.promise;
      } catch (error) {
        w.terminate();
        worker = undefined;
        throw error;
      }
      ticker = setInterval(tick, 1000);
    },
    async shutdown() {
      if (ticker !== undefined) clearInterval(ticker);
      ticker = undefined;
      frame = undefined;
      closeTaps();
      const w = worker;
      worker = undefined;
      if (w === undefined) return;
      stopped = Promise.withResolvers<void>();
      w.postMessage({ type: "stop" } satisfies ToServer);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        stopped.promise,
        new Promise((resolve) => timer = setTimeout(resolve, STOP_TIMEOUT_MS)),
      ]);
      clearTimeout(timer);
      w.terminate();
      port = undefined;
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
