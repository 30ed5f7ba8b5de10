/**
 * What every resource detector shares: the context it runs in (injectable, so tests control the
 * environment, files, hostname and network), the `resource_attributes` enable/disable schema, and
 * a small HTTP helper for instance metadata services.
 *
 * @module
 */
import { z } from "../../../../lib/config/z.js";
import type { AnyValue, KeyValue } from "../../../../lib/pdata/types.ts";
import type { Logger } from "../../../../lib/telemetry/logger.ts";

/** What a detector may look at. Every field can be replaced in tests. */
export interface DetectorContext {
  /** An environment variable. */
  env(name: string): string | undefined;
  /** A file's text; rejects when it cannot be read. */
  readTextFile(path: string): Promise<string>;
  /** The OS hostname. */
  hostname(): string;
  /** The network interfaces' addresses. */
  networkInterfaces(): Deno.NetworkInterfaceInfo[];
  /** DNS lookups (`A`, `AAAA`, `PTR`, `CNAME`). */
  resolveDns(
    query: string,
    type: "A" | "AAAA" | "PTR" | "CNAME",
    signal: AbortSignal,
  ): Promise<string[]>;
  /** HTTP requests to metadata services. */
  fetch: typeof fetch;
  /** Aborted when the processor's `timeout` expires. */
  signal: AbortSignal;
  logger: Logger;
}

/** The context of the running process. */
export function systemContext(signal: AbortSignal, logger: Logger): DetectorContext {
  return {
    env: (name) => Deno.env.get(name),
    readTextFile: (path) => Deno.readTextFile(path, { signal }),
    hostname: () => Deno.hostname(),
    networkInterfaces: () => Deno.networkInterfaces(),
    resolveDns: (query, type, s) =>
      Deno.resolveDns(query, type, { signal: s }) as Promise<string[]>,
    fetch: (input, init) => fetch(input, init),
    signal,
    logger,
  };
}

/** The config of one resource attribute. */
export interface AttributeToggle {
  enabled: boolean;
}

/**
 * A `resource_attributes` schema: one `{enabled}` entry per attribute the detector can emit,
 * defaulting as given; unknown attribute names are rejected.
 * @param defaults whether each attribute is enabled by default (the Collector's defaults)
 */
export function resourceAttributesSchema(defaults: Readonly<Record<string, boolean>>) {
  const shape: Record<string, ReturnType<typeof toggleSchema>> = {};
  for (const [key, enabled] of Object.entries(defaults)) shape[key] = toggleSchema(enabled);
  return z.strictObject(shape).prefault({});
}

function toggleSchema(enabled: boolean) {
  return z.strictObject({ enabled: z.boolean().default(enabled) }).prefault({});
}

/** Collects detected attributes, keeping only enabled ones and skipping empty values. */
export class AttributeSink {
  readonly #enabled: Readonly<Record<string, AttributeToggle>>;
  /** The collected attributes, in the order they were put. */
  readonly attributes: KeyValue[] = [];

  constructor(enabled: Readonly<Record<string, AttributeToggle>>) {
    this.#enabled = enabled;
  }

  /** True when `key` is enabled (so a detector can skip work for disabled attributes). */
  wants(key: string): boolean {
    return this.#enabled[key]?.enabled === true;
  }

  /** Adds `key` when enabled and `value` is not empty. */
  put(key: string, value: AnyValue): void {
    if (value === undefined || value === "" || (Array.isArray(value) && value.length === 0)) return;
    if (this.wants(key)) this.attributes.push({ key, value });
  }
}

/**
 * Thrown when a metadata service cannot be reached or answers with an error: the detector is not
 * running on that cloud. The processor logs it at debug, not as a failure.
 */
export class MetadataUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "MetadataUnavailableError";
  }
}

/** Options of {@linkcode metadataRequest}. */
export interface MetadataRequestOptions {
  /** @default "GET" */
  method?: string;
  headers?: Record<string, string>;
  /** How long this detector waits, at most, for each request (besides the processor timeout). */
  timeoutMs: number;
}

/** A response from a metadata service. */
export interface MetadataResponse {
  status: number;
  headers: Headers;
  body: string;
}

/**
 * One request to a metadata service, bounded by the processor's signal and `timeoutMs`. A network
 * error or timeout throws {@linkcode MetadataUnavailableError}; any HTTP status is returned.
 */
export async function metadataRequest(
  ctx: DetectorContext,
  url: string,
  options: MetadataRequestOptions,
): Promise<MetadataResponse> {
  const controller = new AbortController();
  const abort = () => controller.abort();
  const timer = setTimeout(abort, options.timeoutMs);
  ctx.signal.addEventListener("abort", abort, { once: true });
  try {
    const init: RequestInit = { method: options.method ?? "GET", signal: controller.signal };
    if (options.headers !== undefined) init.headers = options.headers;
    const response = await ctx.fetch(url, init);
    return { status: response.status, headers: response.headers, body: await response.text() };
  } catch (error) {
    throw new MetadataUnavailableError(
      `Cannot reach ${url}: ${controller.signal.aborted ? "timed out" : String(error)}`,
      { cause: error },
    );
  } finally {
    clearTimeout(timer);
    ctx.signal.removeEventListener("abort", abort);
  }
}

/** A GET that must answer 200; any other status throws {@linkcode MetadataUnavailableError}. */
export async function metadataText(
  ctx: DetectorContext,
  url: string,
  options: MetadataRequestOptions,
): Promise<string> {
  const r = await metadataRequest(ctx, url, options);
  if (r.status !== 200) throw new MetadataUnavailableError(`${url} answered ${r.status}`);
  return r.body;
}

/** An endpoint without a trailing slash, from the config, an environment variable or a default. */
export function baseUrl(
  configured: string | undefined,
  fromEnv: string | undefined,
  fallback: string,
): string {
  const url = configured ?? fromEnv ?? fallback;
  return url.endsWith("/") ? url.slice(0, -1) : url;
}
