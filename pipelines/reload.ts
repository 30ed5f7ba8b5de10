/**
 * Live reload: what triggers one, and what happens around the graph swap. A reload reads the
 * config sources again (the same `--config` files and `--set` flags) and validates them exactly as
 * `tfo validate` does; an invalid config is refused with every diagnostic logged, and the running
 * graph is not touched. A valid one is handed to {@linkcode Service.reload}, which keeps what did
 * not change and leaves the old graph serving when the new one cannot start.
 *
 * Triggers: SIGHUP (wired by `tfo run`) and a changed remote config. An extension offers remote
 * configs with the `remoteConfig` capability ({@linkcode RemoteConfig}). A remote config is a
 * layer merged over the local files (maps merge, lists are replaced), under the `--set` flags:
 * the local file keeps what bootstraps the agent (the extension that fetches the remote config,
 * its credentials), the platform may change or add anything, and the operator's flags win. A
 * remote config that is refused is remembered, so the same text is not tried again on every poll;
 * a SIGHUP keeps the last remote layer that was accepted.
 *
 * Reloads run one at a time: a request while one runs queues exactly one more (later requests join
 * it), which reads the sources when it starts, so it sees the latest of them.
 *
 * Self-telemetry: `tfo_config_reloads_total{result="success|invalid|failed"}` and a log line per
 * reload. `service.telemetry` (log level, metrics address) is not re-applied: a warning says so.
 *
 * @module
 */
import { isDeepStrictEqual } from "node:util";
import type { Extension } from "../components/component.ts";
import type { Logger } from "../lib/telemetry/logger.ts";
import type { Counter, Meter } from "../lib/telemetry/metrics.ts";
import type { ResolvedConfig } from "./config.ts";
import type { Service } from "./service.ts";
import { failureDiagnostics } from "./failure_position.ts";

/** The `remoteConfig` capability: the remote config an extension fetched, as YAML text. */
export interface RemoteConfig {
  /** The latest remote config, if one was fetched. */
  current(): string | undefined;
  /** Calls `listener` with each new remote config; returns the unsubscribe function. */
  subscribe(listener: (yamlText: string) => void): () => void;
}

/** The `remoteConfig` capability of `extension`, if it offers a well-formed one. */
export function remoteConfigOf(extension: Extension | undefined): RemoteConfig | undefined {
  const capability = extension?.capabilities?.["remoteConfig"];
  if (typeof capability !== "object" || capability === null) return undefined;
  const { current, subscribe } = capability as Partial<RemoteConfig>;
  return typeof current === "function" && typeof subscribe === "function"
    ? capability as RemoteConfig
    : undefined;
}

/** A config text merged over the local sources. */
export interface ConfigLayer {
  /** The name diagnostics give as the file. */
  readonly name: string;
  readonly text: string;
}

/** What loading the config sources gave. */
export interface LoadedConfig {
  /** The validated config; undefined when it has errors. */
  readonly config: ResolvedConfig | undefined;
  /** Every diagnostic, formatted with its position (`file:line:col  path: message`). */
  readonly diagnostics: readonly string[];
}

/** How a reload ended; `skipped` when there was nothing to reload. */
export type ReloadResult = "success" | "invalid" | "failed" | "skipped";

/** Options of {@linkcode Reloader}. */
export interface ReloaderOptions {
  readonly service: Service;
  readonly logger: Logger;
  /** Where `tfo_config_reloads_total` goes. */
  readonly meter: Meter;
  /** Loads and validates the local sources with `layers` merged over them, under `--set`. */
  load(layers: readonly ConfigLayer[]): Promise<LoadedConfig>;
  /**
   * False when the local sources cannot change (the embedded default config): a reload without
   * a remote layer is then skipped with a log line. @default true
   */
  readonly localReloadable?: boolean;
  /** Called when a failed reload could not even restore the old graph. */
  readonly onFatal?: (error: Error) => void;
  /**
   * Called once the new config runs, before the reload counts as a success (the other workers
   * of a service of several apply it here).
   */
  readonly onApplied?: () => Promise<void>;
}

interface Subscription {
  readonly capability: RemoteConfig;
  readonly unsubscribe: () => void;
}

/** The name a remote layer's diagnostics give as the file. */
export function remoteLayerName(extensionId: string): string {
  return `<remote config from extension "${extensionId}">`;
}

/** Whether a formatted diagnostic is a warning (`file:line:col  warning: path: message`). */
function isWarning(diagnostic: string): boolean {
  return /(^| {2})warning: /.test(diagnostic);
}

/** Runs reloads of one service, one at a time. */
export class Reloader {
  readonly #options: ReloaderOptions;
  readonly #counters: Readonly<Record<"success" | "invalid" | "failed", Counter>>;
  /** Remote layers of the running config, by extension ID. */
  #layers = new Map<string, string>();
  /** Remote configs not yet tried, by extension ID. */
  #pending = new Map<string, string>();
  /** The last refused remote config, by extension ID. */
  #refused = new Map<string, string>();
  #subscriptions = new Map<string, Subscription>();
  #tail: Promise<unknown> = Promise.resolve();
  #queued: Promise<ReloadResult> | undefined;
  #closed = false;

