/**
 * The client settings the `kafka` exporter and receiver share, with the Collector's keys (contrib
 * `kafka` components, v0.16x): `brokers`, `client_id`, `protocol_version`, `tls`, `auth.sasl`
 * (and the deprecated `auth.plain_text`), `metadata.refresh_interval`; and their translation into
 * the options of `@platformatic/kafka`, the pure-JavaScript Kafka client tfo uses.
 *
 * `protocol_version` is checked as a version string and otherwise has no effect: the client
 * negotiates each request's version with the broker (ApiVersions), as the Collector's franz-go
 * client does. Keys tfo does not implement (Kerberos, AWS MSK IAM, OAUTHBEARER,
 * `resolve_canonical_bootstrap_servers_only`) are validation errors.
 *
 * @module
 */
import { z } from "../config/z.js";
import { duration } from "../config/schema.ts";
import { readPem } from "../net/http_client_tls.ts";

/** `host:port` of one broker. */
const broker = z.string().regex(/^[^\s:]+:\d{1,5}$/, { message: "must be host:port" });

/** The `tls` key: present means TLS to the brokers (unless `insecure`), as in the Collector. */
export const kafkaTlsSchema = z.strictObject({
  /** Plaintext despite the `tls` key being present. */
  insecure: z.boolean().default(false),
  /** Accept any server certificate (testing only). */
  insecure_skip_verify: z.boolean().default(false),
  /** PEM file of trusted root certificates (the system's when absent). */
  ca_file: z.string().min(1).optional(),
  /** PEM file of the client certificate, for mutual TLS (with `key_file`). */
  cert_file: z.string().min(1).optional(),
  /** PEM file of the client private key (with `cert_file`). */
  key_file: z.string().min(1).optional(),
  /** The name the server certificate must carry, instead of the broker's host. */
  server_name_override: z.string().min(1).optional(),
}).superRefine((t, ctx) => {
  if ((t.cert_file === undefined) !== (t.key_file === undefined)) {
    ctx.addIssue({
      code: "custom",
      path: [t.cert_file === undefined ? "cert_file" : "key_file"],
      message: "cert_file and key_file must be set together",
    });
  }
});

const credentials = {
  username: z.string().min(1),
  password: z.string(),
};

