/**
 * An HTTP client for exporters: one POST at a time with a deadline covering the whole exchange
 * (connect, send, response headers and body), gzip request bodies, and TLS trust and client
 * certificates through `Deno.createHttpClient`.
 *
 * @module
 */

/** How a request body is compressed. */
export type HttpCompression = "gzip" | "none";

/** TLS settings of an {@linkcode HttpClient}, as PEM text. */
export interface HttpClientTls {
  /** Root certificates trusted in addition to the system's. */
  caPem?: string;
  /** The client certificate chain (with `keyPem`) for mutual TLS. */
  certPem?: string;
  /** The client private key (with `certPem`). */
  keyPem?: string;
}

/** A request of {@linkcode HttpClient.post}. */
export interface HttpPostOptions {
  /** Request headers; `Content-Type` among them. */
  headers: Readonly<Record<string, string>>;
  /** The deadline of the whole exchange, in milliseconds; 0 means none. */
  timeoutMs: number;
  /** How the body is compressed. @default "none" */
  compression?: HttpCompression;
  /** The most response-body bytes read; the rest is discarded. @default 65536 */
  maxResponseBytes?: number;
  /** Aborts the request from outside (shutdown). */
  signal?: AbortSignal;
}

/** A response: its status, headers and (the start of) its body. */
export interface HttpResult {
  readonly status: number;
  readonly headers: Headers;
  /** At most `maxResponseBytes` of the (decompressed) body. */
  readonly body: Uint8Array;
}

/** Compresses bytes with gzip using the platform's `CompressionStream`. */
export async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return await new Response(stream).bytes();
}

/** Reads at most `max` bytes of a body, then cancels the rest. */
async function readLimited(
  body: ReadableStream<Uint8Array> | null,
  max: number,
): Promise<Uint8Array> {
  if (body === null) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < max) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } finally {
    if (size >= max) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
  const out = new Uint8Array(Math.min(size, max));
  let offset = 0;
  for (const c of chunks) {
    const part = c.subarray(0, out.length - offset);
    out.set(part, offset);
    offset += part.length;
    if (offset === out.length) break;
  }
  return out;
}

/**
 * A pooled HTTP client. Create it when the component starts, {@linkcode HttpClient.close} it at
 * shutdown; requests made after closing fail.
 */
export class HttpClient {
  #client: Deno.HttpClient | undefined;
  #closed = new AbortController();

  /** Creates a client; with no TLS settings it uses the default trust store and no client cert. */
  constructor(tls: HttpClientTls = {}) {
    const options: Deno.CreateHttpClientOptions = {};
    if (tls.caPem !== undefined) options.caCerts = [tls.caPem];
    if (tls.certPem !== undefined && tls.keyPem !== undefined) {
      this.#client = Deno.createHttpClient({ ...options, cert: tls.certPem, key: tls.keyPem });
    } else if (tls.caPem !== undefined) {
      this.#client = Deno.createHttpClient(options);
    }
  }

  /**
   * POSTs `body` to `url`. Resolves with any response (whatever its status); rejects when no
   * complete response came back in time (`TimeoutError` on the deadline) or the connection failed.
   */
  async post(url: string, body: Uint8Array, options: HttpPostOptions): Promise<HttpResult> {
    if (this.#closed.signal.aborted) throw new Error("The HTTP client is closed");
    const signals = [this.#closed.signal];
    if (options.timeoutMs > 0) signals.push(AbortSignal.timeout(options.timeoutMs));
    if (options.signal !== undefined) signals.push(options.signal);
    const signal = AbortSignal.any(signals);
    const headers = new Headers(options.headers);
    let sent = body;
    if (options.compression === "gzip") {
      sent = await gzip(body);
      headers.set("Content-Encoding", "gzip");
    }
    const init: RequestInit & { client?: Deno.HttpClient } = {
      method: "POST",
      headers,
      body: sent as Uint8Array<ArrayBuffer>,
      signal,
    };
    if (this.#client !== undefined) init.client = this.#client;
    const response = await fetch(url, init);
    const received = await readLimited(response.body, options.maxResponseBytes ?? 65536);
    return { status: response.status, headers: response.headers, body: received };
  }

  /** Aborts requests in flight and releases pooled connections. Safe to call twice. */
  close(): void {
    this.#closed.abort(new Error("The HTTP client is closed"));
    this.#client?.close();
    this.#client = undefined;
  }
}