  constructor(options: ReloaderOptions) {
    this.#options = options;
    const counter = (result: string) =>
      options.meter.counter("tfo_config_reloads", "Number of config reloads, by result.", {
        result,
      });
    this.#counters = {
      success: counter("success"),
      invalid: counter("invalid"),
      failed: counter("failed"),
    };
  }

  /** Subscribes to the remote configs of the running graph's extensions (and applies theirs). */
  start(): void {
    this.#subscribe();
  }

  /**
   * Asks for a reload. While one runs, one more is queued; requests made meanwhile join it.
   * @param trigger what asked, for the log (`SIGHUP`)
   */
  request(trigger: string): Promise<ReloadResult> {
    if (this.#queued !== undefined) return this.#queued;
    const run = this.#tail.then(() => {
      this.#queued = undefined;
      return this.#reload(trigger).catch((error: unknown) => {
        this.#counters.failed.add(1);
        this.#options.logger.error("Cannot reload the config", { trigger, error });
        return "failed" as const;
      });
    });
    this.#queued = run;
    this.#tail = run.catch(() => {});
    return run;
  }

  /** Stops listening for remote configs and waits for the reloads asked for so far. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const s of this.#subscriptions.values()) s.unsubscribe();
    this.#subscriptions.clear();
    await this.#tail;
  }

  async #reload(trigger: string): Promise<ReloadResult> {
    const { service, logger } = this.#options;
    if (this.#closed || service.status !== "running") return "skipped";
    const pending = this.#pending;
    this.#pending = new Map();
    const layerTexts = new Map([...this.#layers, ...pending]);
    if (this.#options.localReloadable === false && layerTexts.size === 0) {
      logger.info("Nothing to reload: tfo runs its embedded default config", { trigger });
      return "skipped";
    }
    const order = service.config.service.extensions;
    const layers = [...layerTexts]
      .sort(([a], [b]) => order.indexOf(a) - order.indexOf(b))
      .map(([id, text]) => ({ name: remoteLayerName(id), text }));
    logger.info("Reloading the config", { trigger });

    const loaded = await this.#options.load(layers);
    const warnings = loaded.diagnostics.filter(isWarning);
    for (const d of warnings) logger.warn("Config warning", { diagnostic: d });
    if (loaded.config === undefined) {
      this.#counters.invalid.add(1);
      for (const [id, text] of pending) this.#refused.set(id, text);
      const errors = loaded.diagnostics.filter((d) => !isWarning(d));
      for (const d of errors) logger.error("Invalid config", { diagnostic: d });
      service.noteFailure({
        what: "reload",
        message:
          `The new config is invalid (${errors.length} errors); the running pipelines are unchanged`,
        diagnostics: errors,
      });
      logger.error("Refused the new config as it is invalid; the running pipelines are unchanged", {
        trigger,
        errors: errors.length,
      });
      return "invalid";
    }
    if (!isDeepStrictEqual(loaded.config.service.telemetry, service.config.service.telemetry)) {
      logger.warn("Changes to service.telemetry take effect at the next restart", { trigger });
    }

    const outcome = await service.reload(loaded.config);
    if (!outcome.ok) {
      this.#counters.failed.add(1);
      for (const [id, text] of pending) this.#refused.set(id, text);
      const error = outcome.error ?? new Error("Unknown reload failure");
      // The component that failed, at its place in the new config (`file:line:col  path: …`).
      const diagnostics = failureDiagnostics(error, loaded.config);
      service.noteFailure({ what: "reload", message: error.message, diagnostics });
      if (outcome.fatal === true) {
        logger.error(`Cannot reload, nor restore the previous pipelines: ${error.message}`, {
          trigger,
        });
        this.#options.onFatal?.(error);
      } else {
        logger.error(
          `Cannot apply the new config; the previous pipelines keep running: ${error.message}`,
          { trigger, ...(diagnostics.length === 0 ? {} : { diagnostic: diagnostics[0] }) },
        );
      }
      return "failed";
    }
    for (const [id, text] of pending) {
      this.#layers.set(id, text);
      this.#refused.delete(id);
    }
    await this.#options.onApplied?.();
    this.#counters.success.add(1);
    service.noteFailure(undefined);
    const { graph } = outcome;
    logger.info("Config reloaded", {
      trigger,
      kept: graph.reused.size,
      started: graph.nodes.length - graph.reused.size,
      drained: outcome.drained,
    });
    this.#subscribe();
    return "success";
  }

  /** Follows the remote configs of the running graph's extensions. */
  #subscribe(): void {
    if (this.#closed) return;
    const { service } = this.#options;
    const ids = new Set(service.config.service.extensions);
    for (const [id, s] of this.#subscriptions) {
      const capability = remoteConfigOf(service.getExtension(id));
      if (ids.has(id) && capability === s.capability) continue;
      s.unsubscribe();
      this.#subscriptions.delete(id);
    }
    for (const id of this.#layers.keys()) if (!ids.has(id)) this.#layers.delete(id);
    for (const id of ids) {
      if (this.#subscriptions.has(id)) continue;
      const capability = remoteConfigOf(service.getExtension(id));
      if (capability === undefined) continue;
      const unsubscribe = capability.subscribe((text) => this.#offer(id, text));
      this.#subscriptions.set(id, { capability, unsubscribe });
      const current = capability.current();
      if (current !== undefined) this.#offer(id, current);
    }
  }

  /** A remote config arrived: reload unless it is the one running, pending or refused. */
  #offer(id: string, text: string): void {
    if (this.#closed) return;
    const known = this.#pending.get(id) ?? this.#layers.get(id);
    if (text === known || text === this.#refused.get(id)) return;
    this.#pending.set(id, text);
    void this.request(`remote config from extension "${id}"`);
  }
}
