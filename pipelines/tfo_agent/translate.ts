/**
 * Translates a config in the TFO-Agent shape (the TelemetryFlow Go agent's `tfo-agent.yaml`:
 * `telemetryflow`, `agent`, `heartbeat`, `collectors`, `exporter.otlp`, `buffer`, `logging`) into
 * the OpenTelemetry-shaped raw config tfo runs, keeping positions: every translated value carries
 * the file, line and column of the TFO-Agent key it came from, so validation of the result points
 * into the file the user wrote.
 *
 * | TFO-Agent | tfo |
 * | --- | --- |
 * | `collectors.system` | `host_metrics/system`: cpu + load, memory + paging, disk + filesystem, network |
 * | `collectors.node_exporter` | `host_metrics/node_exporter`: one scraper per sub-collector, excludes as regexp filters; a scraper system also runs moves here (once, never twice) |
 * | `collectors.process` | `host_metrics/process`: the `process` scraper, `processes` as strict names |
 * | `collectors.logs` | `file_log/logs`: `paths` → `include`, line patterns → router operators |
 * | `collectors.ebpf` | `ebpf`: the same keys (`sample_rate` only at 100, no `cilium`) |
 * | `collectors.kubernetes` | `k8s_cluster`, `k8s_events`, `kubelet_stats` (see `_kubernetes.ts`) |
 * | `exporter.otlp` + `telemetryflow` | `otlp_grpc/telemetryflow` (gRPC) or `otlp_http/telemetryflow`, `auth: telemetryflow` |
 * | `buffer` | `file_storage/buffer` as the exporter's persistent `sending_queue` |
 * | `telemetryflow` + `agent` + `heartbeat` | the `telemetryflow` extension |
 * | `agent.tags`, `agent.labels`, `agent.name`, `agent.hostname` | a `resource/agent` processor |
 * | `exporter.otlp.batch_size`, `flush_interval` | a `batch` processor |
 * | `resources.memory` | a `memory_limiter` processor |
 * | `logging` | `service.telemetry.logs` |
 *
 * Collectors and sections tfo cannot provide (`docker`, `fluent_bit`, …) are errors when enabled and
 * warnings when not; nothing is dropped without a word.
 *
 * Values are taken as written, `${env:…}` references included, wherever they pass through
 * unchanged; decisions (is a collector on, which protocol) use the expanded values.
 *
 * @module
 */
import type { Diagnostic } from "../diagnostics.ts";
import { expandTree } from "../_env.ts";
import type { Env } from "../_env.ts";
import type { Position, RawMap, RawNode } from "../_raw.ts";
import { parseNode } from "../_schema_issues.ts";
import { translateCollectors } from "./_collectors.ts";
import { translateKubernetes } from "./_kubernetes.ts";
import { BUFFER_STORAGE_ID, idList, translateExporter } from "./_exporter.ts";
import { list, map, scalar, sourceOf } from "./_nodes.ts";
import type { Source } from "./_nodes.ts";
import { pruneUnsupported } from "./_unsupported.ts";
import { tfoAgentSchema } from "./schema.ts";
import type { TfoAgentConfig } from "./schema.ts";

/** Top-level keys that mark the TFO-Agent shape. */
export const TFO_AGENT_MARKERS: readonly string[] = ["telemetryflow", "agent", "collectors"];

/**
 * True when a config is in the TFO-Agent shape: it has `telemetryflow`, `agent` or `collectors`
 * at the top, no `receivers` and no `service.pipelines`. (A `service` with only `telemetry` is
 * tfo's own settings laid over the translation: `--set service.telemetry.metrics.level=none`.)
 */
export function isTfoAgentShape(root: RawNode): root is RawMap {
  if (root.kind !== "map" || !TFO_AGENT_MARKERS.some((k) => root.entries.has(k))) return false;
  const service = root.entries.get("service")?.value;
  return !root.entries.has("receivers") &&
    (service === undefined || (service.kind === "map" && !service.entries.has("pipelines")));
}

/** What {@linkcode translateTfoAgent} returns. */
export interface TfoAgentTranslation {
  /** The OpenTelemetry-shaped tree, before environment expansion; undefined after an error. */
  root: RawMap | undefined;
  /** Errors and warnings about the TFO-Agent config, at its positions. */
  diagnostics: Diagnostic[];
}

