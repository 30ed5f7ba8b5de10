/**
 * The `kubelet_stats` receiver's kubelet client: where the kubelet is and how to authenticate, as
 * the Collector's kubelet client resolves them, and one bounded GET.
 *
 * - `tls`: the client certificate `cert_file` / `key_file`, the CA `ca_file`.
 * - `serviceAccount`: the pod's service account token as a bearer token (read again before every
 *   scrape, since bound tokens rotate), the service account CA unless `ca_file` is set.
 * - `kubeConfig`: the kubeconfig's API server, credentials and CA; the path goes through the API
 *   server's node proxy, `/api/v1/nodes/<endpoint>/proxy/…`.
 * - `none`: plain HTTP to the read-only port, no credentials.
 *
 * Requests go through `node:https`: Deno's `fetch` cannot skip certificate verification, which
 * `insecure_skip_verify` asks for (kubelets often serve a self-signed certificate).
 *
 * @module
 */
import http from "node:http";
import https from "node:https";
import { k8sConnection, SERVICE_ACCOUNT_DIR } from "../../../lib/k8s/client.ts";
import { readPem } from "../../../lib/net/http_client_tls.ts";
import type { KubeletStatsConfig } from "./config.ts";

/** The largest answer read (a node with 250 pods answers about 2 MiB). */
export const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** A kubelet answer that is not a success. */
export class KubeletHttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** Where the client sends requests and with what. */
interface Target {
  /** The URL prefix paths are appended to, without a trailing slash. */
  readonly base: string;
  readonly token?: string;
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
}

/** Options of {@linkcode kubeletClient}, for tests. */
export interface KubeletClientOptions {
  /** The service account directory. @default /var/run/secrets/kubernetes.io/serviceaccount */
  readonly serviceAccountDir?: string;
  /** The kubeconfig for `auth_type: kubeConfig`. @default KUBECONFIG or ~/.kube/config */
  readonly kubeconfig?: string;
}

/** A client of one kubelet. */
export interface KubeletClient {
  /** The kubelet (or proxy) URL requests go to, for messages. */
  readonly base: () => Promise<string>;
  /** GETs `path` (`/stats/summary`, `/pods`) and parses its JSON. */
  get(path: string, timeoutMs: number, signal?: AbortSignal): Promise<unknown>;
}

/**
 * The URL of the kubelet for a config's `endpoint` and `auth_type`.
 * @throws {Error} when the endpoint has no host (an unset `${env:K8S_NODE_NAME}` leaves
 * `https://:10250`) or is no URL
 */
