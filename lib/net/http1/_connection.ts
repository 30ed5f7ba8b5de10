/**
 * One HTTP/1.1 server connection: reads request heads within their limits and deadlines, hands
 * each request to the handler as a `Request` whose body streams from the socket only as the
 * handler reads it, writes the `Response`, and keeps the connection for the next request or
 * closes it. Requests are served one at a time; pipelined requests wait in the read buffer.
 *
 * Deadlines follow Go's `net/http` server, as the OpenTelemetry Collector configures it: the head
 * must arrive within `readHeaderTimeoutMs` of its first byte (of the accept, for the first
 * request; the TLS handshake counts), the whole request within `readTimeoutMs`, the response must
 * be written within `writeTimeoutMs` of the head, and the next request must start within
 * `idleTimeoutMs`. Past a deadline the connection is closed; a body that trickles in therefore
 * cannot hold a connection past the write deadline either. A response given before the body was
 * read (413 for a declared length, 401) closes the connection instead of reading the rest.
 *
 * @module
 */
import type { Logger } from "../../telemetry/logger.ts";
import type { ChunkedDecoder } from "./_chunked.ts";
import { BODY_CHUNK, BodyReader, type BodyWire, ConnectionClosed } from "./_body_reader.ts";
import { findHeadEnd, HeadError, parseHead, type RequestHead } from "./_head.ts";
import { Http1Request, type HttpRequest, RequestFields } from "./request.ts";
import { type ServerConn, TlsServerConn } from "../tls_server_conn.ts";

/** What a handler learns about the connection of a request. */
export interface Http1RequestInfo {
  /** The client's address. */
  readonly remoteAddr: Deno.NetAddr;
}

/** Answers one request. */
export type Http1Handler = (
  request: HttpRequest,
  info: Http1RequestInfo,
) => Response | Promise<Response>;

/** The limits and deadlines of a connection, resolved (0 means none). */
export interface ConnectionLimits {
  readonly readHeaderTimeoutMs: number;
  readonly readTimeoutMs: number;
  readonly writeTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly keepAlive: boolean;
  readonly maxHeaderBytes: number;
}

/** What a connection shares with its server. */
export interface ConnectionContext {
  readonly limits: ConnectionLimits;
  readonly handler: Http1Handler;
  readonly logger: Logger;
  /** `http` or `https`, for request URLs. */
  readonly scheme: string;
  /** The server is shutting down: finish the request in progress, then close. */
  readonly stopping: () => boolean;
  /**
   * The retry delay, in ms, when the server refuses every new request (its isolate drains,
   * `lib/net/drain.ts`); undefined while it serves.
   */
  readonly refusing?: () => number | undefined;
}

/** A retryable refusal: 503 with `Retry-After` in whole seconds (at least 1). */
export function drainRefusal(retryAfterMs: number): Response {
  return new Response("Service Unavailable: this worker is restarting; retry", {
    status: 503,
    headers: {
      "content-type": "text/plain; charset=utf-8",
      "retry-after": String(Math.max(1, Math.ceil(retryAfterMs / 1000))),
    },
  });
}

const FIRST_BUFFER = 16 * 1024;
/** How long a connection closed with request bytes unread waits for the client to see the answer. */
export const LINGER_MS = 500;
/** Request bytes discarded while lingering. */
const LINGER_BYTES = 256 * 1024;

/** A host name or IPv4 address with an optional port: no URL parse needed to trust it. */
const SIMPLE_HOST = /^[a-z0-9.-]+(:[0-9]{1,5})?$/i;

const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);

const REASONS: Readonly<Record<number, string>> = {
  200: "OK",
  201: "Created",
  202: "Accepted",
  204: "No Content",
  206: "Partial Content",
  301: "Moved Permanently",
  302: "Found",
  304: "Not Modified",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  411: "Length Required",
  413: "Request Entity Too Large",
  415: "Unsupported Media Type",
  417: "Expectation Failed",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
};

let dateSecond = -1;
let dateText = "";

/** The Date header's value, formatted once a second. */
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(second * 1000).toUTCString();
  }
  return dateText;
}

