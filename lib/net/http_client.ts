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

/**
 * A request body: one array, or parts sent one after the other without being joined first. The
 * arrays must not change until the request is done.
 */
export type HttpBody = Uint8Array | readonly Uint8Array[];

/** A stream of `parts`, in order, enqueued as they are (no copy). */
function partsStream(parts: readonly Uint8Array[]): ReadableStream<Uint8Array<ArrayBuffer>> {
  let next = 0;
  return new ReadableStream<Uint8Array<ArrayBuffer>>({
    pull(controller) {
      const part = parts[next++];
      if (part === undefined) controller.close();
      else controller.enqueue(part as Uint8Array<ArrayBuffer>);
    },
  }, { highWaterMark: 0 });
}

/**
 * A `Blob` whose bytes are `parts`, for `fetch`. Deno's `fetch` sends a `Blob` body by streaming
 * its `stream()` with a `Content-Length` of its `size`, so the parts go out without being joined
 * first, and the request stays the same on the wire as with one array. `fetch` must not be given
 * one before {@linkcode partsBlobWorks} confirmed that this Deno reads it through those two
 * members: the underlying `Blob` is empty.
 */
class PartsBlob extends Blob {
  readonly #parts: readonly Uint8Array[];
  readonly #size: number;

  constructor(parts: readonly Uint8Array[]) {
    super([]);
    this.#parts = parts;
    let size = 0;
    for (const part of parts) size += part.length;
    this.#size = size;
  }

  override get size(): number {
    return this.#size;
  }

  override stream(): ReadableStream<Uint8Array<ArrayBuffer>> {
    return partsStream(this.#parts);
  }
}

let partsBlobChecked: Promise<boolean> | undefined;

/**
 * Whether this runtime's fetch body extraction reads a {@linkcode PartsBlob} through its `stream()`
 * (checked once, on a `Request`, which extracts bodies as `fetch` does). When it does not, bodies
 * in parts are joined into one array instead.
 */
function partsBlobWorks(): Promise<boolean> {
  partsBlobChecked ??= (async () => {
    try {
      const probe = new PartsBlob([Uint8Array.of(1), Uint8Array.of(2, 3)]);
      const bytes = await new Request("http://127.0.0.1/", { method: "POST", body: probe }).bytes();
      return bytes.length === 3 && bytes[0] === 1 && bytes[1] === 2 && bytes[2] === 3;
    } catch {
      return false;
    }
  })();
  return partsBlobChecked;
}

/** Joins parts into one array. */
function join(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  let size = 0;
  for (const part of parts) size += part.length;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** The `fetch` body of `body`: parts are streamed (see {@linkcode PartsBlob}), not joined. */
async function fetchBody(body: HttpBody): Promise<BodyInit> {
  if (body instanceof Uint8Array) return body as Uint8Array<ArrayBuffer>;
  if (body.length === 1) return body[0] as Uint8Array<ArrayBuffer>;
  return await partsBlobWorks() ? new PartsBlob(body) : join(body);
}

/** Compresses bytes with gzip using the platform's `CompressionStream`. */
export async function gzip(bytes: HttpBody): Promise<Uint8Array> {
  const parts = bytes instanceof Uint8Array ? [bytes] : bytes;
  const stream = partsStream(parts).pipeThrough(new CompressionStream("gzip"));
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
  async post(url: string, body: HttpBody, options: HttpPostOptions): Promise<HttpResult> {
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
      body: await fetchBody(sent),
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
