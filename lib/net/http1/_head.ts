/**
 * The head of an HTTP/1.1 request (RFC 9112 sections 2 to 6): finding its end in a buffer and
 * parsing the request line and header fields strictly — CRLF line ends only, no obsolete line
 * folding, no whitespace before a colon, token names, no control characters in values — with the
 * framing facts the connection needs (Content-Length, chunked, Connection, Expect, Host).
 * Ambiguous framing, which request smuggling feeds on, is refused rather than guessed at.
 *
 * @module
 */

/** A request head refused, with the status to answer before closing the connection. */
export class HeadError extends Error {
  /** The HTTP status to answer: 400, 417, 431, 501 or 505. */
  readonly status: number;

  /** Creates the error. */
  constructor(status: number, message: string) {
    super(message);
    this.name = "HeadError";
    this.status = status;
  }
}

/** A parsed request head. */
export interface RequestHead {
  readonly method: string;
  /** The request target as sent: `/path?query`, `*`, or an absolute URL. */
  readonly target: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  readonly minorVersion: 0 | 1;
  /** Field names in lower case, values trimmed, in order of arrival. */
  readonly headers: Array<[string, string]>;
  /** The single Host value; `undefined` when absent (HTTP/1.0 only). */
  readonly host: string | undefined;
  /** The declared body length; `undefined` for none declared. */
  readonly contentLength: number | undefined;
  /** The body is chunked. */
  readonly chunked: boolean;
  /** The connection closes after this request: the client asked so, or speaks HTTP/1.0. */
  readonly close: boolean;
  /** The client sent `Expect: 100-continue`. */
  readonly expectContinue: boolean;
}

const CR = 13;
const LF = 10;

/**
 * Where the head that starts at `start` ends (the index just past its blank line), scanning from
 * `from` (where an earlier scan left off); -1 when the blank line has not arrived yet.
 */
export function findHeadEnd(buf: Uint8Array, start: number, from: number, end: number): number {
  let i = Math.max(start, from - 3);
  for (;;) {
    i = buf.indexOf(LF, i);
    if (i < 0 || i >= end) return -1;
    if (i >= start + 3 && buf[i - 1] === CR && buf[i - 2] === LF && buf[i - 3] === CR) {
      return i + 1;
    }
    i++;
  }
}

/** Every `tchar` of RFC 9110 section 5.6.2, as a lookup table. */
const TCHAR = (() => {
  const table = new Uint8Array(128);
  for (const c of "!#$%&'*+-.^_`|~") table[c.charCodeAt(0)] = 1;
  for (let c = 0x30; c <= 0x39; c++) table[c] = 1;
  for (let c = 0x41; c <= 0x5a; c++) table[c] = 1;
  for (let c = 0x61; c <= 0x7a; c++) table[c] = 1;
  return table;
})();

function isToken(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128 || TCHAR[c] === 0) return false;
  }
  return true;
}

/** A field value holds no control character but HTAB (obs-text, 0x80 to 0xFF, is allowed). */
function isFieldValue(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 9) || c === 0x7f) return false;
  }
  return true;
}

/** A request target holds no whitespace or control character. */
function isTarget(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) return false;
  }
  return true;
}

const utf8 = new TextDecoder();

/** The bytes as ISO-8859-1 text (one character per byte), fast for ASCII. */
function latin1(bytes: Uint8Array): string {
  let ascii = true;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i]! >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return utf8.decode(bytes);
  let out = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    out += String.fromCharCode(...bytes.subarray(i, Math.min(bytes.length, i + 8192)));
  }
  return out;
}

/** Whether a comma-separated header value lists `token` (case-insensitive). */
function listsToken(value: string, token: string): boolean {
  for (const part of value.split(",")) {
    if (part.trim().toLowerCase() === token) return true;
  }
  return false;
}

const DIGITS = /^[0-9]+$/;

/**
 * Parses the head in `bytes` (request line, fields, and the blank line's CRLF at its end).
 *
 * @throws {HeadError} for a malformed or ambiguous head, with the status to answer.
 */
