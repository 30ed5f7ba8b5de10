/**
 * The `otlp` (gRPC) exporter's config: the OpenTelemetry Collector's keys and defaults, limited to
 * what tfo implements, with the exporter helper's `retry_on_failure` and `sending_queue`. Unknown
 * keys are rejected.
 *
 * @module
 */
import { z } from "../../../lib/config/z.js";
import { duration } from "../../../lib/config/schema.ts";
import { exporterHelperShape } from "../../../lib/exporterhelper/exporter_helper.ts";
import { clientAuthSchema } from "./client_auth.ts";

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[^\s:/\[\]]+):(\d{1,5})$/;

/** Where an `endpoint` points and whether its scheme asks for TLS. */
export interface GrpcTarget {
  /** `host:port`, without scheme or `dns:///` prefix. */
  target: string;
  /** `https` when the endpoint said `https://`, `http` for `http://`, else undefined. */
  scheme: "http" | "https" | undefined;
}

/**
 * Parses a gRPC `endpoint`: `host:port`, optionally prefixed by `http://`, `https://` or
 * `dns:///` (as the Collector accepts), with an optional trailing `/`. Undefined when invalid.
 */
export function parseGrpcEndpoint(endpoint: string): GrpcTarget | undefined {
  let rest = endpoint.trim();
  let scheme: GrpcTarget["scheme"];
  if (rest.startsWith("https://")) {
    scheme = "https";
    rest = rest.slice(8);
  } else if (rest.startsWith("http://")) {
    scheme = "http";
    rest = rest.slice(7);
  } else if (rest.startsWith("dns:///")) {
    rest = rest.slice(7);
  }
  if (rest.endsWith("/")) rest = rest.slice(0, -1);
  const m = HOST_PORT.exec(rest);
  if (m === null || Number(m[2]) > 65535) return undefined;
  return { target: rest, scheme };
}

const grpcTlsSchema = z
  .strictObject({
    /** Plaintext (h2c) instead of TLS. An `https://` endpoint uses TLS regardless. */
    insecure: z.boolean().default(false),
    /** Accept any server certificate (chain and name are not checked). */
    insecure_skip_verify: z.boolean().default(false),
    /** PEM file of the root certificates to trust instead of the system's. */
    ca_file: z.string().min(1).optional(),
    /** PEM file of the client certificate, for mutual TLS (with `key_file`). */
    cert_file: z.string().min(1).optional(),
    /** PEM file of the client private key (with `cert_file`). */
    key_file: z.string().min(1).optional(),
    /** The name the server certificate must carry, instead of the endpoint's host. */
    server_name_override: z.string().default(""),
  })
  .superRefine((t, ctx) => {
    if ((t.cert_file === undefined) !== (t.key_file === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: [t.cert_file === undefined ? "cert_file" : "key_file"],
        message: "cert_file and key_file must be set together",
      });
    }
  });

/** TLS settings of an OTLP exporter. */
export type GrpcTlsConfig = z.output<typeof grpcTlsSchema>;

/** The `otlp` exporter's config schema. */
export const otlpConfigSchema = z.strictObject({
  /** The server, `host:port` (also `http://host:port`, `https://host:port`, `dns:///host:port`). */
  endpoint: z.string().refine((s) => parseGrpcEndpoint(s) !== undefined, {
    message: 'must be "host:port", for example "collector:4317" (an http(s):// scheme is allowed)',
  }),
  /** TLS; on by default. */
  tls: grpcTlsSchema.prefault({}),
  /** Call metadata sent with every export; a key ending in `-bin` takes a base64 value. */
  headers: z
    .record(
      z.string().regex(/^[0-9A-Za-z_.-]+$/, {
        message: "must be a gRPC metadata key (letters, digits, '_', '.', '-')",
      }),
      z.string(),
    )
    .default({}),
  /** Message compression: `gzip`, or `none` / `""` for none. */
  compression: z.enum(["gzip", "none", ""]).default("gzip"),
  /** The deadline of one export call (one attempt); 0 means none. */
  timeout: duration("5s"),
  ...exporterHelperShape,
  /** HTTP/2 keepalive pings; none unless set. */
  keepalive: z
    .strictObject({
      /** Idle time before a ping. */
      time: duration("10s"),
      /** How long to wait for the ping's answer before the connection is closed. */
      timeout: duration("10s"),
      /** Ping also when no call is in flight. */
      permit_without_stream: z.boolean().default(false),
    })
    .optional(),
  /** The load-balancing policy over the addresses the endpoint resolves to. */
  balancer_name: z.enum(["round_robin", "pick_first"]).default("round_robin"),
  /** The `:authority` header of calls, when it must differ from the endpoint. */
  authority: z.string().optional(),
  /** A client authenticator extension whose headers every call carries as metadata. */
  auth: clientAuthSchema.optional(),
});

/** The `otlp` exporter's validated config. */
export type OtlpConfig = z.output<typeof otlpConfigSchema>;
