/**
 * The `zpages` HTTP server, run in a worker of its own: it answers the page, `/api/graph`, the
 * stats stream and `/debug/pipelinez|extensionz` from what the service side pushed (see
 * `_page_protocol.ts`), so a page is answered even while the service's event loop is busy with
 * the pipelines; `/api/component`, `/debug/servicez` and taps are asked of the service side.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import {
  type HttpRequest,
  type HttpServer,
  startHttpServer,
} from "../../../lib/net/http_server.ts";
import type { GraphPush, PanelPush, ToServer, ToService } from "./_page_protocol.ts";
import { componentAnswer } from "./_panel.ts";
import type { ZpagesConfig } from "./config.ts";
import type { StatsFrame } from "./_stats.ts";
import { servicez } from "./_zpages.ts";

const encoder = new TextEncoder();

function post(message: ToService): void {
  self.postMessage(message);
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

let config: ZpagesConfig | undefined;
let page = "";
let graph: GraphPush | undefined;
let latest: StatsFrame | undefined;
/** What the last frame brought for component panels; none while no page listens. */
let panel: PanelPush | undefined;
let state: Extract<ToServer, { type: "state" }> | undefined;
let server: HttpServer | undefined;
let nextId = 1;
const streams = new Set<() => void>();
const watchers = new Set<(frame: StatsFrame) => void>();
const answers = new Map<number, (answer: Response) => void>();
const taps = new Map<number, (data: unknown) => void>();

/** An SSE response; `open` registers what to send and returns its cleanup. */
function eventStream(open: (send: (event: string, data: unknown) => void) => () => void): Response {
  const max = config?.max_streams ?? 0;
  if (streams.size >= max) {
    return text(`too many live streams (max_streams: ${max})\n`, 503);
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

function events(): Response {
  return eventStream((send) => {
    const watcher = (f: StatsFrame) => send("stats", f);
    watchers.add(watcher);
    if (watchers.size === 1) post({ type: "watch", on: true });
    // The newcomer gets the latest frame at once (when fresh); the service sends the next.
    if (latest !== undefined) queueMicrotask(() => watchers.has(watcher) && watcher(latest!));
    return () => {
      watchers.delete(watcher);
      if (watchers.size === 0) {
        latest = undefined;
        panel = undefined;
        post({ type: "watch", on: false });
      }
    };
  });
}

/** Asks the service side to answer `path?query`. */
function ask(path: string, query: string): Promise<Response> {
  const id = nextId++;
  const { promise, resolve } = Promise.withResolvers<Response>();
  answers.set(id, resolve);
  post({ type: "ask", id, path, query });
  return promise;
}

function tap(node: string): Response {
  if (config?.tap.enabled !== true) {
    return text("the tap is off; set tap.enabled in the zpages config\n", 403);
  }
  if (!graph?.nodes.some((n) => n.key === node)) return text(`no node "${node}"\n`, 404);
  return eventStream((send) => {
    const id = nextId++;
    taps.set(id, (data) => send("items", data));
    post({ type: "tap", id, node });
    return () => {
      taps.delete(id);
      post({ type: "untap", id });
    };
  });
}

function answer(request: HttpRequest): Response | Promise<Response> {
  const url = new URL(request.url);
  if (request.method !== "GET" && request.method !== "HEAD") {
    return text("method not allowed\n", 405);
  }
  if (graph === undefined) return text("the service gives no view of its pipelines\n", 503);
  switch (url.pathname) {
    case "/":
    case "/debug/pipeline":
      return html(page);
    case "/api/graph":
      return new Response(graph.json, {
        headers: { "content-type": "application/json", "cache-control": "no-store" },
      });
    case "/api/events":
      return events();
    case "/api/tap":
      return tap(url.searchParams.get("node") ?? "");
    case "/debug/pipelinez":
      return html(graph.pipelinez);
    case "/debug/extensionz":
      return html(graph.extensionz);
    case "/debug/servicez":
      // While starting or stopping the state changes faster than it is pushed: ask for it.
      if (state === undefined || state.status !== "running") return ask(url.pathname, url.search);
      return html(servicez(
        { status: () => state!.status, readySince: () => state!.readySince },
        new Date(state.startedAt),
      ));
    case "/api/component": {
      // While a page listens, the panel's metrics and logs come with every frame.
      if (panel === undefined) return ask(url.pathname, url.search);
      const g = graph;
      const p = panel;
      const [status, body] = componentAnswer(
        g.nodes,
        (key) => g.components[key],
        { metrics: p.metrics, logs: (key) => p.logs[key] ?? [] },
        url.searchParams.get("node") ?? "",
        g.tap,
      );
      return new Response(body, {
        status,
        headers: {
          "content-type": status === 200 ? "application/json" : "text/plain; charset=utf-8",
          "cache-control": "no-store",
        },
      });
    }
    default:
      return text("404 page not found\n", 404);
  }
}

async function stop(): Promise<void> {
  for (const close of [...streams]) close();
  for (const resolve of answers.values()) resolve(text("shutting down\n", 503));
  answers.clear();
  await server?.shutdown();
  server = undefined;
  post({ type: "stopped" });
}

self.onmessage = async (event: MessageEvent<ToServer>) => {
  const message = event.data;
  switch (message.type) {
    case "start":
      config = message.config;
      page = message.page;
      try {
        server = await startHttpServer(config.endpoint, answer, {
          // Event streams stay open: no write deadline.
          writeTimeoutMs: 0,
        });
        post({ type: "listening", port: server.port, address: server.address });
      } catch (error) {
        post({ type: "failed", message: (error as Error).message });
      }
      return;
    case "graph":
      graph = message.graph;
      return;
    case "state":
      state = message;
      return;
    case "frame":
      latest = message.frame;
      panel = message.panel;
      for (const watcher of watchers) watcher(message.frame);
      return;
    case "answer": {
      const resolve = answers.get(message.id);
      answers.delete(message.id);
      const headers = { "content-type": message.contentType, "cache-control": "no-store" };
      resolve?.(
        message.contentType.startsWith("text/html")
          ? html(message.body)
          : new Response(message.body, { status: message.status, headers }),
      );
      return;
    }
    case "tapEvent":
      taps.get(message.id)?.(message.data);
      return;
    case "stop":
      await stop();
      return;
  }
};
