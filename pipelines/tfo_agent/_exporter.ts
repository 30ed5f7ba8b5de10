/**
 * TFO-Agent `exporter.otlp` + `telemetryflow` + `buffer` → one `otlp` (gRPC) or `otlphttp`
 * exporter authenticated by the `telemetryflow` extension, whose sending queue lives in a
 * `file_storage` extension when the buffer is enabled.
 *
 * @module
 */
import type { Diagnostic } from "../diagnostics.ts";
import type { ConfigPath, RawMap, RawNode } from "../_raw.ts";
import { list, map, scalar } from "./_nodes.ts";
import type { Source } from "./_nodes.ts";
import type { TfoAgentConfig } from "./schema.ts";

/** The ID of the `file_storage` extension that holds the buffer. */
export const BUFFER_STORAGE_ID = "file_storage/buffer";

/** The signals an OTLP exporter serves for the TFO-Agent shape. */
export type ExportSignal = "metrics" | "logs";

/** What the exporter translation produced. */
export interface ExporterTranslation {
  /** `otlp_grpc/telemetryflow` or `otlp_http/telemetryflow`. */
  id: string;
  node: RawMap;
  /** The `file_storage/buffer` extension, when the buffer is enabled. */
  storage: RawMap | undefined;
}

const URL_SCHEME = /^https?:\/\//i;

/** Which key gave the OTLP endpoint, and its value. */
function endpointOf(cfg: TfoAgentConfig): { path: ConfigPath; value: string } {
  if (cfg.exporter.otlp.endpoint !== "") {
    return { path: ["exporter", "otlp", "endpoint"], value: cfg.exporter.otlp.endpoint };
  }
  return { path: ["telemetryflow", "endpoint"], value: cfg.telemetryflow.endpoint };
}

/** `grpc` or `http`: `exporter.otlp.protocol`, `telemetryflow.protocol`, else the endpoint's form. */
export function protocolOf(cfg: TfoAgentConfig): "grpc" | "http" {
  return cfg.exporter.otlp.protocol ?? cfg.telemetryflow.protocol ??
    (URL_SCHEME.test(endpointOf(cfg).value) ? "http" : "grpc");
}

function tlsOf(
  cfg: TfoAgentConfig,
): { path: ConfigPath; tls: TfoAgentConfig["telemetryflow"]["tls"] } {
  const own = cfg.exporter.otlp.tls;
  return own === undefined
    ? { path: ["telemetryflow", "tls"], tls: cfg.telemetryflow.tls }
    : { path: ["exporter", "otlp", "tls"], tls: own };
}

/** Joins a base URL and a path without doubling or dropping the `/`. */
function joinUrl(base: string, path: string): string {
  const b = base.endsWith("/") ? base.slice(0, -1) : base;
  return path.startsWith("/") ? `${b}${path}` : `${b}/${path}`;
}

