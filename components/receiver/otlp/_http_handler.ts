/**
 * The otlp receiver's HTTP handler: OTLP/HTTP with protobuf or JSON bodies, optionally gzip,
 * deflate or zstd compressed, on the configured paths and on `/v2/<signal>`. Protobuf bodies go
 * into the pipeline still encoded, checked to decode (`lib/otlp/validate.ts`) and held to the item
 * budget (`_budget.ts`) first. Answers follow the OTLP/HTTP
 * specification: errors carry a `google.rpc.Status` in the request's encoding.
 *
 * With an authenticator, every request but a CORS preflight is authenticated from its headers
 * before anything else — routing, media type and body: a refused request gets 401 with an
 * `UNAUTHENTICATED` status (protobuf when the request said protobuf, else JSON) and its body is
 * never read. As in the OpenTelemetry Collector, no `WWW-Authenticate` challenge is sent: API keys
 * travel in custom headers, which no standard challenge scheme describes.
 *
 * @module
 */
import type { Consumer, SignalConsumers } from "../../../lib/consumer/consumer.ts";
import { AuthError, type ServerAuthenticator } from "../../../lib/net/auth.ts";
import { BodyRefusedError, BodyTooLargeError } from "../../../lib/net/body.ts";
import {
  holdOn,
  IN_FLIGHT_RETRY_MS,
  type InFlightBytes,
  type InFlightHold,
} from "../../../lib/net/in_flight_bytes.ts";
import { type HttpRequest, readRequestBody } from "../../../lib/net/http1/request.ts";
import { decompress, parseContentCoding, SUPPORTED_CODINGS } from "../../../lib/net/compression.ts";
import { encodeRpcStatus, encodeRpcStatusJson, GrpcCode } from "../../../lib/net/rpc_status.ts";
import { type ClientInfo, Payload } from "../../../lib/pdata/payload.ts";
import { type Signal, SIGNALS } from "../../../lib/pdata/types.ts";
import type { Logger } from "../../../lib/telemetry/logger.ts";
import type { Meter } from "../../../lib/telemetry/metrics.ts";
import type { OtlpHttpConfig } from "./config.ts";
import type { ResourceMetadataSplitter } from "./_resource_metadata.ts";
import { deliver } from "./_deliver.ts";
import type { TenantGate } from "../../../lib/tenancy/gate.ts";
import { authenticatedClient } from "./_auth.ts";
import { corsPolicy } from "./_cors.ts";
import { admitProto, checkItemBudget, countJsonObjects } from "./_budget.ts";
import { itemCounters } from "./_observe.ts";
import { inputRefusal, pipelineRefusal, type Refusal } from "./_refusal.ts";
import { SIGNAL_CODECS } from "./_signals.ts";

const PROTOBUF = "application/x-protobuf";
const JSON_TYPE = "application/json";

/** The body encoding of a request, from its media type. */
type BodyEncoding = "proto" | "json";

/** Handles one HTTP request; `remoteAddr` is the peer's `host:port`. */
export type OtlpHttpHandler = (request: HttpRequest, remoteAddr: string) => Promise<Response>;

/** What {@linkcode createHttpHandler} needs. */
export interface HttpHandlerOptions {
  readonly config: OtlpHttpConfig;
  readonly next: SignalConsumers;
  readonly logger: Logger;
  readonly meter: Meter;
  /** Checks every request before its body is read, when set. */
  readonly authenticator?: ServerAuthenticator | undefined;
  /** Per-tenant limits and counts, when configured. */
  readonly gate?: TenantGate | undefined;
  /** Request metadata from resource attributes (`metadata_from_resource`), when configured. */
  readonly split?: ResourceMetadataSplitter | undefined;
  /**
   * The bound on request bytes held, shared with the process's other receivers: a request holds
   * its body (and its decompressed form) there until the pipeline answered it, and one that does
   * not fit is answered 503 with Retry-After (before its body is read, when it declares its length).
   */
  readonly inFlight: InFlightBytes;
}

