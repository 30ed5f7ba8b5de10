/**
 * The messages between the `zpages` extension (on the service's thread) and its HTTP server (in
 * a worker of its own, so that pages are answered without waiting behind the pipelines' work on
 * the service's event loop). The service side pushes what pages show — the graph with its HTML
 * tables, the service state, one stats frame a second while a page listens — and answers the
 * requests that need the service: a component panel and a tap.
 *
 * @module
 */
import type { ZpagesConfig } from "./config.ts";
import type { StatsFrame } from "./_stats.ts";
import type { ServiceStatus } from "../../../lib/component/host.ts";
import type { ViewComponent, ViewLogLine, ViewNode } from "../../../lib/component/view.ts";

/** What a page shows of the running graph, prepared on the service side once per graph. */
export interface GraphPush {
  readonly version: number;
  /** `/api/graph`'s body. */
  readonly json: string;
  /** `/debug/pipelinez` and `/debug/extensionz`. */
  readonly pipelinez: string;
  readonly extensionz: string;
  /** The nodes, for a tap's 404 and a component panel. */
  readonly nodes: readonly ViewNode[];
  /** Every component's redacted config, by `kind:id`. */
  readonly components: Readonly<Record<string, ViewComponent>>;
  /** Whether the tap is enabled. */
  readonly tap: boolean;
}

/** What a component panel shows besides the config, sent with each frame while a page listens. */
export interface PanelPush {
  /** tfo's own metrics, Prometheus text. */
  readonly metrics: string;
  /** Recent log lines by component key. */
  readonly logs: Readonly<Record<string, readonly ViewLogLine[]>>;
}

/** Service → server. */
export type ToServer =
  | { readonly type: "start"; readonly config: ZpagesConfig; readonly page: string }
  | { readonly type: "graph"; readonly graph: GraphPush }
  | { readonly type: "frame"; readonly frame: StatsFrame; readonly panel: PanelPush }
  /** The service's state, when it changed, for `/debug/servicez`. */
  | {
    readonly type: "state";
    readonly status: ServiceStatus;
    readonly readySince: number | undefined;
    readonly startedAt: string;
  }
  | {
    readonly type: "answer";
    readonly id: number;
    readonly status: number;
    readonly contentType: string;
    readonly body: string;
  }
  | { readonly type: "tapEvent"; readonly id: number; readonly data: unknown }
  | { readonly type: "stop" };

/** Server → service. */
export type ToService =
  | { readonly type: "listening"; readonly port: number; readonly address: string }
  | { readonly type: "failed"; readonly message: string }
  /** Pages are listening (stats frames wanted) or not. */
  | { readonly type: "watch"; readonly on: boolean }
  /** A request only the service can answer: `/api/component`. */
  | { readonly type: "ask"; readonly id: number; readonly path: string; readonly query: string }
  | { readonly type: "tap"; readonly id: number; readonly node: string }
  | { readonly type: "untap"; readonly id: number }
  | { readonly type: "stopped" };