/** The ID of the `resource` processor carrying the agent's identity. */
export const RESOURCE_PROCESSOR_ID = "resource/agent";

/**
 * Translates a merged TFO-Agent tree (before environment expansion).
 * @param env the environment, for the values translation decisions depend on
 */
export function translateTfoAgent(root: RawMap, env: Env): TfoAgentTranslation {
  const diagnostics: Diagnostic[] = [];
  const service = root.entries.get("service");
  const own = service === undefined ? root : withoutKey(root, "service");
  if (service !== undefined && service.value.kind === "map") {
    for (const [key, entry] of service.value.entries) {
      if (key === "telemetry") continue;
      diagnostics.push({
        severity: "error",
        ...entry.keyPos,
        path: `service.${key}`,
        message: "is not accepted with the TFO-Agent shape, which builds the service itself " +
          "(only service.telemetry may be given)",
      });
    }
  }
  const expanded = expandTree(own, env, []) as RawMap;
  const pruned = pruneUnsupported(expanded, diagnostics);
  const parsed = parseNode(tfoAgentSchema, pruned, [], root.pos, { nullAsEmpty: true });
  diagnostics.push(...parsed.diagnostics);
  if (!parsed.ok) return { root: undefined, diagnostics };
  const cfg = parsed.value as TfoAgentConfig;
  const src = sourceOf(own, expanded);
  const built = build(src, cfg, env, root.pos, diagnostics);
  const telemetry = service?.value.kind === "map"
    ? service.value.entries.get("telemetry")
    : undefined;
  const out = built === undefined || telemetry === undefined
    ? built
    : withTelemetry(built, telemetry.value);
  const failed = out === undefined || diagnostics.some((d) => d.severity === "error");
  return { root: failed ? undefined : out, diagnostics };
}

function build(
  src: Source,
  cfg: TfoAgentConfig,
  env: Env,
  top: Position,
  diagnostics: Diagnostic[],
): RawMap | undefined {
  const storage = cfg.buffer.enabled ? BUFFER_STORAGE_ID : undefined;
  const receivers = translateCollectors(src, cfg, storage, diagnostics);
  const k8s = translateKubernetes(src, cfg, env, diagnostics);
  for (const [id, node] of k8s.metrics) receivers.metrics.set(id, node);
  for (const [id, node] of k8s.logs) receivers.logs.set(id, node);
  const exporter = translateExporter(src, cfg, diagnostics);
  if (exporter === undefined) return undefined;
  const x = cfg.exporter.otlp;
  if (!x.enabled) {
    diagnostics.push({
      severity: "error",
      ...src.at(["exporter", "otlp", "enabled"]),
      path: "exporter.otlp.enabled",
      message: "must be true: the OTLP exporter is where the TFO-Agent shape sends everything " +
        "it collects",
    });
    return undefined;
  }
  const signals: Array<["metrics" | "logs", Map<string, RawMap>]> = [];
  for (
    const [signal, found] of [["metrics", receivers.metrics], ["logs", receivers.logs]] as const
  ) {
    if (found.size === 0) continue;
    if (!x[signal].enabled) {
      diagnostics.push({
        severity: "warning",
        ...src.at(["exporter", "otlp", signal, "enabled"]),
        path: `exporter.otlp.${signal}.enabled`,
        message: `is false, so the ${signal} of ${[...found.keys()].join(", ")} are not collected`,
      });
      continue;
    }
    signals.push([signal, found]);
  }
  if (signals.length === 0) {
    diagnostics.push({
      severity: "error",
      ...src.at(["collectors"]),
      path: "collectors",
      message: "no collector is enabled (and exported): enable collectors.system, " +
        "node_exporter, process, logs, ebpf or kubernetes",
    });
    return undefined;
  }

  const processors = processorsOf(src, cfg, k8s.resource);
  const pipelineProcessors = [...processors.keys()];
  const extensions: Record<string, RawNode | undefined> = {};
  if (exporter.storage !== undefined) extensions[BUFFER_STORAGE_ID] = exporter.storage;
  const capabilities = [
    ...([...receivers.metrics.keys()].some((id) => id.startsWith("host_metrics/"))
      ? ["hostmetrics"]
      : []),
    ...(receivers.metrics.has("ebpf") ? ["ebpf"] : []),
    ...(receivers.logs.has("file_log/logs") ? ["filelog"] : []),
    ...(k8s.metrics.size + k8s.logs.size > 0 ? ["kubernetes"] : []),
  ];
  extensions.telemetryflow = telemetryflowExtension(src, cfg, env, capabilities, storage);

  const receiverEntries: Record<string, RawNode> = {};
  const pipelines: Record<string, RawNode> = {};
  for (const [signal, found] of signals) {
    for (const [id, node] of found) receiverEntries[id] = node;
    const at = src.at(["collectors"]);
    pipelines[signal] = map(at, {
      receivers: idList(src, ["collectors"], [...found.keys()]),
      processors: idList(src, ["collectors"], pipelineProcessors),
      exporters: idList(src, ["exporter", "otlp"], [exporter.id]),
    });
  }
  return map(top, {
    extensions: map(top, extensions),
    receivers: map(src.at(["collectors"]), receiverEntries),
    processors: map(top, Object.fromEntries(processors)),
    exporters: map(src.at(["exporter"]), { [exporter.id]: exporter.node }),
    service: map(top, {
      extensions: list(top, Object.keys(extensions).map((id) => scalar(id, top))),
      pipelines: map(src.at(["collectors"]), pipelines),
      telemetry: telemetryOf(src, cfg, diagnostics),
    }),
  });
}

