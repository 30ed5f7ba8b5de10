/**
 * The `tls` key of an HTTP exporter's client settings (the Collector's `configtls` client keys
 * that tfo implements) and loading its PEM files into {@linkcode HttpClientTls}. Used by the
 * HTTP exporters that speak a backend's own API (`loki`, `opensearch`).
 *
 * @module
 */
import { z } from "../config/z.js";
import type { HttpClientTls } from "./http_client.ts";

/** The `tls` schema of an HTTP client: the URL's scheme decides whether TLS is used. */
export const httpClientTlsSchema = z
  .strictObject({
    /** Accepted and ignored: `http://` is plaintext, `https://` is TLS, as in the Collector. */
    insecure: z.boolean().default(false),
    /** Must be false: Deno's HTTP client always verifies server certificates. */
    insecure_skip_verify: z.literal(false, {
      message: "is not supported (Deno's HTTP client always verifies the server certificate); " +
        "trust the server's CA with ca_file instead",
    }).default(false),
    /** PEM file of root certificates trusted in addition to the system's. */
    ca_file: z.string().min(1).optional(),
    /** PEM file of the client certificate, for mutual TLS (with `key_file`). */
    cert_file: z.string().min(1).optional(),
    /** PEM file of the client private key (with `cert_file`). */
    key_file: z.string().min(1).optional(),
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

/** A validated `tls` key. */
export type HttpClientTlsConfig = z.output<typeof httpClientTlsSchema>;

/**
 * The text of the PEM file at `path`, or undefined without a path.
 * @throws {Error} `Cannot read the <what> "<path>"` when the file cannot be read.
 */
export async function readPem(path: string | undefined, what: string): Promise<string | undefined> {
  if (path === undefined) return undefined;
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw new Error(`Cannot read the ${what} "${path}"`, { cause: error });
  }
}

/**
 * Reads the PEM files `tls` names.
 * @throws {Error} `Cannot read the CA file "…"` (and likewise) when a file cannot be read.
 */
export async function loadHttpClientTls(tls: HttpClientTlsConfig): Promise<HttpClientTls> {
  const out: HttpClientTls = {};
  const ca = await readPem(tls.ca_file, "CA file");
  const cert = await readPem(tls.cert_file, "certificate file");
  const key = await readPem(tls.key_file, "key file");
  if (ca !== undefined) out.caPem = ca;
  if (cert !== undefined) out.certPem = cert;
  if (key !== undefined) out.keyPem = key;
  return out;
}

/** A URL for messages: without user info, which may hold credentials. */
export function displayUrl(url: string): string {
  const u = new URL(url);
  u.username = "";
  u.password = "";
  return u.href;
}
