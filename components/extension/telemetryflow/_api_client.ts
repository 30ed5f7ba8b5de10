/**
 * The TelemetryFlow platform API client: JSON over HTTP(S) with the API key headers, one deadline
 * per call, and every call aborted at shutdown. It reports what came back; deciding what a status
 * means is the caller's job.
 *
 * @module
 */

/** What the client needs. */
export interface ApiClientOptions {
  /** The API base URL; `/api/v2/agents/…` is appended (once, if the URL already ends in it). */
  endpoint: string;
  keyId: string;
  keySecret: string;
  /** The deadline of each call, in milliseconds. */
  timeoutMs: number;
  /** Extra trusted CA certificates, PEM. */
  caPem?: string;
  /** The `User-Agent` header. */
  userAgent: string;
}

/** A response: its status and body text. */
export interface ApiResponse {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
}

/** The call failed before a response came back (connection refused, timeout, TLS). */
export class ApiUnreachableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ApiUnreachableError";
  }
}

/** The platform API's agent calls. */
export interface ApiClient {
  /** `POST /api/v2/agents/register`. */
  register(body: unknown): Promise<ApiResponse>;
  /** `POST /api/v2/agents/{id}/heartbeat`. */
  heartbeat(agentId: string, body: unknown): Promise<ApiResponse>;
  /** `GET /api/v2/agents/{id}/config`. */
  fetchConfig(agentId: string): Promise<ApiResponse>;
  /** Aborts calls in flight and releases connections; later calls fail. Safe to call twice. */
  close(): void;
}

/** The base URL with `/api/v2/agents` appended (not doubled). */
export function agentsUrl(endpoint: string): string {
  const base = endpoint.replace(/\/+$/, "");
  if (base.endsWith("/api/v2/agents")) return base;
  if (base.endsWith("/api/v2")) return `${base}/agents`;
  return `${base}/api/v2/agents`;
}

/** The most response-body bytes read (a remote config is a YAML file, not a data set). */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

async function readBody(response: Response): Promise<string> {
  if (response.body === null) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > MAX_BODY_BYTES) {
        await reader.cancel();
        throw new Error(`Response body over ${MAX_BODY_BYTES} bytes`);
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  return new TextDecoder().decode(await new Blob(chunks as Uint8Array<ArrayBuffer>[]).bytes());
}

/** Creates a client. */
export function createApiClient(options: ApiClientOptions): ApiClient {
  const base = agentsUrl(options.endpoint);
  const closed = new AbortController();
  const httpClient = options.caPem === undefined
    ? undefined
    : Deno.createHttpClient({ caCerts: [options.caPem] });

  async function call(method: "GET" | "POST", url: string, body?: unknown): Promise<ApiResponse> {
    if (closed.signal.aborted) throw new ApiUnreachableError("The API client is closed");
    const headers = new Headers({
      "X-API-Key-ID": options.keyId,
      "X-API-Key-Secret": options.keySecret,
      "Accept": "application/json",
      "User-Agent": options.userAgent,
    });
    const init: RequestInit & { client?: Deno.HttpClient } = {
      method,
      headers,
      signal: AbortSignal.any([closed.signal, AbortSignal.timeout(options.timeoutMs)]),
    };
    if (body !== undefined) {
      headers.set("Content-Type", "application/json");
      init.body = JSON.stringify(body);
    }
    if (httpClient !== undefined) init.client = httpClient;
    try {
      const response = await fetch(url, init);
      const text = await readBody(response);
      return {
        status: response.status,
        contentType: response.headers.get("content-type") ?? "",
        text,
      };
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      // The URL carries no secret; the headers are never part of the message.
      throw new ApiUnreachableError(`${method} ${url} failed: ${reason}`, { cause: error });
    }
  }

  return {
    register: (body) => call("POST", `${base}/register`, body),
    heartbeat: (id, body) => call("POST", `${base}/${encodeURIComponent(id)}/heartbeat`, body),
    fetchConfig: (id) => call("GET", `${base}/${encodeURIComponent(id)}/config`),
    close() {
      if (closed.signal.aborted) return;
      closed.abort(new Error("The API client is closed"));
      httpClient?.close();
    },
  };
}