/** `memory_limiter` (when `resources.memory` sets limits), `resource/agent` and `batch`. */
function processorsOf(
  src: Source,
  cfg: TfoAgentConfig,
  extra: ReadonlyArray<[string, RawNode]>,
): Map<string, RawNode> {
  const out = new Map<string, RawNode>();
  const mem = cfg.resources?.memory;
  if (cfg.resources?.enabled && mem !== undefined && mem.max_mb > 0) {
    const at = src.at(["resources", "memory"]);
    const spike = mem.soft_limit_mb > 0 && mem.soft_limit_mb < mem.max_mb
      ? src.derived(
        ["resources", "memory", "soft_limit_mb"],
        Math.floor(mem.max_mb - mem.soft_limit_mb),
      )
      : undefined;
    out.set(
      "memory_limiter",
      map(at, {
        check_interval: scalar("1s", at),
        limit_mib: src.copy(["resources", "memory", "max_mb"], mem.max_mb),
        spike_limit_mib: spike,
      }),
    );
  }
  const resource = resourceProcessor(src, cfg, extra);
  if (resource !== undefined) out.set(RESOURCE_PROCESSOR_ID, resource);
  const x = ["exporter", "otlp"];
  out.set(
    "batch",
    map(src.at(x), {
      send_batch_size: src.copy([...x, "batch_size"], cfg.exporter.otlp.batch_size),
      send_batch_max_size: src.copy([...x, "batch_size"], cfg.exporter.otlp.batch_size),
      timeout: src.copy([...x, "flush_interval"], "10s"),
    }),
  );
  return out;
}

/** One `upsert` action of the resource processor. */
function upsert(key: string, value: RawNode): RawMap {
  return map(value.pos, {
    key: scalar(key, value.pos),
    value,
    action: scalar("upsert", value.pos),
  });
}

/**
 * The agent's identity on every resource: `agent.tags` and `agent.labels` under their own keys,
 * `telemetryflow.agent.name`, `host.name` (when `agent.hostname` is set),
 * `deployment.environment.name` (from the `environment` tag) and `extra` (the Kubernetes
 * cluster's name and cloud).
 */
function resourceProcessor(
  src: Source,
  cfg: TfoAgentConfig,
  extra: ReadonlyArray<[string, RawNode]>,
): RawMap | undefined {
  const actions: RawNode[] = extra.map(([key, value]) => upsert(key, value));
  const a = cfg.agent;
  if (a.name !== "") {
    actions.push(upsert("telemetryflow.agent.name", src.copy(["agent", "name"], a.name)));
  }
  if (a.hostname !== "") {
    actions.push(upsert("host.name", src.copy(["agent", "hostname"], a.hostname)));
  }
  for (const group of ["tags", "labels"] as const) {
    for (const [key, value] of Object.entries(a[group])) {
      actions.push(upsert(key, src.copy(["agent", group, key], value)));
    }
  }
  const env = a.tags.environment;
  if (env !== undefined && env !== "") {
    actions.push(
      upsert("deployment.environment.name", src.copy(["agent", "tags", "environment"], env)),
    );
  }
  if (actions.length === 0) return undefined;
  const at = src.at(["agent"]);
  return map(at, { attributes: list(at, actions) });
}