/** The pieces both exporter kinds share: queue, retry, timeout, compression, headers, auth. */
function common(
  src: Source,
  cfg: TfoAgentConfig,
  diagnostics: Diagnostic[],
): Record<string, RawNode | undefined> {
  const x = cfg.exporter.otlp;
  const ex = ["exporter", "otlp"];
  const tf = ["telemetryflow"];
  const b = ["buffer"];
  const retry = cfg.telemetryflow.retry;
  const retryAt = src.at([...tf, "retry"]);
  if (src.has([...tf, "retry", "max_attempts"])) {
    diagnostics.push({
      severity: "warning",
      ...src.at([...tf, "retry", "max_attempts"]),
      path: "telemetryflow.retry.max_attempts",
      message: "has no counterpart: retries are bounded by time (buffer.max_age when the buffer " +
        "is enabled, else 5m), not by a number of attempts",
    });
  }
  const maxSize = cfg.buffer.max_size ?? cfg.buffer.max_size_mb;
  const maxSizePath = cfg.buffer.max_size === undefined
    ? [...b, "max_size_mb"]
    : [...b, "max_size"];
  const bufferAt = src.at(b);
  const queue = cfg.buffer.enabled
    ? map(bufferAt, {
      storage: scalar(BUFFER_STORAGE_ID, bufferAt),
      max_size_mib: src.copy(maxSizePath, maxSize),
      // The buffer is bounded by size, as in the TFO-Agent: allow one queued batch per KiB so the
      // item count does not bind first.
      queue_size: src.derived(maxSizePath, Math.max(1000, Math.ceil(maxSize * 1024))),
    })
    : undefined;
  const timeoutPath = x.timeout === undefined ? [...tf, "timeout"] : [...ex, "timeout"];
  const headers = Object.keys(x.headers);
  return {
    compression: src.derived([...ex, "compression"], x.compression === "" ? "none" : x.compression),
    timeout: src.copy(timeoutPath, "30s"),
    headers: headers.length === 0 ? undefined : map(
      src.at([...ex, "headers"]),
      Object.fromEntries(headers.map((h) => [h, src.copy([...ex, "headers", h], x.headers[h]!)])),
    ),
    retry_on_failure: map(retryAt, {
      enabled: src.copy([...tf, "retry", "enabled"], retry.enabled),
      initial_interval: src.copy([...tf, "retry", "initial_interval"], "1s"),
      max_interval: src.copy([...tf, "retry", "max_interval"], "30s"),
      // The buffer keeps an entry until buffer.max_age; without it, the Collector's 5 minutes.
      max_elapsed_time: cfg.buffer.enabled ? src.copy([...b, "max_age"], "24h") : undefined,
    }),
    sending_queue: queue,
    auth: map(src.at(tf), { authenticator: scalar("telemetryflow", src.at(tf)) }),
  };
}

function grpcExporter(
  src: Source,
  cfg: TfoAgentConfig,
  diagnostics: Diagnostic[],
): RawMap | undefined {
  const { path, value } = endpointOf(cfg);
  const { path: tlsPath, tls } = tlsOf(cfg);
  let endpoint: RawNode = src.copy(path, value);
  let insecure = !tls.enabled;
  if (URL_SCHEME.test(value)) {
    const url = new URL(value);
    if (url.pathname !== "/" && url.pathname !== "") {
      diagnostics.push({
        severity: "error",
        ...src.at(path),
        path: path.join("."),
        message: "has a URL path, which a gRPC endpoint cannot have: give host:port, or set " +
          "telemetryflow.protocol: http for OTLP/HTTP",
      });
      return undefined;
    }
    const port = url.port !== "" ? url.port : url.protocol === "https:" ? "443" : "80";
    endpoint = src.derived(path, `${url.hostname}:${port}`);
    insecure = url.protocol === "http:";
  }
  const skip = tls.insecure_skip_verify ?? tls.skip_verify;
  const tlsAt = src.at(tlsPath);
  return map(src.at(["exporter", "otlp"]), {
    endpoint,
    tls: map(tlsAt, {
      insecure: scalar(insecure, tlsAt),
      insecure_skip_verify: skip === undefined ? undefined : scalar(skip, tlsAt),
      ca_file: tls.ca_file ? src.copy([...tlsPath, "ca_file"], tls.ca_file) : undefined,
      cert_file: tls.cert_file ? src.copy([...tlsPath, "cert_file"], tls.cert_file) : undefined,
      key_file: tls.key_file ? src.copy([...tlsPath, "key_file"], tls.key_file) : undefined,
    }),
    ...common(src, cfg, diagnostics),
  });
}