export function parseHead(bytes: Uint8Array): RequestHead {
  const text = latin1(bytes);
  // The head ends in CRLF CRLF; drop it and split the rest into lines.
  const lines = text.slice(0, text.length - 4).split("\r\n");
  const requestLine = lines[0]!;
  const sp1 = requestLine.indexOf(" ");
  const sp2 = requestLine.indexOf(" ", sp1 + 1);
  if (sp1 <= 0 || sp2 < 0 || requestLine.indexOf(" ", sp2 + 1) >= 0) {
    throw new HeadError(400, "Malformed request line");
  }
  const method = requestLine.slice(0, sp1);
  const target = requestLine.slice(sp1 + 1, sp2);
  const version = requestLine.slice(sp2 + 1);
  if (!isToken(method)) throw new HeadError(400, "Malformed request method");
  if (!isTarget(target)) throw new HeadError(400, "Malformed request target");
  let minorVersion: 0 | 1;
  if (version === "HTTP/1.1") minorVersion = 1;
  else if (version === "HTTP/1.0") minorVersion = 0;
  else if (/^HTTP\/[0-9]\.[0-9]$/.test(version)) {
    throw new HeadError(505, `HTTP version not supported: ${version}`);
  } else throw new HeadError(400, "Malformed HTTP version");

  const headers: Array<[string, string]> = [];
  let host: string | undefined;
  let hosts = 0;
  let contentLength: number | undefined;
  let transferEncoding: string | undefined;
  let connectionClose = false;
  let expectContinue = false;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(":");
    if (colon <= 0) throw new HeadError(400, "Malformed header line");
    const rawName = line.slice(0, colon);
    if (!isToken(rawName)) {
      // Also catches obs-fold (a line starting with whitespace) and whitespace before the colon.
      throw new HeadError(400, "Malformed header name");
    }
    const name = rawName.toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (!isFieldValue(value)) throw new HeadError(400, `Malformed value of header "${name}"`);
    headers.push([name, value]);
    switch (name) {
      case "host":
        hosts++;
        host = value;
        break;
      case "content-length": {
        // A list of identical values is allowed (RFC 9110 section 8.6); different ones are not.
        for (const part of value.split(",")) {
          const digits = part.trim();
          if (!DIGITS.test(digits) || digits.length > 15) {
            throw new HeadError(400, "Malformed Content-Length");
          }
          const n = Number(digits);
          if (contentLength !== undefined && contentLength !== n) {
            throw new HeadError(400, "Conflicting Content-Length values");
          }
          contentLength = n;
        }
        break;
      }
      case "transfer-encoding":
        transferEncoding = transferEncoding === undefined ? value : `${transferEncoding},${value}`;
        break;
      case "connection":
        if (listsToken(value, "close")) connectionClose = true;
        break;
      case "expect":
        if (value.toLowerCase() !== "100-continue") {
          throw new HeadError(417, `Expectation not supported: ${value}`);
        }
        expectContinue = true;
        break;
    }
  }
  if (minorVersion === 1 && hosts !== 1) {
    throw new HeadError(400, hosts === 0 ? "Missing Host header" : "More than one Host header");
  }
  if (hosts > 1) throw new HeadError(400, "More than one Host header");
  let chunked = false;
  if (transferEncoding !== undefined) {
    if (contentLength !== undefined) {
      throw new HeadError(400, "Both Transfer-Encoding and Content-Length");
    }
    if (minorVersion === 0) throw new HeadError(400, "Transfer-Encoding in an HTTP/1.0 request");
    const codings = transferEncoding.split(",").map((c) => c.trim().toLowerCase());
    if (codings.length !== 1 || codings[0] !== "chunked") {
      throw new HeadError(501, `Transfer-Encoding not supported: ${transferEncoding}`);
    }
    chunked = true;
  }
  return {
    method,
    target,
    minorVersion,
    headers,
    host,
    contentLength,
    chunked,
    // HTTP/1.0 keep-alive is an old extension that no OTLP client needs: such connections close.
    close: connectionClose || minorVersion === 0,
    expectContinue: expectContinue && minorVersion === 1,
  };
}
