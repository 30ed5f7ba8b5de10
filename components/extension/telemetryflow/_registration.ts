/**
 * Registration with the platform: the body of `POST /api/v2/agents/register`, the agent ID in its
 * answer, and keeping that ID in storage so a restart registers as the same agent.
 *
 * @module
 */
import { hostArch, osType } from "../../../lib/host/semconv.ts";
import { readKernelIdentity, readOsRelease } from "../../../lib/host/mod.ts";
import type { StorageClient } from "../../../lib/storage/client.ts";
import type { TelemetryflowConfig } from "./config.ts";

/** The registration body, as the platform's contract names its fields. */
export interface RegistrationBody {
  /** Present when the agent already has an ID (configured, stored, or from this run). */
  agent_id?: string;
  /** The agent's display name (`agent.name`, else the host name). */
  name: string;
  version: string;
  hostname: string;
  ip_address: string;
  workspace_id?: string;
  tenant_id?: string;
  capabilities: string[];
  resource_attributes: Record<string, string>;
  tags: Record<string, string>;
  /** ISO 8601. */
  registered_at: string;
}

/** The first non-loopback IPv4 address of this machine, or `""`. */
export function firstIpv4Address(
  interfaces: () => Deno.NetworkInterfaceInfo[] = Deno.networkInterfaces,
): string {
  try {
    for (const nic of interfaces()) {
      if (nic.family === "IPv4" && !nic.address.startsWith("127.")) return nic.address;
    }
  } catch {
    // no sys permission
  }
  return "";
}

function hostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "";
  }
}

/** `os.description`: the distribution's pretty name and the uname line, as the `system` detector. */
export async function osDescription(root = ""): Promise<string> {
  const [release, kernel] = await Promise.all([
    readOsRelease(root).catch(() => undefined),
    readKernelIdentity(root).catch(() => undefined),
  ]);
  const uname = kernel === undefined || kernel.release === ""
    ? ""
    : `${kernel.osType} ${kernel.hostname} ${kernel.release} ${kernel.version} ${Deno.build.arch}`;
  const pretty = release?.prettyName || [release?.name, release?.version].filter(Boolean).join(" ");
  if (pretty !== "" && uname !== "") return `${pretty} (${uname})`;
  return pretty || uname || Deno.build.os;
}

/** Builds the registration body. */
export async function registrationBody(
  config: TelemetryflowConfig,
  version: string,
  agentId: string | undefined,
  now: Date = new Date(),
): Promise<RegistrationBody> {
  const host = hostname();
  const resource: Record<string, string> = {
    "os.type": osType(),
    "os.description": await osDescription(config.heartbeat.root_path),
    "host.arch": hostArch(),
    "service.name": "tfo",
    "service.version": version,
  };
  if (config.agent.environment !== undefined) {
    resource["deployment.environment.name"] = config.agent.environment;
  }
  if (config.collector.id !== undefined) {
    resource["telemetryflow.collector.id"] = config.collector.id;
  }
  if (config.collector.name !== undefined) {
    resource["telemetryflow.collector.name"] = config.collector.name;
  }
  const tags: Record<string, string> = { ...config.agent.tags };
  if (config.agent.environment !== undefined && tags.environment === undefined) {
    tags.environment = config.agent.environment;
  }
  const body: RegistrationBody = {
    name: config.agent.name ?? host,
    version,
    hostname: host,
    ip_address: firstIpv4Address(),
    capabilities: [...config.capabilities],
    resource_attributes: resource,
    tags,
    registered_at: now.toISOString(),
  };
  if (agentId !== undefined) body.agent_id = agentId;
  if (config.workspace_id !== undefined) body.workspace_id = config.workspace_id;
  if (config.tenant_id !== undefined) body.tenant_id = config.tenant_id;
  return body;
}

function idIn(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const record = value as Record<string, unknown>;
  for (const key of ["agent_id", "agentId", "id"]) {
    const id = record[key];
    if (typeof id === "string" && id !== "") return id;
    if (typeof id === "number") return String(id);
  }
  return undefined;
}

/**
 * The agent ID in a registration answer: `{agent_id}` as the contract says, also inside a `data`
 * envelope, and `agentId`/`id` spellings. Undefined when there is none.
 */
export function agentIdFromResponse(text: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  return idIn(parsed) ?? idIn((parsed as { data?: unknown } | null)?.data);
}

const AGENT_ID_KEY: Deno.KvKey = ["agent_id"];

/** Where the agent ID is kept between runs. */
export interface AgentIdStore {
  load(): Promise<string | undefined>;
  save(id: string): Promise<void>;
}

/** An {@linkcode AgentIdStore} over a storage client. */
export function storageAgentIdStore(client: StorageClient): AgentIdStore {
  return {
    async load() {
      const value = await client.get<string>(AGENT_ID_KEY);
      return typeof value === "string" && value !== "" ? value : undefined;
    },
    save: (id) => client.set(AGENT_ID_KEY, id),
  };
}
