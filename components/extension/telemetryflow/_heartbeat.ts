/**
 * The agent session: a background loop that registers, then heartbeats every interval, and never
 * holds up the pipelines. While the API is unreachable or failing, attempts back off exponentially
 * (bounded, with jitter); a heartbeat answered 404 or 410 means the platform forgot the agent, so
 * it registers again (sending the ID it had; the platform may keep or replace it) and goes on.
 *
 * The first heartbeat follows a successful registration at once, so the platform sees the agent
 * online and with its system info right away; the rates in it span the time since the session
 * started (a baseline sample is taken first).
 *
 * @module
 */
import type { Clock } from "../../../lib/clock.ts";
import type { Logger } from "../../../lib/telemetry/logger.ts";
import { type ApiClient, ApiUnreachableError } from "./_api_client.ts";
import { Backoff, type BackoffPolicy, FailureStreak } from "./_backoff.ts";
import { agentIdFromResponse, type AgentIdStore, type RegistrationBody } from "./_registration.ts";
import { Sleeper } from "./_sleep.ts";
import type { IdentityInfo, SystemInfo } from "./_system_info.ts";

/** What the session needs. */
export interface SessionOptions {
  api: ApiClient;
  logger: Logger;
  /** Heartbeat interval, ms. */
  intervalMs: number;
  backoff: BackoffPolicy;
  /** Builds the registration body for the ID known so far. */
  registrationBody(agentId: string | undefined): Promise<RegistrationBody>;
  /** Builds the heartbeat's `systemInfo`. */
  systemInfo(): Promise<SystemInfo | IdentityInfo>;
  /** Prepares the first rates (a baseline sample); failures are ignored. */
  prime?(): Promise<void>;
  /** A configured agent ID: wins over the stored one. */
  configuredAgentId?: string;
  /** Finds the store at run time (the storage extension may start after this one). */
  store?: () => AgentIdStore;
  /** Called after each successful registration with the agent ID. */
  onRegistered?(agentId: string): void;
  /** Time for the interval and backoff waits. @default SYSTEM_CLOCK */
  clock?: Clock;
  /** Uniform in [0, 1), for backoff jitter. @default Math.random */
  random?: () => number;
}

type HeartbeatOutcome = "ok" | "gone" | "failed";

function describe(error: unknown): string {
  return error instanceof ApiUnreachableError || error instanceof Error
    ? error.message
    : String(error);
}

/** The running session. */
export class AgentSession {
  readonly #o: SessionOptions;
  readonly #sleeper: Sleeper;
  readonly #backoff: Backoff;
  readonly #registration: FailureStreak;
  readonly #heartbeat: FailureStreak;
  #agentId: string | undefined;
  #registered = false;
  #store: AgentIdStore | undefined;
  #loop: Promise<void> | undefined;
  #heartbeats = 0;

  /** Creates a session; nothing runs before {@linkcode AgentSession.start}. */
  constructor(options: SessionOptions) {
    this.#o = options;
    this.#agentId = options.configuredAgentId;
    this.#sleeper = new Sleeper(options.clock);
    this.#backoff = new Backoff(options.backoff, options.random);
    this.#registration = new FailureStreak(options.logger, "Registration with TelemetryFlow");
    this.#heartbeat = new FailureStreak(options.logger, "Heartbeat to TelemetryFlow");
  }

  /** The agent ID once known (configured, stored, or assigned). */
  get agentId(): string | undefined {
    return this.#agentId;
  }

  /** True while the platform knows the agent (registered, no 404/410 since). */
  get registered(): boolean {
    return this.#registered;
  }

  /** Heartbeats the platform accepted. */
  get heartbeats(): number {
    return this.#heartbeats;
  }

  /** Starts the loop in the background and returns at once. */
  start(): void {
    this.#loop ??= this.#run().catch((error) => {
      this.#o.logger.error("The TelemetryFlow session stopped unexpectedly", {
        error: describe(error),
      });
    });
  }

  /** Stops the loop (the API client must be closed by the caller to abort calls in flight). */
  async stop(): Promise<void> {
    this.#sleeper.stop();
    await this.#loop;
  }

  async #run(): Promise<void> {
    await this.#loadStoredId();
    await this.#o.prime?.().catch(() => {});
    while (!this.#sleeper.stopped) {
      if (!this.#registered) {
        if (!(await this.#register())) {
          await this.#sleeper.sleep(this.#backoff.nextDelay());
          continue;
        }
        this.#backoff.reset();
      }
      if (this.#sleeper.stopped) break;
      const outcome = await this.#beat();
      if (outcome === "ok") {
        this.#backoff.reset();
        await this.#sleeper.sleep(this.#o.intervalMs);
      } else if (outcome === "gone") {
        this.#registered = false;
      } else {
        await this.#sleeper.sleep(this.#backoff.nextDelay());
      }
    }
  }

  async #loadStoredId(): Promise<void> {
    const find = this.#o.store;
    if (find === undefined) return;
    for (let attempt = 0; !this.#sleeper.stopped; attempt++) {
      try {
        this.#store = find();
        const stored = await this.#store.load();
        if (this.#agentId === undefined && stored !== undefined) this.#agentId = stored;
        return;
      } catch (error) {
        // The storage extension may not have started yet: retry briefly, then go without.
        if (attempt >= 20) {
          this.#o.logger.warn("Cannot read the stored agent ID; registering without it", {
            error: describe(error),
          });
          this.#store = undefined;
          return;
        }
        await this.#sleeper.sleep(50);
      }
    }
  }

  async #register(): Promise<boolean> {
    let response;
    try {
      response = await this.#o.api.register(await this.#o.registrationBody(this.#agentId));
    } catch (error) {
      if (this.#sleeper.stopped) return false;
      this.#registration.failed(describe(error));
      return false;
    }
    if (response.status < 200 || response.status >= 300) {
      this.#registration.failed(`the API answered ${response.status}`, { status: response.status });
      return false;
    }
    const id = agentIdFromResponse(response.text) ?? this.#agentId;
    if (id === undefined) {
      this.#registration.failed("the answer carries no agent_id", { status: response.status });
      return false;
    }
    const changed = id !== this.#agentId;
    this.#agentId = id;
    this.#registered = true;
    this.#registration.succeeded();
    this.#o.logger.info("Registered with TelemetryFlow", { agent_id: id });
    if (this.#store !== undefined) {
      try {
        await this.#store.save(id);
      } catch (error) {
        this.#o.logger.warn("Cannot store the agent ID; a restart will register anew", {
          error: describe(error),
        });
      }
    }
    if (changed) this.#o.logger.debug("Agent ID assigned", { agent_id: id });
    this.#o.onRegistered?.(id);
    return true;
  }

  async #beat(): Promise<HeartbeatOutcome> {
    const id = this.#agentId!;
    let response;
    try {
      const systemInfo = await this.#o.systemInfo();
      response = await this.#o.api.heartbeat(id, { systemInfo });
    } catch (error) {
      if (this.#sleeper.stopped) return "failed";
      this.#heartbeat.failed(describe(error));
      return "failed";
    }
    if (response.status === 404 || response.status === 410) {
      this.#o.logger.warn("TelemetryFlow no longer knows this agent; registering again", {
        agent_id: id,
        status: response.status,
      });
      return "gone";
    }
    if (response.status < 200 || response.status >= 300) {
      this.#heartbeat.failed(`the API answered ${response.status}`, { status: response.status });
      return "failed";
    }
    this.#heartbeat.succeeded();
    this.#heartbeats++;
    return "ok";
  }
}
