/**
 * Config of the `telemetryflow` extension: how tfo registers with the TelemetryFlow platform,
 * heartbeats, authenticates its exports and (optionally) fetches its config remotely.
 *
 * ```yaml
 * extensions:
 *   telemetryflow:
 *     endpoint: https://api.telemetryflow.id     # the platform API's base URL
 *     api_key_id: ${env:TELEMETRYFLOW_API_KEY_ID}
 *     api_key_secret: ${env:TELEMETRYFLOW_API_KEY_SECRET}
 *     agent: {name: web-01, environment: production, tags: {region: eu-west-1}}
 *     workspace_id: ws-1
 *     tenant_id: t-1
 *     capabilities: [otlp_grpc, otlp_http, hostmetrics]
 *     heartbeat: {interval: 60s, include_system_info: true, timeout: 10s}
 *     remote_config: {enabled: false, poll_interval: 5m}
 *     storage: file_storage                        # keeps the agent ID across restarts
 * ```
 *
 * Environment fallbacks: a key that is absent from the YAML takes its value from the environment
 * **when the config is validated** (so `tfo validate` reports a missing endpoint or key with the
 * variable to set, and `tfo run` fails before anything starts): `endpoint` ←
 * `TELEMETRYFLOW_API_ENDPOINT`, else `TELEMETRYFLOW_ENDPOINT` when that is an http(s) URL (in
 * TFO-Agent configs it often names the OTLP collector as `host:port` instead, which is not the
 * API); `api_key_id` ← `TELEMETRYFLOW_API_KEY_ID`; `api_key_secret` ←
 * `TELEMETRYFLOW_API_KEY_SECRET`; `agent.id` ← `TELEMETRYFLOW_AGENT_ID`; `agent.name` ←
 * `TELEMETRYFLOW_AGENT_NAME` (else the host name, at start); `agent.environment` ←
 * `TELEMETRYFLOW_ENVIRONMENT`; `workspace_id` ← `TELEMETRYFLOW_WORKSPACE_ID`; `tenant_id` ←
 * `TELEMETRYFLOW_TENANT_ID`; `collector.id` / `collector.name` ← `TELEMETRYFLOW_COLLECTOR_ID` /
 * `TELEMETRYFLOW_COLLECTOR_NAME`. An empty variable, and an empty value of `endpoint`, the key
 * fields, `workspace_id` or `tenant_id` (an unset `${env:VAR}`), count as unset. `${env:…}` in the YAML still
 * works as everywhere else.
 *
 * `capabilities` is a list in the config because an extension cannot see the other components of
 * the config it runs in; the TFO-Agent config translation fills it from the collectors it
 * translated.
 *
 * `backoff` governs registration and heartbeat retries while the API is unreachable or failing:
 * exponential from `initial_interval` by `multiplier` up to `max_interval`, each wait randomized by
 * ±`randomization_factor` (the Collector's `retry_on_failure` keys). It never gives up: an agent
 * must come back once the platform does. The default `max_interval` of 2m keeps a recovered
 * platform from waiting long, well inside its 15-minute offline mark.
 *
 * @module
 */
import { z } from "../../../lib/config/z.js";
import { duration, httpUrl } from "../../../lib/config/schema.ts";

/** An optional string where `""` (an unset `${env:VAR}`) counts as absent. */
const blankable = () =>
  z.string().optional().transform((v) => (v === undefined || v.trim() === "" ? undefined : v));

const positiveDuration = (defaultValue: string) =>
  duration(defaultValue).pipe(z.number().positive({ message: "must be greater than 0" }));

const agentSchema = z.strictObject({
  /** A fixed agent ID; wins over the one kept in storage. Default: assigned at registration. */
  id: z.string().min(1).optional(),
  /** The agent's display name. Default: the host name. */
  name: z.string().min(1).optional(),
  /** Tags sent at registration. */
  tags: z.record(z.string(), z.string()).default({}),
  /** The deployment environment (`production`, …), sent as the `environment` tag. */
  environment: z.string().min(1).optional(),
});

const collectorSchema = z.strictObject({
  /** The collector this agent reports to, sent as a resource attribute. */
  id: z.string().min(1).optional(),
  /** Its name, sent as a resource attribute. */
  name: z.string().min(1).optional(),
});

const heartbeatSchema = z.strictObject({
  /** Time between heartbeats. */
  interval: positiveDuration("60s"),
  /** Send the full system info; when false, only host and agent identity fields. */
  include_system_info: z.boolean().default(true),
  /** The deadline of each API call (registration, heartbeat, remote config). */
  timeout: positiveDuration("10s"),
  /** Where the host's file system is mounted (`/hostfs` in a container), as in `hostmetrics`. */
  root_path: z.string().default(""),
});

const remoteConfigSchema = z.strictObject({
  /** Poll the platform for this agent's config and offer it to the service for reload. */
  enabled: z.boolean().default(false),
  /** Time between polls. */
  poll_interval: positiveDuration("5m"),
});

const backoffSchema = z.strictObject({
  /** The first wait after a failure. */
  initial_interval: positiveDuration("5s"),
  /** The longest wait. */
  max_interval: positiveDuration("2m"),
  /** How much each wait grows. */
  multiplier: z.number().min(1).default(1.5),
  /** Each wait is randomized within ±this fraction. */
  randomization_factor: z.number().min(0).max(1).default(0.5),
});

