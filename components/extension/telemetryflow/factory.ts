/**
 * The `telemetryflow` extension: makes tfo a TelemetryFlow agent. At start it checks its setup and
 * returns at once; in the background it registers with the platform (keeping the agent ID in a
 * storage extension across restarts), heartbeats with the system info, and — when enabled — polls
 * the remote config. None of this ever holds up the pipelines: an unreachable API means retries
 * with backoff and one warning per failure streak.
 *
 * Capabilities:
 * - `clientAuth` ({@linkcode ClientAuthenticator}): exporters with
 *   `auth: {authenticator: telemetryflow}` send `X-TelemetryFlow-Key-ID`,
 *   `X-TelemetryFlow-Key-Secret` and, once known, `X-TelemetryFlow-Agent-ID`.
 * - `remoteConfig` ({@linkcode RemoteConfigSource}): the last remote config text and change
 *   notifications (never notified while `remote_config.enabled` is false).
 *
 * `GET /api/v2/agents/{id}/status` is not used: a heartbeat's answer already says whether the
 * platform knows the agent (404/410 → register again).
 *
 * Secrets: the API key secret goes into request headers only; it is in no log line or error.
 *
 * @module
 */
import type { Extension, ExtensionFactory, Host } from "../../component.ts";
import { CLIENT_AUTH, type ClientAuthenticator } from "../../../lib/net/auth.ts";
import { getStorageClient } from "../../../lib/storage/provider.ts";
import type { StorageClient } from "../../../lib/storage/client.ts";
import type { Clock } from "../../../lib/clock.ts";
import type { Logger } from "../../../lib/telemetry/logger.ts";
import { type ApiClient, createApiClient } from "./_api_client.ts";
import { AgentSession } from "./_heartbeat.ts";
import { registrationBody, storageAgentIdStore } from "./_registration.ts";
import { RemoteConfigPoller, type RemoteConfigSource } from "./_remote_config.ts";
import { SystemInfoCollector } from "./_system_info.ts";
import { type TelemetryflowConfig, telemetryflowConfigSchema } from "./config.ts";

/** The capability name of the remote config source. */
export const REMOTE_CONFIG = "remoteConfig";

/** Header names of the client authenticator. */
export const TELEMETRYFLOW_HEADERS = {
  keyId: "X-TelemetryFlow-Key-ID",
  keySecret: "X-TelemetryFlow-Key-Secret",
  agentId: "X-TelemetryFlow-Agent-ID",
} as const;

/** Test seams of {@linkcode TelemetryflowExtension}. */
export interface TelemetryflowOptions {
  /** Time for heartbeats, backoff and remote config polls. @default SYSTEM_CLOCK */
  clock?: Clock;
  /** Uniform in [0, 1), for backoff jitter. @default Math.random */
  random?: () => number;
}

/** A `telemetryflow` instance. */
export class TelemetryflowExtension implements Extension {
  readonly #id: string;
  readonly #config: TelemetryflowConfig;
  readonly #logger: Logger;
  readonly #version: string;
  readonly #options: TelemetryflowOptions;
  readonly #remote: RemoteConfigPoller | undefined;
  readonly #remoteSource: RemoteConfigSource;
  #api: ApiClient | undefined;
  #session: AgentSession | undefined;
  #storage: StorageClient | undefined;
  #started = false;
  #stopping: Promise<void> | undefined;
  /** Offers `clientAuth` and `remoteConfig`. */
  readonly capabilities: Readonly<Record<string, unknown>>;