export function kubeletBaseUrl(
  config: Pick<KubeletStatsConfig, "endpoint" | "auth_type">,
  hostname: () => string = Deno.hostname,
): string {
  const none = config.auth_type === "none";
  let endpoint = config.endpoint === "" ? `${hostname()}:${none ? 10255 : 10250}` : config.endpoint;
  if (!/^[a-z]+:\/\//i.test(endpoint)) endpoint = `${none ? "http" : "https"}://${endpoint}`;
  if (/^[a-z]+:\/\/(?::|\/|$)/i.test(endpoint)) {
    throw new Error(
      `the endpoint "${config.endpoint}" has no host (is the variable naming the node, such as ` +
        "K8S_NODE_NAME from the downward API, set?)",
    );
  }
  try {
    new URL(endpoint);
  } catch {
    throw new Error(`the endpoint "${config.endpoint}" is not a URL or host:port`);
  }
  return endpoint.replace(/\/+$/, "");
}

async function serviceAccountFile(dir: string, name: string, what: string): Promise<string> {
  try {
    return await Deno.readTextFile(`${dir}/${name}`);
  } catch (error) {
    throw new Error(
      `Cannot read the ${what} "${dir}/${name}" (auth_type serviceAccount needs the pod's ` +
        "service account mounted)",
      { cause: error },
    );
  }
}

/** Creates the client; credentials are loaded at the first request and the token at each. */
export function kubeletClient(
  config: KubeletStatsConfig,
  options: KubeletClientOptions = {},
): KubeletClient {
  const saDir = options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  let fixed: Promise<Target> | undefined;

  async function load(): Promise<Target> {
    const ca = await readPem(config.ca_file, "CA file");
    switch (config.auth_type) {
      case "none":
        return { base: kubeletBaseUrl(config) };
      case "tls":
        return {
          base: kubeletBaseUrl(config),
          ...(ca === undefined ? {} : { ca }),
          cert: (await readPem(config.cert_file, "certificate file"))!,
          key: (await readPem(config.key_file, "key file"))!,
        };
      case "serviceAccount":
        return {
          base: kubeletBaseUrl(config),
          ca: ca ?? await serviceAccountFile(saDir, "ca.crt", "service account CA"),
        };
      case "kubeConfig": {
        const c = await k8sConnection("kubeConfig", options.kubeconfig);
        const node = config.endpoint === "" ? Deno.hostname() : config.endpoint;
        return {
          base: `${c.server}/api/v1/nodes/${encodeURIComponent(node)}/proxy`,
          ...(c.token === undefined ? {} : { token: c.token }),
          ...(ca ?? c.caPem) === undefined ? {} : { ca: ca ?? c.caPem },
          ...(c.certPem === undefined ? {} : { cert: c.certPem }),
          ...(c.keyPem === undefined ? {} : { key: c.keyPem }),
        };
      }
    }
  }

  async function target(): Promise<Target> {
    fixed ??= load().catch((error) => {
      fixed = undefined; // try again at the next scrape
      throw error;
    });
    const t = await fixed;
    if (config.auth_type !== "serviceAccount") return t;
    const token = (await serviceAccountFile(saDir, "token", "service account token")).trim();
    return { ...t, token };
  }

  return {
    base: async () => (await target()).base,
    async get(path, timeoutMs, signal) {
      const t = await target();
      const text = await request(t, path, timeoutMs, config.insecure_skip_verify, signal);
      try {
        return JSON.parse(text);
      } catch (error) {
        throw new Error(`GET ${t.base}${path}: the answer is not JSON`, { cause: error });
      }
    },
  };
}

function request(
  t: Target,
  path: string,
  timeoutMs: number,
  insecure: boolean,
  signal: AbortSignal | undefined,
): Promise<string> {
  const url = new URL(`${t.base}${path}`);
  const tls = url.protocol === "https:";
  const headers: Record<string, string> = { accept: "application/json" };
  if (t.token !== undefined) headers.authorization = `Bearer ${t.token}`;
  const options: https.RequestOptions = {
    method: "GET",
    headers,
    ...(tls
      ? {
        rejectUnauthorized: !insecure,
        ...(t.ca === undefined ? {} : { ca: t.ca }),
        ...(t.cert === undefined ? {} : { cert: t.cert, key: t.key }),
      }
      : {}),
  };
  const where = `GET ${url.origin}${url.pathname}`;
  return new Promise<string>((resolve, reject) => {
    const req = (tls ? https : http).request(url, options, (res) => {
      const chunks: Uint8Array[] = [];
      let size = 0;
      res.on("data", (chunk: Uint8Array) => {
        size += chunk.length;
        if (size > MAX_RESPONSE_BYTES) {
          req.destroy(new Error(`${where}: the answer is larger than ${MAX_RESPONSE_BYTES} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on("error", reject);
      res.on("end", () => {
        const body = new TextDecoder().decode(concat(chunks, size));
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) {
          resolve(body);
          return;
        }
        reject(new KubeletHttpError(status, `${where}: HTTP ${status}: ${explain(status, body)}`));
      });
    });
    req.setTimeout(
      timeoutMs,
      () => req.destroy(new Error(`${where}: no answer in ${timeoutMs} ms`)),
    );
    req.on("error", (error: Error) => reject(new Error(`${where}: ${error.message}`)));
    if (signal !== undefined) {
      if (signal.aborted) req.destroy(new Error(`${where}: cancelled`));
      else signal.addEventListener("abort", () => req.destroy(new Error(`${where}: cancelled`)));
    }
    req.end();
  });
}

function concat(chunks: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function explain(status: number, body: string): string {
  const text = body.trim().slice(0, 300);
  if (status === 401) {
    return `${text || "Unauthorized"} (the kubelet did not accept the credentials: check ` +
      "auth_type and that the token or client certificate is valid)";
  }
  if (status === 403) {
    return `${text || "Forbidden"} (the service account needs "get" on "nodes/stats" and, for ` +
      'extra_metadata_labels, "nodes/pods")';
  }
  return text;
}
