/**
 * The request a handler of tfo's HTTP/1.1 server gets: the read side of a `Request` (method,
 * URL, headers, body stream), built without the cost of a `Request` (which parses its URL,
 * copies and validates its headers and wraps its body in streams: about 10 times the cost of the
 * rest of serving a small OTLP request). A `Request` has the same shape, so handlers written
 * against {@linkcode HttpRequest} also run on `Deno.serve` and in tests.
 *
 * @module
 */
import {
  BodyRefusedError,
  BodyTooLargeError,
  ByteCollector,
  readLimited,
  type ReadLimitedOptions,
} from "../body.ts";

/** Request header fields: the read side of `Headers`, names matched case-insensitively. */
export interface HeaderFields extends Iterable<[string, string]> {
  /** The value of `name`, several fields of it joined with `, `; null when absent. */
  get(name: string): string | null;
  /** Whether a field `name` is present. */
  has(name: string): boolean;
}

/** What a handler reads of a request; a `Request` is one. */
export interface HttpRequest {
  readonly method: string;
  /** The absolute URL. */
  readonly url: string;
  readonly headers: HeaderFields;
  /** The body, pulled from the connection as it is read; null for none. */
  readonly body: ReadableStream<Uint8Array> | null;
}

/** Reads a request's body, chunk by chunk (the connection's side of a request). */
export interface BodySource {
  /** The next chunk (owned by the caller), or null at the end of the body. */
  next(): Promise<Uint8Array | null>;
  /** The declared length, 0 when unknown. */
  readonly sizeHint: number;
  /**
   * The rest of a body of declared length, read into one buffer of that length; undefined when
   * the length is not declared (chunked).
   */
  rest(): Promise<Uint8Array> | undefined;
}

/** Header fields over the parsed pairs (names already in lower case). */
export class RequestFields implements HeaderFields {
  readonly #pairs: ReadonlyArray<readonly [string, string]>;

  /** @param pairs field names in lower case with their values, in order of arrival */
  constructor(pairs: ReadonlyArray<readonly [string, string]>) {
    this.#pairs = pairs;
  }

  /** The value of `name`, several fields of it joined with `, `; null when absent. */
  get(name: string): string | null {
    const key = name.toLowerCase();
    let out: string | null = null;
    for (const [k, v] of this.#pairs) {
      if (k === key) out = out === null ? v : `${out}, ${v}`;
    }
    return out;
  }

  /** Whether a field `name` is present. */
  has(name: string): boolean {
    const key = name.toLowerCase();
    return this.#pairs.some(([k]) => k === key);
  }

  /** As `Headers` iterates: sorted by name, repeated fields joined (each `set-cookie` alone). */
  *[Symbol.iterator](): Iterator<[string, string]> {
    const names = [...new Set(this.#pairs.map(([k]) => k))].sort();
    for (const name of names) {
      if (name === "set-cookie") {
        for (const [k, v] of this.#pairs) if (k === name) yield [k, v];
      } else yield [name, this.get(name)!];
    }
  }
}

/** A request of tfo's HTTP/1.1 server. */
export class Http1Request implements HttpRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: RequestFields;
  readonly #source: BodySource | null;
  #stream: ReadableStream<Uint8Array> | null | undefined;
  #used = false;

  /** Creates the request; `source` is null for a request without a body. */
  constructor(
    method: string,
    url: string,
    headers: RequestFields,
    source: BodySource | null,
  ) {
    this.method = method;
    this.url = url;
    this.headers = headers;
    this.#source = source;
  }

  /** The body as a stream, created on first use. */
  get body(): ReadableStream<Uint8Array> | null {
    if (this.#stream !== undefined) return this.#stream;
    const source = this.#source;
    if (source === null) return (this.#stream = null);
    this.#used = true;
    this.#stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const chunk = await source.next();
          if (chunk === null) controller.close();
          else controller.enqueue(chunk);
        } catch (error) {
          controller.error(error);
        }
      },
    }, { highWaterMark: 0 });
    return this.#stream;
  }

  /**
   * Reads the whole body into one buffer, failing past `limit` bytes; without streams.
   *
   * @throws {BodyTooLargeError} past the limit (the rest is not read).
   */
  async bytes(limit: number, options: ReadLimitedOptions = {}): Promise<Uint8Array> {
    const source = this.#source;
    if (this.#used) throw new TypeError("The request body was already read");
    this.#used = true;
    if (source === null) return new Uint8Array(0);
    if (source.sizeHint > limit) throw new BodyTooLargeError(limit, options.what);
    const whole = source.rest();
    if (whole !== undefined) return await whole;
    // A chunked body: gathered as it comes, within the limit.
    const first = await source.next();
    if (first === null) return new Uint8Array(0);
    const hint = options.sizeHint ?? 0;
    const collected = new ByteCollector(limit, hint, options.what);
    const admit = options.admit;
    if (admit?.(first.length) === false) throw new BodyRefusedError(options.what);
    collected.push(first);
    for (;;) {
      const chunk = await source.next();
      if (chunk === null) return collected.bytes();
      if (admit?.(chunk.length) === false) throw new BodyRefusedError(options.what);
      collected.push(chunk);
    }
  }
}

/**
 * Reads a request's whole body within `limit` bytes: straight from the connection for tfo's own
 * server, through the body stream for any other request.
 *
 * @throws {BodyTooLargeError} past the limit.
 */
export function readRequestBody(
  request: HttpRequest,
  limit: number,
  options: ReadLimitedOptions = {},
): Promise<Uint8Array> {
  if (request instanceof Http1Request) return request.bytes(limit, options);
  return readLimited(request.body, limit, options);
}