function bodyEncoding(contentType: string | null): BodyEncoding | undefined {
  if (contentType === null) return undefined;
  const semicolon = contentType.indexOf(";");
  const media = (semicolon < 0 ? contentType : contentType.slice(0, semicolon)).trim()
    .toLowerCase();
  if (media === PROTOBUF) return "proto";
  if (media === JSON_TYPE) return "json";
  return undefined;
}

function textResponse(status: number, text: string, headers: HeadersInit = {}): Response {
  const h = new Headers(headers);
  h.set("content-type", "text/plain; charset=utf-8");
  return new Response(text, { status, headers: h });
}

function statusResponse(
  encoding: BodyEncoding,
  refusal: Pick<Refusal, "status" | "code" | "message" | "retryAfterMs">,
): Response {
  const headers = new Headers();
  if (refusal.retryAfterMs !== undefined) {
    headers.set("retry-after", String(Math.max(0, Math.ceil(refusal.retryAfterMs / 1000))));
  }
  const status = { code: refusal.code, message: refusal.message };
  const withRetry = refusal.retryAfterMs === undefined
    ? status
    : { ...status, retryAfterMs: refusal.retryAfterMs };
  if (encoding === "json") {
    headers.set("content-type", JSON_TYPE);
    return new Response(encodeRpcStatusJson(withRetry), { status: refusal.status, headers });
  }
  headers.set("content-type", PROTOBUF);
  return new Response(encodeRpcStatus(withRetry) as Uint8Array<ArrayBuffer>, {
    status: refusal.status,
    headers,
  });
}

/** The request's headers as metadata, keys in lower case. */
function headerMap(request: HttpRequest): Map<string, string[]> {
  const metadata = new Map<string, string[]>();
  for (const [key, value] of request.headers) {
    const values = metadata.get(key);
    if (values === undefined) metadata.set(key, [value]);
    else values.push(value);
  }
  return metadata;
}

/** What authentication established for a request; `undefined` when none is configured. */
type Authenticated = ReadonlyMap<string, string> | undefined;

function clientInfo(
  request: HttpRequest,
  remoteAddr: string,
  includeMetadata: boolean,
  auth: Authenticated,
): ClientInfo {
  if (auth !== undefined) {
    return authenticatedClient(
      includeMetadata ? headerMap(request) : new Map(),
      auth,
      includeMetadata,
      remoteAddr,
    );
  }
  return {
    metadata: includeMetadata ? headerMap(request) : new Map(),
    auth: new Map(),
    address: remoteAddr,
  };
}

/** A body that could not be read: the client went away or broke the framing. */
class BodyReadError extends Error {
  constructor(cause: unknown) {
    super(`Cannot read the request body: ${cause instanceof Error ? cause.message : cause}`, {
      cause,
    });
    this.name = "BodyReadError";
  }
}

async function readBody(
  request: HttpRequest,
  limit: number,
  sizeHint: number,
  admit: ((bytes: number) => boolean) | undefined,
): Promise<Uint8Array> {
  try {
    return await readRequestBody(
      request,
      limit,
      admit === undefined ? { sizeHint } : {
        sizeHint,
        admit,
      },
    );
  } catch (error) {
    if (error instanceof BodyTooLargeError || error instanceof BodyRefusedError) throw error;
    throw new BodyReadError(error);
  }
}

/** The routes: the configured paths and `/v2/<signal>`, for signals with a consumer. */
function routes(config: OtlpHttpConfig, next: SignalConsumers): Map<string, Signal> {
  const configured: Record<Signal, string> = {
    traces: config.traces_url_path,
    metrics: config.metrics_url_path,
    logs: config.logs_url_path,
  };
  const out = new Map<string, Signal>();
  for (const signal of SIGNALS) {
    if (next[signal] === undefined) continue;
    out.set(configured[signal], signal);
    out.set(`/v2/${signal}`, signal);
  }
  return out;
}