/** Text as bytes, one byte per character (header values are byte strings). */
function encodeHead(text: string): Uint8Array {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) >= 0x80) {
      const out = new Uint8Array(text.length);
      for (let j = 0; j < text.length; j++) out[j] = text.charCodeAt(j);
      return out;
    }
  }
  return encoder.encode(text);
}

/** Serves one accepted connection; {@linkcode Http1Connection.done} settles when it is closed. */
export class Http1Connection implements BodyWire {
  readonly #conn: ServerConn;
  readonly #ctx: ConnectionContext;
  readonly #remoteAddr: Deno.NetAddr;
  #buf = new Uint8Array(FIRST_BUFFER);
  #start = 0;
  #end = 0;
  /** When the read in progress must be done by (`performance.now()` time); Infinity for never. */
  #readDeadline = Infinity;
  #readWhat = "";
  /** When the answer in progress must be written by. */
  #writeDeadline = Infinity;
  #closed = false;
  /** No request is being handled: shutdown may close the connection at once. */
  #idle = true;
  /** Why a deadline closed the connection, for the debug log. */
  #timedOut: string | undefined;
  /** The body of the request its handler is working on, while it does. */
  #handling: BodyReader | undefined;
  /** Set when the request in progress was answered without its handler (a drain). */
  #forced: Promise<void> | undefined;
  /**
   * Settles when the connection is closed and nothing of it runs any more, or when a request was
   * answered without its handler (`answerInFlight`) and the connection closed: a handler that
   * never answers does not hold the server's shutdown then.
   */
  readonly done: Promise<void>;
  readonly #finished = Promise.withResolvers<void>();

  /** Starts serving `conn`. */
  constructor(conn: ServerConn, ctx: ConnectionContext) {
    this.#conn = conn;
    this.#ctx = ctx;
    this.#remoteAddr = conn.remoteAddr as Deno.NetAddr;
    this.done = this.#finished.promise;
    this.#run().finally(() => this.#finished.resolve());
  }