  /** Creates the extension; nothing runs before {@linkcode TelemetryflowExtension.start}. */
  constructor(
    id: string,
    config: TelemetryflowConfig,
    logger: Logger,
    version: string,
    options: TelemetryflowOptions = {},
  ) {
    this.#id = id;
    this.#options = options;
    this.#config = config;
    this.#logger = logger;
    this.#version = version;
    const listeners = new Set<(yamlText: string) => void>();
    let poller: RemoteConfigPoller | undefined;
    if (config.remote_config.enabled) {
      poller = new RemoteConfigPoller({
        fetchConfig: (agentId) => this.#apiClient().fetchConfig(agentId),
        logger,
        pollIntervalMs: config.remote_config.poll_interval,
        agentId: () => this.#session?.registered ? this.#session.agentId : undefined,
        ...(options.clock === undefined ? {} : { clock: options.clock }),
      });
    }
    this.#remote = poller;
    this.#remoteSource = poller ?? {
      current: () => undefined,
      subscribe: (listener) => {
        listeners.add(listener);
        return () => void listeners.delete(listener);
      },
    };
    const auth: ClientAuthenticator = { headers: () => this.#headers() };
    this.capabilities = Object.freeze({ [CLIENT_AUTH]: auth, [REMOTE_CONFIG]: this.#remoteSource });
  }

  /** The agent ID once known. */
  get agentId(): string | undefined {
    return this.#session?.agentId ?? this.#config.agent.id;
  }

  #apiClient(): ApiClient {
    if (this.#api === undefined) throw new Error("The TelemetryFlow extension is not running");
    return this.#api;
  }

  #headers(): Readonly<Record<string, string>> {
    const headers: Record<string, string> = {
      [TELEMETRYFLOW_HEADERS.keyId]: this.#config.api_key_id,
      [TELEMETRYFLOW_HEADERS.keySecret]: this.#config.api_key_secret,
    };
    const agentId = this.agentId;
    if (agentId !== undefined) headers[TELEMETRYFLOW_HEADERS.agentId] = agentId;
    return headers;
  }

  /**
   * Checks the setup (storage extension defined, CA file readable) and starts the background
   * session; resolves without waiting for the platform.
   */
  async start(host: Host): Promise<void> {
    if (this.#started) return;
    const config = this.#config;
    if (config.storage !== undefined && host.getExtension(config.storage) === undefined) {
      throw new Error(
        `Cannot use storage "${config.storage}" for extension "${this.#id}": no such extension ` +
          "is defined and enabled in service.extensions",
      );
    }
    let caPem: string | undefined;
    if (config.tls?.ca_file !== undefined) {
      try {
        caPem = await Deno.readTextFile(config.tls.ca_file);
      } catch (error) {
        throw new Error(
          `Cannot read tls.ca_file "${config.tls.ca_file}": ${
            error instanceof Error ? error.message : String(error)
          }`,
        );
      }
    }
    this.#started = true;
    const api = createApiClient({
      endpoint: config.endpoint,
      keyId: config.api_key_id,
      keySecret: config.api_key_secret,
      timeoutMs: config.heartbeat.timeout,
      userAgent: `tfo/${this.#version}`,
      ...(caPem === undefined ? {} : { caPem }),
    });
    this.#api = api;
    const collector = new SystemInfoCollector({
      version: this.#version,
      startTimeMs: Date.now(),
      root: config.heartbeat.root_path,
    });
    const storageId = config.storage;
    this.#session = new AgentSession({
      api,
      logger: this.#logger,
      intervalMs: config.heartbeat.interval,
      backoff: {
        initialMs: config.backoff.initial_interval,
        maxMs: config.backoff.max_interval,
        multiplier: config.backoff.multiplier,
        randomizationFactor: config.backoff.randomization_factor,
      },
      registrationBody: (agentId) => registrationBody(config, this.#version, agentId),
      systemInfo: () =>
        config.heartbeat.include_system_info ? collector.collect() : Promise.resolve(
          collector.identity(),
        ),
      prime: () => config.heartbeat.include_system_info ? collector.prime() : Promise.resolve(),
      ...(config.agent.id === undefined ? {} : { configuredAgentId: config.agent.id }),
      ...(storageId === undefined ? {} : {
        store: () => {
          this.#storage ??= getStorageClient(host, storageId, "extension", this.#id);
          return storageAgentIdStore(this.#storage);
        },
      }),
      onRegistered: () => this.#remote?.pollNow(),
      ...this.#options,
    });
    this.#session.start();
    this.#remote?.start();
    this.#logger.info("TelemetryFlow agent starting", {
      endpoint: config.endpoint,
      heartbeat_interval_ms: config.heartbeat.interval,
      remote_config: config.remote_config.enabled,
    });
  }

  /** Stops the session and polling, aborting calls in flight; safe to call twice. */
  shutdown(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    // Abort calls in flight first, so the loops see their calls fail and stop at once.
    const stopping = [this.#session?.stop(), this.#remote?.stop()];
    this.#api?.close();
    await Promise.all(stopping);
    await this.#storage?.close().catch(() => {});
  }
}

/** The `telemetryflow` extension. */
export const telemetryflowFactory: ExtensionFactory<TelemetryflowConfig> = {
  kind: "extension",
  type: "telemetryflow",
  configSchema: telemetryflowConfigSchema,
  stability: "alpha",
  create(settings) {
    return new TelemetryflowExtension(
      settings.id,
      settings.config,
      settings.logger,
      settings.buildInfo.version,
    );
  },
};