/** Creates the HTTP handler of an otlp receiver. */
export function createHttpHandler(options: HttpHandlerOptions): OtlpHttpHandler {
  const { config, next, logger, authenticator, gate } = options;
  const paths = routes(config, next);
  const cors = config.cors !== undefined && config.cors.allowed_origins.length > 0
    ? corsPolicy(config.cors)
    : undefined;
  const allow = cors === undefined ? "POST" : "POST, OPTIONS";
  const limit = config.max_request_body_size;
  const inFlight = options.inFlight;
  const counters = itemCounters(options.meter, "http", [...new Set(paths.values())]);

  async function export_<S extends Signal>(
    signal: S,
    request: HttpRequest,
    remoteAddr: string,
    auth: Authenticated,
    hold: InFlightHold,
  ): Promise<Response> {
    const encoding = bodyEncoding(request.headers.get("content-type"));
    if (encoding === undefined) {
      return textResponse(
        415,
        `415 unsupported media type, supported: [${JSON_TYPE}, ${PROTOBUF}]`,
      );
    }
    const contentEncoding = request.headers.get("content-encoding");
    const coding = parseContentCoding(contentEncoding);
    if (coding === undefined) {
      return statusResponse(encoding, {
        status: 400,
        code: GrpcCode.INVALID_ARGUMENT,
        message: `Unsupported Content-Encoding: ${contentEncoding} (supported: ${
          SUPPORTED_CODINGS.join(", ")
        })`,
      });
    }
    const declared = Number(request.headers.get("content-length") ?? "0");
    if (declared > limit) {
      request.body?.cancel().catch(() => {});
      return statusResponse(encoding, {
        status: 413,
        code: GrpcCode.RESOURCE_EXHAUSTED,
        message: `Request body is larger than the limit: ${declared} > ${limit} bytes`,
      });
    }
    const codec = SIGNAL_CODECS[signal];
    const client = clientInfo(request, remoteAddr, config.include_metadata, auth);
    // A tenant already over its rate limit is refused before its body costs anything. The body
    // is not cancelled: the server skips a small one already buffered and keeps the connection
    // (closing it would cost both sides a new connection per refusal), and closes it otherwise.
    // With metadata_from_resource the tenant is known only once the body is read.
    const early = options.split === undefined
      ? gate?.precheck(client, declared, "http")
      : undefined;
    if (early !== undefined) return statusResponse(encoding, pipelineRefusal(early));
    let payload: Payload<S>;
    let bytes = 0;
    try {
      // A body of undeclared length is charged chunk by chunk as it is read (a declared one was
      // charged whole before); a decompressed one, once made.
      const raw = await readBody(
        request,
        limit,
        declared,
        hold.bytes === 0 ? (n) => hold.charge(n) : undefined,
      );
      if (!hold.charge(raw.length - hold.bytes)) return inFlightRefusal(encoding);
      const body = await decompress(raw, coding, limit);
      if (body !== raw && !hold.charge(body.length)) return inFlightRefusal(encoding);
      bytes = body.length;
      if (encoding === "proto") {
        payload = Payload.fromProto(signal, body, codec.proto, client);
        // Counting checks that a protobuf body decodes (validate.ts), without decoding it.
        const consumer = next[signal]!;
        admitProto(payload, body.length, limit, consumer.mutatesData, consumer.needs);
      } else {
        checkItemBudget(countJsonObjects(body), limit, "JSON objects");
        payload = Payload.of(signal, codec.decodeJson(body), client);
        checkItemBudget(payload.itemCount, limit);
      }
    } catch (error) {
      if (error instanceof BodyRefusedError) return inFlightRefusal(encoding);
      const refusal = error instanceof BodyReadError
        ? {
          status: 400,
          code: GrpcCode.INVALID_ARGUMENT,
          message: error.message,
        }
        : inputRefusal(error);
      if (refusal === undefined) throw error;
      logger.debug("Refused an OTLP/HTTP request", { signal, error: refusal.message });
      return statusResponse(encoding, refusal);
    }
    const count = counters.get(signal)!;
    const items = payload.itemCount;
    try {
      await deliver(next[signal] as Consumer<S>, payload, bytes, "http", options);
    } catch (error) {
      count.refused.add(items);
      const refusal = pipelineRefusal(error);
      logger.debug("The pipeline refused OTLP/HTTP data", { signal, error });
      return statusResponse(encoding, refusal);
    }
    count.accepted.add(items);
    if (encoding === "json") {
      return new Response(codec.encodeResponseJson(undefined), {
        status: 200,
        headers: { "content-type": JSON_TYPE },
      });
    }
    return new Response(codec.encodeResponse(undefined) as Uint8Array<ArrayBuffer>, {
      status: 200,
      headers: { "content-type": PROTOBUF },
    });
  }

  /** The authenticator's facts, or a 401 answer; `undefined` facts without an authenticator. */
  async function authenticate(request: HttpRequest): Promise<Authenticated | Response> {
    if (authenticator === undefined) return undefined;
    try {
      return (await authenticator.authenticate(headerMap(request))).auth;
    } catch (error) {
      if (!(error instanceof AuthError)) throw error;
      logger.debug("Refused an unauthenticated OTLP/HTTP request", { error: error.message });
      request.body?.cancel().catch(() => {});
      const encoding = bodyEncoding(request.headers.get("content-type")) ?? "json";
      return statusResponse(encoding, {
        status: 401,
        code: GrpcCode.UNAUTHENTICATED,
        message: error.message,
      });
    }
  }

  async function route(request: HttpRequest, remoteAddr: string): Promise<Response> {
    const path = new URL(request.url).pathname;
    const signal = paths.get(path);
    if (request.method === "OPTIONS" && cors !== undefined && signal !== undefined) {
      return cors.preflight(request);
    }
    // As in the Collector, authentication comes before routing: unauthenticated clients learn
    // nothing, not even which paths exist.
    const auth = await authenticate(request);
    if (auth instanceof Response) return auth;
    if (signal === undefined) return textResponse(404, "404 page not found");
    if (request.method !== "POST") {
      return textResponse(405, "405 method not allowed, supported: [POST]", { allow });
    }
    // Every request holds its body in the shared in-flight bound until the pipeline answered
    // it: its declared length before the body is read, so a request that does not fit costs
    // nothing but its headers.
    const hold = holdOn(inFlight);
    const declared = Number(request.headers.get("content-length") ?? "");
    if (declared > 0 && declared <= limit && !hold.charge(declared)) {
      request.body?.cancel().catch(() => {});
      return inFlightRefusal(bodyEncoding(request.headers.get("content-type")) ?? "json");
    }
    try {
      return await export_(signal, request, remoteAddr, auth, hold);
    } finally {
      hold.release();
    }
  }

  function inFlightRefusal(encoding: BodyEncoding): Response {
    return statusResponse(encoding, {
      status: 503,
      code: GrpcCode.UNAVAILABLE,
      message: `Too many request bytes in flight (over ${inFlight.limit} bytes); retry later`,
      retryAfterMs: IN_FLIGHT_RETRY_MS,
    });
  }

  return async (request, remoteAddr) => {
    let response: Response;
    try {
      response = await route(request, remoteAddr);
    } catch (error) {
      logger.error("Unexpected error in the OTLP/HTTP handler", { error });
      response = statusResponse(
        bodyEncoding(request.headers.get("content-type")) ?? "json",
        { status: 500, code: GrpcCode.INTERNAL, message: "Internal error" },
      );
    }
    // Preflight answers carry their own CORS headers.
    if (request.method !== "OPTIONS") cors?.decorate(request, response.headers);
    return response;
  };
}