/** The `auth` key: SASL PLAIN or SCRAM over the connection (TLS or not). */
export const kafkaAuthSchema = z.strictObject({
  /** Deprecated in the Collector: SASL PLAIN. */
  plain_text: z.strictObject(credentials).optional(),
  sasl: z.strictObject({
    ...credentials,
    mechanism: z.enum(["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]),
    /** The SASL handshake version; only 1 (SaslAuthenticate) is spoken, 0 is accepted as the Collector's default. */
    version: z.union([z.literal(0), z.literal(1)]).default(0),
  }).optional(),
}).refine((a) => a.plain_text === undefined || a.sasl === undefined, {
  message: "set either sasl or plain_text, not both",
});

/** The client keys both kafka components have. */
export const kafkaClientShape = {
  /** Bootstrap brokers, `host:port`. */
  brokers: z.array(broker).min(1).default(["localhost:9092"]),
  /** Accepted for compatibility; versions are negotiated per request. */
  protocol_version: z.string().regex(/^\d+\.\d+\.\d+$/, { message: "must look like 2.1.0" })
    .default("2.1.0"),
  tls: kafkaTlsSchema.optional(),
  auth: kafkaAuthSchema.optional(),
  metadata: z.strictObject({
    /** How often cluster metadata is refreshed. */
    refresh_interval: duration("10m"),
  }).prefault({}),
};

/** The validated client keys. */
export interface KafkaClientConfig {
  readonly brokers: readonly string[];
  readonly client_id: string;
  readonly tls?: z.output<typeof kafkaTlsSchema> | undefined;
  readonly auth?: z.output<typeof kafkaAuthSchema> | undefined;
  readonly metadata: { readonly refresh_interval: number };
}

/** The connection options of `@platformatic/kafka`, as far as tfo sets them. */
export interface KafkaClientOptions {
  clientId: string;
  bootstrapBrokers: string[];
  metadataMaxAge: number;
  connectTimeout: number;
  requestTimeout: number;
  retries: number;
  retryDelay: number;
  tls?: {
    ca?: string;
    cert?: string;
    key?: string;
    rejectUnauthorized: boolean;
    servername?: string;
  };
  sasl?: {
    mechanism: "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512";
    username: string;
    password: string;
  };
}

/**
 * The client options for `config`, reading its PEM files.
 * @throws {Error} when a PEM file cannot be read.
 */
export async function kafkaClientOptions(
  config: KafkaClientConfig,
  requestTimeoutMs: number,
): Promise<KafkaClientOptions> {
  const options: KafkaClientOptions = {
    clientId: config.client_id,
    bootstrapBrokers: [...config.brokers],
    metadataMaxAge: config.metadata.refresh_interval,
    connectTimeout: Math.min(requestTimeoutMs, 10_000),
    requestTimeout: requestTimeoutMs,
    // The exporter helper and the receiver's own loop retry; the client tries a request twice.
    retries: 1,
    retryDelay: 250,
  };
  const tls = config.tls;
  if (tls !== undefined && !tls.insecure) {
    const out: NonNullable<KafkaClientOptions["tls"]> = {
      rejectUnauthorized: !tls.insecure_skip_verify,
    };
    const ca = await readPem(tls.ca_file, "CA file");
    const cert = await readPem(tls.cert_file, "certificate file");
    const key = await readPem(tls.key_file, "key file");
    if (ca !== undefined) out.ca = ca;
    if (cert !== undefined) out.cert = cert;
    if (key !== undefined) out.key = key;
    if (tls.server_name_override !== undefined) out.servername = tls.server_name_override;
    options.tls = out;
  }
  const sasl = config.auth?.sasl;
  const plain = config.auth?.plain_text;
  if (sasl !== undefined) {
    options.sasl = { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password };
  } else if (plain !== undefined) {
    options.sasl = { mechanism: "PLAIN", username: plain.username, password: plain.password };
  }
  return options;
}

/** Kafka error codes after which sending the same records again cannot succeed. */
const PERMANENT_KAFKA_CODES = new Set([
  "MESSAGE_TOO_LARGE",
  "RECORD_LIST_TOO_LARGE",
  "INVALID_TOPIC_EXCEPTION",
  "TOPIC_AUTHORIZATION_FAILED",
  "CLUSTER_AUTHORIZATION_FAILED",
  "INVALID_RECORD",
  "CORRUPT_MESSAGE",
  "UNSUPPORTED_COMPRESSION_TYPE",
  "INVALID_REQUIRED_ACKS",
]);

/** Every error code and message found in a client error and its causes (`errors`, `cause`). */
export function kafkaErrorDetails(error: unknown): { codes: string[]; message: string } {
  const codes: string[] = [];
  const messages: string[] = [];
  const seen = new Set<unknown>();
  const walk = (e: unknown, depth: number) => {
    if (e === null || typeof e !== "object" || seen.has(e) || depth > 6) return;
    seen.add(e);
    const record = e as Record<string, unknown>;
    if (typeof record.apiCode === "number" || typeof record.apiId === "string") {
      if (typeof record.apiId === "string") codes.push(record.apiId);
    }
    if (typeof record.message === "string" && record.message !== "") messages.push(record.message);
    if (Array.isArray(record.errors)) { for (const inner of record.errors) walk(inner, depth + 1); }
    if (record.cause !== undefined) walk(record.cause, depth + 1);
  };
  walk(error, 0);
  return { codes, message: [...new Set(messages)].join(": ") || String(error) };
}

/** Whether a client error means the same request can never succeed. */
export function isPermanentKafkaError(error: unknown): boolean {
  return kafkaErrorDetails(error).codes.some((c) => PERMANENT_KAFKA_CODES.has(c));
}
