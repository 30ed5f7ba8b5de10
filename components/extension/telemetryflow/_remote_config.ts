/**
 * Remote config: polls `GET /api/v2/agents/{id}/config` every `poll_interval` (and right after each
 * registration) and tells subscribers when the config text changed. The answer may be the YAML
 * text itself, or JSON: `{"config": "<yaml>"}` (also inside a `data` envelope), `{"config": {…}}`,
 * or a config object (`receivers`, `service`, …) — a JSON object is handed on as JSON text, which
 * is valid YAML. 204, 404 and an empty or `null` config mean "no remote config": nothing is
 * announced. The first config fetched is announced too; the subscriber decides whether it differs
 * from what runs.
 *
 * @module
 */
import type { Clock } from "../../../lib/clock.ts";
import type { Logger } from "../../../lib/telemetry/logger.ts";
import type { ApiResponse } from "./_api_client.ts";
import { FailureStreak } from "./_backoff.ts";
import { Sleeper } from "./_sleep.ts";

/** The capability other components (the service's live reload) use. */
export interface RemoteConfigSource {
  /** The last config text fetched, if any. */
  current(): string | undefined;
  /** Calls `listener` with each new config text; returns the unsubscribe function. */
  subscribe(listener: (yamlText: string) => void): () => void;
}

const CONFIG_KEYS = ["receivers", "exporters", "processors", "service", "extensions", "connectors"];

function configOf(value: unknown): string | undefined {
  if (typeof value === "string") return value.trim() === "" ? undefined : value;
  if (typeof value === "object" && value !== null) return JSON.stringify(value, null, 2);
  return undefined;
}

/** The config text in an answer body, or undefined for "none". */
export function configTextFromResponse(contentType: string, text: string): string | undefined {
  const trimmed = text.trim();
  if (trimmed === "") return undefined;
  const looksJson = contentType.includes("json") || trimmed.startsWith("{");
  if (!looksJson) return text;
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    return contentType.includes("json") ? undefined : text;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return undefined;
  const record = parsed as Record<string, unknown>;
  if ("config" in record) return configOf(record.config);
  const data = record.data;
  if (typeof data === "object" && data !== null && "config" in data) {
    return configOf((data as Record<string, unknown>).config);
  }
  if (CONFIG_KEYS.some((k) => k in record)) return JSON.stringify(record, null, 2);
  return undefined;
}

/** Options of {@linkcode RemoteConfigPoller}. */
export interface RemoteConfigOptions {
  /** `GET /api/v2/agents/{id}/config`. */
  fetchConfig(agentId: string): Promise<ApiResponse>;
  logger: Logger;
  pollIntervalMs: number;
  /** The agent ID when registered, else undefined (no poll). */
  agentId(): string | undefined;
  /** Time for the poll interval. @default SYSTEM_CLOCK */
  clock?: Clock;
}

/** Polls the remote config and offers it as a {@linkcode RemoteConfigSource}. */
export class RemoteConfigPoller implements RemoteConfigSource {
  readonly #o: RemoteConfigOptions;
  readonly #sleeper: Sleeper;
  readonly #listeners = new Set<(yamlText: string) => void>();
  readonly #streak: FailureStreak;
  #current: string | undefined;
  #loop: Promise<void> | undefined;

  /** Creates a poller; nothing runs before {@linkcode RemoteConfigPoller.start}. */
  constructor(options: RemoteConfigOptions) {
    this.#o = options;
    this.#sleeper = new Sleeper(options.clock);
    this.#streak = new FailureStreak(options.logger, "Fetching the remote config");
  }

  /** @inheritdoc */
  current(): string | undefined {
    return this.#current;
  }

  /** @inheritdoc */
  subscribe(listener: (yamlText: string) => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  /** Starts polling in the background. */
  start(): void {
    this.#loop ??= this.#run();
  }

  /** Polls now (after a registration). */
  pollNow(): void {
    this.#sleeper.wake();
  }

  /** Stops polling. */
  async stop(): Promise<void> {
    this.#sleeper.stop();
    await this.#loop;
  }

  async #run(): Promise<void> {
    while (!this.#sleeper.stopped) {
      const id = this.#o.agentId();
      if (id !== undefined) await this.#poll(id);
      await this.#sleeper.sleep(this.#o.pollIntervalMs);
    }
  }

  async #poll(id: string): Promise<void> {
    let response;
    try {
      response = await this.#o.fetchConfig(id);
    } catch (error) {
      if (!this.#sleeper.stopped) {
        this.#streak.failed(error instanceof Error ? error.message : String(error));
      }
      return;
    }
    if (response.status === 204 || response.status === 404) {
      this.#streak.succeeded();
      return;
    }
    if (response.status < 200 || response.status >= 300) {
      this.#streak.failed(`the API answered ${response.status}`, { status: response.status });
      return;
    }
    this.#streak.succeeded();
    const text = configTextFromResponse(response.contentType, response.text);
    if (text === undefined || text === this.#current) return;
    this.#current = text;
    this.#o.logger.info("Remote config changed", { agent_id: id, bytes: text.length });
    for (const listener of [...this.#listeners]) {
      try {
        listener(text);
      } catch (error) {
        this.#o.logger.error("A remote config subscriber failed", {
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
  }
}