  /** Closes the connection now if no request is in progress; else after its response. */
  closeIfIdle(): void {
    if (this.#idle) this.#close();
  }

  /**
   * Answers the request whose handler is still working with `response` now and closes the
   * connection (lingering when the body was read, so the answer is not destroyed by a reset);
   * the handler's own answer, when it comes, is dropped. Nothing when no handler is working.
   */
  answerInFlight(response: Response): void {
    const body = this.#handling;
    if (body === undefined || this.#forced !== undefined || this.#closed) return;
    this.#forced = this.#respond(response, false, false)
      .then(() => body.complete ? this.#linger() : this.#close())
      .catch(() => this.#close())
      .finally(() => this.#finished.resolve());
  }

  /**
   * Closes the connection if a deadline passed by `now` (a `performance.now()` time); the server
   * calls it on every tick of its deadline clock.
   */
  expireIfPast(now: number): void {
    if (now >= this.#readDeadline) this.#expire(this.#readWhat);
    else if (now >= this.#writeDeadline) this.#expire("write");
  }

  /** Closes the connection, ending any pending read or write. Safe to call twice. */
  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#readDeadline = Infinity;
    this.#writeDeadline = Infinity;
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
  }

  /** Sets the read deadline: `ms` from now, or none for 0. */
  #armRead(ms: number, what: string): void {
    this.#readDeadline = ms > 0 ? performance.now() + ms : Infinity;
    this.#readWhat = what;
  }

  #armWrite(ms: number): void {
    this.#writeDeadline = ms > 0 ? performance.now() + ms : Infinity;
  }

  #expire(what: string): void {
    this.#timedOut = what;
    this.#close();
  }

  async #run(): Promise<void> {
    const limits = this.#ctx.limits;
    try {
      // The first request's head deadline runs from the accept and covers the TLS handshake.
      this.#armRead(limits.readHeaderTimeoutMs || limits.readTimeoutMs, "header");
      let requestStart = performance.now();
      // A deadline's close() ends a stalled handshake too: TlsServerConn closes its TCP socket.
      if (this.#conn instanceof TlsServerConn) await this.#conn.handshake();
      for (;;) {
        const keep = await this.#serveOne(requestStart);
        if (!keep || this.#ctx.stopping()) return;
        this.#idle = true;
        if (this.#start === this.#end) {
          // Idle between requests: wait for the next one's first byte.
          this.#armRead(limits.idleTimeoutMs || limits.readTimeoutMs, "idle");
          if (!(await this.#fill())) return;
        }
        requestStart = performance.now();
        this.#armRead(limits.readHeaderTimeoutMs || limits.readTimeoutMs, "header");
      }
    } catch (error) {
      if (!this.#closed && !(error instanceof ConnectionClosed) && !isSocketError(error)) {
        this.#ctx.logger.error("Unexpected error serving an HTTP connection", { error });
      }
    } finally {
      if (this.#timedOut !== undefined) {
        this.#ctx.logger.debug("Closed an HTTP connection past its deadline", {
          deadline: this.#timedOut,
          peer: `${this.#remoteAddr.hostname}:${this.#remoteAddr.port}`,
        });
      }
      this.#close();
    }
  }

  /** Reads more bytes into the buffer; false at end of stream. */
  async #fill(): Promise<boolean> {
    if (this.#start === this.#end) {
      this.#start = 0;
      this.#end = 0;
    } else if (this.#end === this.#buf.length) {
      if (this.#start > 0) {
        this.#buf.copyWithin(0, this.#start, this.#end);
        this.#end -= this.#start;
        this.#start = 0;
      } else {
        const grown = new Uint8Array(this.#buf.length * 2);
        grown.set(this.#buf);
        this.#buf = grown;
      }
    }
    let n: number | null;
    try {
      n = await this.#conn.read(this.#buf.subarray(this.#end));
    } catch (error) {
      throw this.#closed ? new ConnectionClosed() : error;
    }
    if (n === null) return false;
    this.#end += n;
    return true;
  }

  /** Reads, handles and answers one request; true when the connection stays open. */
  async #serveOne(requestStart: number): Promise<boolean> {
    const limits = this.#ctx.limits;
    let scanned = this.#start;
    let headEnd = findHeadEnd(this.#buf, this.#start, scanned, this.#end);
    while (headEnd < 0) {
      if (this.#end - this.#start > limits.maxHeaderBytes) return this.#refuse(431, "");
      scanned = this.#end;
      // The first byte of the request makes it a request in progress: shutdown lets it finish.
      if (this.#end > this.#start) this.#idle = false;
      if (!(await this.#fill())) return false;
      headEnd = findHeadEnd(this.#buf, this.#start, scanned, this.#end);
    }
    this.#idle = false;
    if (headEnd - this.#start > limits.maxHeaderBytes) return this.#refuse(431, "");
    let head: RequestHead;
    try {
      head = parseHead(this.#buf.subarray(this.#start, headEnd));
    } catch (error) {
      if (error instanceof HeadError) return this.#refuse(error.status, error.message);
      throw error;
    }
    this.#start = headEnd;
    // Past the head: the whole-request deadline for the body, the write deadline for the answer.
    if (limits.readTimeoutMs > 0) {
      const left = Math.max(1, limits.readTimeoutMs - (performance.now() - requestStart));
      this.#armRead(left, "read");
    } else this.#armRead(0, "read");
    this.#armWrite(limits.writeTimeoutMs);

    const url = this.#url(head);
    if (url === undefined) return this.#refuse(400, "Malformed request target");
    const body = new BodyReader(this, head);
    const request = new Http1Request(
      head.method,
      url,
      new RequestFields(head.headers),
      body.complete || head.method === "GET" || head.method === "HEAD" ? null : body,
    );
    const refusing = this.#ctx.refusing?.();
    if (refusing !== undefined) {
      await this.#respond(drainRefusal(refusing), false, false).catch(() => {});
      await this.#linger();
      return false;
    }
    let response: Response;
    this.#handling = body;
    try {
      response = await this.#ctx.handler(request, { remoteAddr: this.#remoteAddr });
    } catch (error) {
      this.#ctx.logger.error("Unexpected error answering an HTTP request", { error });
      response = new Response("Internal Server Error", { status: 500 });
    } finally {
      this.#handling = undefined;
    }
    if (this.#forced !== undefined) {
      await this.#forced;
      return false;
    }
    if (this.#closed) throw new ConnectionClosed();
    // A small body the handler left unread but that is here already costs nothing to skip.
    body.skipBuffered();
    const keep = limits.keepAlive && !head.close && body.complete && !this.#ctx.stopping() &&
      response.headers.get("connection")?.toLowerCase() !== "close";
    await this.#respond(response, head.method === "HEAD", keep);
    this.#armWrite(0);
    // Closing: the client may still be sending (the rest of a body, or pipelined requests).
    if (!keep) await this.#linger();
    return keep;
  }

  /** The request's URL, from its target and Host; undefined when they do not make one. */
  #url(head: RequestHead): string | undefined {
    const target = head.target;
    if (target.charCodeAt(0) === 0x2f /* / */) {
      const local = this.#conn.localAddr as Deno.NetAddr;
      const host = head.host ?? joinHost(local.hostname, local.port);
      const url = `${this.#ctx.scheme}://${host}${target}`;
      // Handlers parse the URL: one that does not parse is the client's error, not theirs.
      if (!SIMPLE_HOST.test(host) && (host.includes("@") || !URL.canParse(url))) return undefined;
      return url;
    }
    if (/^https?:\/\//i.test(target)) {
      try {
        return new URL(target).href;
      } catch {
        return undefined;
      }
    }
    return undefined;
  }

  /** Answers a request that cannot be served (no handler involved) and closes. */
  async #refuse(status: number, message: string): Promise<false> {
    this.#idle = false;
    const text = message.length > 0 ? message : `${status} ${REASONS[status] ?? ""}`;
    await this.#respond(
      new Response(text, { status, headers: { "content-type": "text/plain; charset=utf-8" } }),
      false,
      false,
    ).catch(() => {});
    await this.#linger();
    return false;
  }

  /**
   * Writes a response whose handler set `transfer-encoding: chunked`: each chunk as the body
   * stream yields it (server-sent events, large downloads), instead of reading it all first.
   * Cancels the body when the client goes away, so the handler learns it.
   */
  async #stream(response: Response, text: string): Promise<void> {
    await this.write(encodeHead(text));
    const reader = response.body!.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        if (value.length === 0) continue;
        const size = encodeHead(`${value.length.toString(16)}\r\n`);
        const frame = new Uint8Array(size.length + value.length + 2);
        frame.set(size);
        frame.set(value, size.length);
        frame.set([0x0d, 0x0a], size.length + value.length);
        await this.write(frame);
      }
      await this.write(encodeHead("0\r\n\r\n"));
    } catch (error) {
      await reader.cancel().catch(() => {});
      throw error instanceof ConnectionClosed ? error : new ConnectionClosed();
    }
  }

  /** Writes the status line, headers and body of `response`. */
  async #respond(response: Response, head: boolean, keep: boolean): Promise<void> {
    const streaming = response.body !== null && !head &&
      response.headers.get("transfer-encoding")?.toLowerCase() === "chunked";
    if (streaming) {
      const status = response.status;
      const reason = response.statusText.length > 0 ? response.statusText : REASONS[status] ?? "";
      let text = `HTTP/1.1 ${status} ${reason}\r\n`;
      for (const [name, value] of response.headers) {
        if (name === "content-length" || name === "transfer-encoding" || name === "connection") {
          continue;
        }
        text += `${name}: ${value}\r\n`;
      }
      text += `date: ${httpDate()}\r\ntransfer-encoding: chunked\r\n`;
      if (!keep) text += "connection: close\r\n";
      return await this.#stream(response, `${text}\r\n`);
    }
    let body: Uint8Array;
    try {
      body = response.body === null ? EMPTY : await response.bytes();
    } catch (error) {
      this.#ctx.logger.error("Cannot read the body of an HTTP response", { error });
      throw new ConnectionClosed();
    }
    const status = response.status;
    const reason = response.statusText.length > 0 ? response.statusText : REASONS[status] ?? "";
    let text = `HTTP/1.1 ${status} ${reason}\r\n`;
    let hasDate = false;
    for (const [name, value] of response.headers) {
      if (name === "content-length" || name === "transfer-encoding" || name === "connection") {
        continue;
      }
      if (name === "date") hasDate = true;
      text += `${name}: ${value}\r\n`;
    }
    if (!hasDate) text += `date: ${httpDate()}\r\n`;
    const bodyless = status < 200 || status === 204 || status === 304;
    if (!bodyless) text += `content-length: ${body.length}\r\n`;
    if (!keep) text += "connection: close\r\n";
    text += "\r\n";
    const headBytes = encodeHead(text);
    if (bodyless || head || body.length === 0) {
      await this.write(headBytes);
    } else if (body.length <= BODY_CHUNK) {
      const all = new Uint8Array(headBytes.length + body.length);
      all.set(headBytes);
      all.set(body, headBytes.length);
      await this.write(all);
    } else {
      await this.write(headBytes);
      await this.write(body);
    }
  }

  /**
   * Before closing, half-closes and gives the client a moment to read the answer and go: closing
   * a socket with unread input resets it, which can destroy the answer in flight. Reads during
   * the wait are discarded and bounded; a client that closes ends the wait at once.
   */
  async #linger(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#conn.closeWrite();
    } catch {
      return this.#close();
    }
    this.#armRead(LINGER_MS, "linger");
    let discarded = 0;
    try {
      const scratch = new Uint8Array(16 * 1024);
      while (discarded < LINGER_BYTES) {
        const n = await this.#conn.read(scratch);
        if (n === null) break;
        discarded += n;
      }
    } catch {
      // Closed by the linger deadline or reset by the client.
    }
    this.#timedOut = undefined;
    this.#close();
  }

  /** Writes all of `bytes`. */
  async write(bytes: Uint8Array): Promise<void> {
    let off = 0;
    try {
      while (off < bytes.length) off += await this.#conn.write(bytes.subarray(off));
    } catch (error) {
      throw this.#closed ? new ConnectionClosed() : error;
    }
  }

  /** Buffered request bytes not consumed yet. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /** Moves buffered bytes into `into` (as many as fit); returns how many. */
  takeInto(into: Uint8Array): number {
    const n = Math.min(into.length, this.#end - this.#start);
    into.set(this.#buf.subarray(this.#start, this.#start + n));
    this.#start += n;
    return n;
  }

  /** Drops `n` buffered bytes. */
  skip(n: number): void {
    this.#start += Math.min(n, this.#end - this.#start);
  }

  /** Takes up to `max` buffered bytes, as a copy. */
  take(max: number): Uint8Array<ArrayBuffer> {
    const n = Math.min(max, this.#end - this.#start);
    const out = this.#buf.slice(this.#start, this.#start + n);
    this.#start += n;
    return out;
  }

  /** Runs a chunked decoder over the buffered bytes; returns the body data it yields (a copy). */
  decodeBuffered(decoder: ChunkedDecoder): Uint8Array | undefined {
    const step = decoder.step(this.#buf, this.#start, this.#end);
    this.#start += step.consumed;
    return step.to > step.from ? this.#buf.slice(step.from, step.to) : undefined;
  }

  /** Reads more bytes into the buffer; false at end of stream. */
  fill(): Promise<boolean> {
    return this.#fill();
  }

  /** Reads body bytes straight from the socket into `into`; null at end of stream. */
  async readDirect(into: Uint8Array): Promise<number | null> {
    try {
      return await this.#conn.read(into);
    } catch (error) {
      throw this.#closed ? new ConnectionClosed("Connection closed while reading the body") : error;
    }
  }

  /** The body was read to its end: the whole-request deadline no longer applies. */
  bodyDone(): void {
    this.#armRead(0, "read");
  }
}

function joinHost(hostname: string, port: number): string {
  return hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
}

/** Whether `error` is the socket failing (reset, broken pipe, closed), not a bug. */
function isSocketError(error: unknown): boolean {
  return error instanceof Deno.errors.BadResource ||
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.Interrupted ||
    error instanceof Deno.errors.NotConnected ||
    error instanceof Deno.errors.UnexpectedEof ||
    (error instanceof Error && /tls|handshake|certificate|peer/i.test(error.message));
}