const tlsSchema = z.strictObject({
  /** A PEM file of CA certificates trusted in addition to the system's. */
  ca_file: z.string().min(1).optional(),
});

const baseSchema = z.strictObject({
  /** The platform API's base URL (`/api/v2/agents/…` is appended). */
  endpoint: z.union([z.literal(""), httpUrl()]).optional().transform((v) =>
    v === "" ? undefined : v
  ),
  /** The API key ID (`tfk_…`). */
  api_key_id: blankable(),
  /** The API key secret (`tfs_…`); never logged. */
  api_key_secret: blankable(),
  agent: agentSchema.prefault({}),
  /** The workspace the agent belongs to. */
  workspace_id: blankable(),
  /** The tenant the agent belongs to. */
  tenant_id: blankable(),
  collector: collectorSchema.prefault({}),
  /** What this agent can do (`otlp_grpc`, `otlp_http`, `hostmetrics`, `filelog`, …). */
  capabilities: z.array(z.string().min(1)).default([]),
  heartbeat: heartbeatSchema.prefault({}),
  remote_config: remoteConfigSchema.prefault({}),
  backoff: backoffSchema.prefault({}),
  /** A storage extension (`file_storage`) that keeps the agent ID across restarts. */
  storage: z.string().min(1).optional(),
  tls: tlsSchema.optional(),
});

/** Reads an environment variable; `undefined` when unset, empty, or not permitted. */
export type EnvLookup = (name: string) => string | undefined;

function processEnv(name: string): string | undefined {
  try {
    const value = Deno.env.get(name);
    return value === "" ? undefined : value;
  } catch {
    return undefined;
  }
}

function isHttpUrl(text: string): boolean {
  try {
    const u = new URL(text);
    return u.protocol === "http:" || u.protocol === "https:";
  } catch {
    return false;
  }
}

type BaseConfig = z.output<typeof baseSchema>;

/** The validated config: endpoint and credentials are known (from YAML or environment). */
export type TelemetryflowConfig = Omit<BaseConfig, "endpoint" | "api_key_id" | "api_key_secret"> & {
  endpoint: string;
  api_key_id: string;
  api_key_secret: string;
};

/**
 * The schema with environment fallbacks read through `env` (the process environment by default).
 * @param env how variables are read; tests pass their own
 */
export function telemetryflowConfigSchemaWith(env: EnvLookup = processEnv) {
  return baseSchema.transform((c, ctx): TelemetryflowConfig => {
    const fromEnv = (value: string | undefined, name: string) => value ?? env(name);
    let endpoint = c.endpoint ?? env("TELEMETRYFLOW_API_ENDPOINT");
    if (endpoint === undefined) {
      const general = env("TELEMETRYFLOW_ENDPOINT");
      if (general !== undefined && isHttpUrl(general)) endpoint = general;
    }
    if (endpoint !== undefined && !isHttpUrl(endpoint)) {
      ctx.addIssue({
        code: "custom",
        path: ["endpoint"],
        message: `must be an http or https URL, got "${endpoint}" from TELEMETRYFLOW_API_ENDPOINT`,
      });
    }
    const required: [keyof BaseConfig, string | undefined, string][] = [
      ["endpoint", endpoint, "TELEMETRYFLOW_API_ENDPOINT"],
      ["api_key_id", fromEnv(c.api_key_id, "TELEMETRYFLOW_API_KEY_ID"), "TELEMETRYFLOW_API_KEY_ID"],
      [
        "api_key_secret",
        fromEnv(c.api_key_secret, "TELEMETRYFLOW_API_KEY_SECRET"),
        "TELEMETRYFLOW_API_KEY_SECRET",
      ],
    ];
    for (const [key, value, variable] of required) {
      if (value === undefined) {
        ctx.addIssue({
          code: "custom",
          path: [key],
          message: `is required: set it or the environment variable ${variable}`,
        });
      }
    }
    const out = {
      ...c,
      endpoint: endpoint ?? "",
      api_key_id: required[1]![1] ?? "",
      api_key_secret: required[2]![1] ?? "",
      agent: { ...c.agent },
      collector: { ...c.collector },
    };
    const set = <T extends object>(target: T, key: keyof T & string, variable: string) => {
      const value = env(variable);
      if ((target as Record<string, unknown>)[key] === undefined && value !== undefined) {
        (target as Record<string, unknown>)[key] = value;
      }
    };
    set(out.agent, "id", "TELEMETRYFLOW_AGENT_ID");
    set(out.agent, "name", "TELEMETRYFLOW_AGENT_NAME");
    set(out.agent, "environment", "TELEMETRYFLOW_ENVIRONMENT");
    set(out, "workspace_id", "TELEMETRYFLOW_WORKSPACE_ID");
    set(out, "tenant_id", "TELEMETRYFLOW_TENANT_ID");
    set(out.collector, "id", "TELEMETRYFLOW_COLLECTOR_ID");
    set(out.collector, "name", "TELEMETRYFLOW_COLLECTOR_NAME");
    return out;
  });
}

/** The `telemetryflow` extension's config schema (environment fallbacks from the process). */
export const telemetryflowConfigSchema: z.ZodType<TelemetryflowConfig> =
  telemetryflowConfigSchemaWith();