/**
 * The value at `path` as written when it is text, else its text (the extension takes string tags;
 * a number or boolean tag is passed as its text).
 */
function textCopy(src: Source, path: readonly string[], value: string | number | boolean): RawNode {
  const node = src.node(path);
  return node?.kind === "scalar" && typeof node.value === "string"
    ? node
    : src.derived(path, String(value));
}

/** A whole `${env:NAME}` reference, typed like a plain YAML value once expanded. */
function envRef(name: string, pos: Position): RawNode {
  return { kind: "scalar", value: `\${env:${name}}`, pos, quoted: false };
}

/** The `telemetryflow` extension from `telemetryflow`, `api` (legacy), `agent` and `heartbeat`. */
function telemetryflowExtension(
  src: Source,
  cfg: TfoAgentConfig,
  env: Env,
  capabilities: readonly string[],
  storage: string | undefined,
): RawMap {
  const tf = cfg.telemetryflow;
  const legacy = cfg.api;
  const at = src.at(["telemetryflow"]);
  // A value from telemetryflow, else from the legacy api section, else from the environment.
  const pick = (key: "api_key_id" | "api_key_secret" | "workspace_id" | "tenant_id") => {
    if (tf[key] !== "") return src.copy(["telemetryflow", key], tf[key]);
    if (legacy !== undefined && legacy[key] !== "") return src.copy(["api", key], legacy[key]);
    return undefined;
  };
  const a = cfg.agent;
  const tags = Object.entries(a.tags);
  const hb = ["heartbeat"];
  return map(at, {
    endpoint: apiEndpoint(src, cfg, env),
    api_key_id: pick("api_key_id") ??
      envRef("TELEMETRYFLOW_API_KEY_ID", src.at(["telemetryflow", "api_key_id"])),
    api_key_secret: pick("api_key_secret") ??
      envRef("TELEMETRYFLOW_API_KEY_SECRET", src.at(["telemetryflow", "api_key_secret"])),
    workspace_id: pick("workspace_id"),
    tenant_id: pick("tenant_id"),
    agent: map(src.at(["agent"]), {
      id: a.id === "" ? undefined : src.copy(["agent", "id"], a.id),
      name: a.name === "" ? undefined : src.copy(["agent", "name"], a.name),
      environment: a.tags.environment !== undefined && a.tags.environment !== ""
        ? textCopy(src, ["agent", "tags", "environment"], a.tags.environment)
        : undefined,
      tags: tags.length === 0 ? undefined : map(
        src.at(["agent", "tags"]),
        Object.fromEntries(tags.map(([k, v]) => [k, textCopy(src, ["agent", "tags", k], v)])),
      ),
    }),
    capabilities: list(at, capabilities.map((c) => scalar(c, at))),
    heartbeat: map(src.at(hb), {
      interval: src.copy([...hb, "interval"], "60s"),
      timeout: src.copy([...hb, "timeout"], "10s"),
      include_system_info: src.copy(
        [...hb, "include_system_info"],
        cfg.heartbeat.include_system_info,
      ),
    }),
    backoff: src.has(["telemetryflow", "retry", "initial_interval"]) ||
        src.has(["telemetryflow", "retry", "max_interval"])
      ? map(src.at(["telemetryflow", "retry"]), {
        initial_interval: src.copy(["telemetryflow", "retry", "initial_interval"], "1s"),
        max_interval: src.copy(["telemetryflow", "retry", "max_interval"], "30s"),
      })
      : undefined,
    storage: storage === undefined ? undefined : scalar(storage, src.at(["buffer"])),
    tls: tf.tls.ca_file
      ? map(src.at(["telemetryflow", "tls"]), {
        ca_file: src.copy(["telemetryflow", "tls", "ca_file"], tf.tls.ca_file),
      })
      : undefined,
  });
}