function httpExporter(src: Source, cfg: TfoAgentConfig, diagnostics: Diagnostic[]): RawMap {
  const x = cfg.exporter.otlp;
  const ex = ["exporter", "otlp"];
  const { path, value } = endpointOf(cfg);
  const { path: tlsPath, tls } = tlsOf(cfg);
  // A bare host:port with protocol http: the scheme follows tls.enabled.
  const bare = !URL_SCHEME.test(value);
  const base = bare ? `${tls.enabled ? "https" : "http"}://${value}` : value;
  const signalUrl = (signal: "traces" | "metrics" | "logs"): RawNode | undefined => {
    const own = x[signal].endpoint;
    if (own !== "") return src.copy([...ex, signal, "endpoint"], own);
    const suffix = x[`${signal}_endpoint`];
    if (suffix !== "") {
      const at = [...ex, `${signal}_endpoint`];
      return URL_SCHEME.test(suffix)
        ? src.copy(at, suffix)
        : src.derived(at, joinUrl(base, suffix));
    }
    if (x.endpoint_version === "v1") return undefined;
    // Keep an environment reference in the base URL: `${TELEMETRYFLOW_ENDPOINT:-…}/v2/metrics`.
    const written = src.node(path);
    if (
      !bare && written?.kind === "scalar" && typeof written.value === "string" &&
      written.value.includes("${") && src.copy(path, value) === written
    ) {
      return { ...written, value: joinUrl(written.value, `/v2/${signal}`) };
    }
    return src.derived(path, joinUrl(base, `/v2/${signal}`));
  };
  const urls = {
    traces_endpoint: signalUrl("traces"),
    metrics_endpoint: signalUrl("metrics"),
    logs_endpoint: signalUrl("logs"),
  };
  const allSet = Object.values(urls).every((u) => u !== undefined);
  const skip = tls.insecure_skip_verify ?? tls.skip_verify;
  const tlsAt = src.at(tlsPath);
  const tlsBlock = map(tlsAt, {
    // otlphttp refuses insecure_skip_verify: true; passing it on lets validation say why, here.
    insecure_skip_verify: skip === true ? scalar(true, tlsAt) : undefined,
    ca_file: tls.ca_file ? src.copy([...tlsPath, "ca_file"], tls.ca_file) : undefined,
    cert_file: tls.cert_file ? src.copy([...tlsPath, "cert_file"], tls.cert_file) : undefined,
    key_file: tls.key_file ? src.copy([...tlsPath, "key_file"], tls.key_file) : undefined,
  });
  return map(src.at(ex), {
    endpoint: allSet ? undefined : bare ? src.derived(path, base) : src.copy(path, value),
    ...urls,
    tls: tlsBlock.entries.size === 0 ? undefined : tlsBlock,
    ...common(src, cfg, diagnostics),
  });
}

/** The exporter (and the buffer's storage extension); undefined after an error. */
export function translateExporter(
  src: Source,
  cfg: TfoAgentConfig,
  diagnostics: Diagnostic[],
): ExporterTranslation | undefined {
  const protocol = protocolOf(cfg);
  const node = protocol === "grpc"
    ? grpcExporter(src, cfg, diagnostics)
    : httpExporter(src, cfg, diagnostics);
  if (node === undefined) return undefined;
  for (const key of ["flush_interval"] as const) {
    if (src.has(["buffer", key])) {
      diagnostics.push({
        severity: "warning",
        ...src.at(["buffer", key]),
        path: `buffer.${key}`,
        message: "has no counterpart: the persistent queue sends as soon as the backend accepts",
      });
    }
  }
  const at = src.at(["buffer"]);
  const storage = cfg.buffer.enabled
    ? map(at, {
      directory: src.copy(["buffer", "path"], cfg.buffer.path),
      create_directory: scalar(true, at),
    })
    : undefined;
  return { id: `${protocol === "grpc" ? "otlp_grpc" : "otlp_http"}/telemetryflow`, node, storage };
}

/** A list node of IDs at a position. */
export function idList(src: Source, path: ConfigPath, ids: readonly string[]): RawNode {
  const at = src.at(path);
  return list(at, ids.map((id) => scalar(id, at)));
}