/**
 * The platform API's base URL: `telemetryflow.backend_endpoint`, the legacy `api.endpoint`, the
 * origin of `telemetryflow.endpoint` when that is an http(s) URL (the API paths start at the
 * origin), else `${env:TELEMETRYFLOW_API_ENDPOINT}` when that variable is set, else
 * `${env:TELEMETRYFLOW_ENDPOINT}` when that is an http(s) URL (the extension's documented fallback,
 * decided here with the same environment so no warning names the unset first choice), else
 * `${env:TELEMETRYFLOW_API_ENDPOINT}`, whose absence validation reports.
 */
function apiEndpoint(src: Source, cfg: TfoAgentConfig, env: Env): RawNode {
  const tf = cfg.telemetryflow;
  if (tf.backend_endpoint !== "") {
    return src.copy(["telemetryflow", "backend_endpoint"], tf.backend_endpoint);
  }
  if (cfg.api !== undefined && cfg.api.endpoint !== "") {
    return src.copy(["api", "endpoint"], cfg.api.endpoint);
  }
  const path = ["telemetryflow", "endpoint"];
  if (/^https?:\/\//i.test(tf.endpoint)) {
    const url = new URL(tf.endpoint);
    return url.pathname === "/" || url.pathname === ""
      ? src.copy(path, tf.endpoint)
      : src.derived(path, url.origin);
  }
  const set = (name: string) => (env[name] ?? "").trim() !== "";
  const general = env.TELEMETRYFLOW_ENDPOINT ?? "";
  const fallback = !set("TELEMETRYFLOW_API_ENDPOINT") && /^https?:\/\//i.test(general.trim());
  return envRef(fallback ? "TELEMETRYFLOW_ENDPOINT" : "TELEMETRYFLOW_API_ENDPOINT", src.at(path));
}

/** `logging` → `service.telemetry.logs`. */
function telemetryOf(src: Source, cfg: TfoAgentConfig, diagnostics: Diagnostic[]): RawMap {
  const l = cfg.logging;
  const p = ["logging"];
  const ignored = ["file", "max_size_mb", "max_backups", "max_age_days"].filter((k) =>
    src.has([...p, k]) && !(k === "file" && l.file === "")
  );
  if (ignored.length > 0) {
    diagnostics.push({
      severity: "warning",
      ...src.at([...p, ignored[0]!]),
      path: `logging.${ignored[0]}`,
      message: `tfo writes its logs to stderr (JSON lines or console text); ${ignored.join(", ")} ${
        ignored.length === 1 ? "has" : "have"
      } no counterpart`,
    });
  }
  const at = src.at(p);
  return map(at, {
    logs: map(at, {
      level: src.derived([...p, "level"], l.level === "warning" ? "warn" : l.level),
      encoding: src.derived([...p, "format"], l.format === "json" ? "json" : "console"),
    }),
  });
}

function withoutKey(node: RawMap, key: string): RawMap {
  const entries = new Map(node.entries);
  entries.delete(key);
  return { ...node, entries };
}

/** Lays a given `service.telemetry` over the translated one, section by section. */
function withTelemetry(root: RawMap, given: RawNode): RawMap {
  if (given.kind !== "map") return root;
  const service = root.entries.get("service")!;
  const svc = service.value as RawMap;
  const current = svc.entries.get("telemetry")!;
  const merged = new Map((current.value as RawMap).entries);
  for (const [key, entry] of given.entries) {
    const prior = merged.get(key);
    if (prior !== undefined && prior.value.kind === "map" && entry.value.kind === "map") {
      const inner = new Map(prior.value.entries);
      for (const [k, e] of entry.value.entries) inner.set(k, e);
      merged.set(key, { keyPos: entry.keyPos, value: { ...entry.value, entries: inner } });
    } else {
      merged.set(key, entry);
    }
  }
  const telemetry = { keyPos: current.keyPos, value: { ...given, entries: merged } };
  const serviceEntries = new Map(svc.entries).set("telemetry", telemetry);
  const rootEntries = new Map(root.entries).set("service", {
    keyPos: service.keyPos,
    value: { ...svc, entries: serviceEntries },
  });
  return { ...root, entries: rootEntries };
}
