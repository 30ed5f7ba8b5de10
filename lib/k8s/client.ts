/**
 * A small Kubernetes API client for list and watch of core objects, as the Collector's k8s
 * components use client-go: credentials from the pod's service account (`auth_type:
 * serviceAccount`), from a kubeconfig (`kubeConfig`: `KUBECONFIG` or `~/.kube/config`, its current
 * context's server, CA, token or client certificate), or none (`none`: the in-cluster address,
 * no credentials).
 *
 * The service account directory is `/var/run/secrets/kubernetes.io/serviceaccount`; the API
 * server address comes from `KUBERNETES_SERVICE_HOST` / `KUBERNETES_SERVICE_PORT`.
 *
 * @module
 */
import { loadYaml } from "../config/yaml.ts";

/** How the client authenticates, with the Collector's `auth_type` values. */
export type K8sAuthType = "serviceAccount" | "kubeConfig" | "none";

/** Where and how to reach the API server. */
export interface K8sConnection {
  /** `https://host:port`, no trailing slash. */
  readonly server: string;
  readonly token?: string;
  readonly caPem?: string;
  readonly certPem?: string;
  readonly keyPem?: string;
}

/** The service account directory of a pod. */
export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

function inClusterServer(): string {
  const host = Deno.env.get("KUBERNETES_SERVICE_HOST");
  const port = Deno.env.get("KUBERNETES_SERVICE_PORT");
  if (host === undefined || port === undefined) {
    throw new Error(
      "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set: tfo is not running in a " +
        "pod (use auth_type: kubeConfig outside a cluster)",
    );
  }
  return `https://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw new Error(`Cannot read the ${what} "${path}"`, { cause: error });
  }
}

function fromBase64(data: string): string {
  return new TextDecoder().decode(Uint8Array.from(atob(data), (c) => c.charCodeAt(0)));
}

interface KubeConfigFile {
  "current-context"?: string;
  contexts?: { name: string; context: { cluster: string; user?: string } }[];
  clusters?: {
    name: string;
    cluster: {
      server: string;
      "certificate-authority"?: string;
      "certificate-authority-data"?: string;
    };
  }[];
  users?: {
    name: string;
    user: {
      token?: string;
      tokenFile?: string;
      "client-certificate"?: string;
      "client-certificate-data"?: string;
      "client-key"?: string;
      "client-key-data"?: string;
    };
  }[];
}

async function fromKubeConfig(file?: string): Promise<K8sConnection> {
  const path = file ?? Deno.env.get("KUBECONFIG")?.split(":")[0] ??
    `${Deno.env.get("HOME") ?? ""}/.kube/config`;
  const config = (await loadYaml()).parse(await readText(path, "kubeconfig")) as KubeConfigFile;
  const contextName = config["current-context"];
  const context = config.contexts?.find((c) => c.name === contextName)?.context;
  if (context === undefined) throw new Error(`${path}: no current context`);
  const cluster = config.clusters?.find((c) => c.name === context.cluster)?.cluster;
  if (cluster === undefined) throw new Error(`${path}: no cluster "${context.cluster}"`);
  const user = config.users?.find((u) => u.name === context.user)?.user ?? {};
  const out: {
    server: string;
    token?: string;
    caPem?: string;
    certPem?: string;
    keyPem?: string;
  } = { server: cluster.server.replace(/\/+$/, "") };
  if (cluster["certificate-authority-data"] !== undefined) {
    out.caPem = fromBase64(cluster["certificate-authority-data"]);
  } else if (cluster["certificate-authority"] !== undefined) {
    out.caPem = await readText(cluster["certificate-authority"], "CA file");
  }
  if (user.token !== undefined) out.token = user.token;
  else if (user.tokenFile !== undefined) {
    out.token = (await readText(user.tokenFile, "token file")).trim();
  }
  if (user["client-certificate-data"] !== undefined) {
    out.certPem = fromBase64(user["client-certificate-data"]);
  } else if (user["client-certificate"] !== undefined) {
    out.certPem = await readText(user["client-certificate"], "client certificate");
  }
  if (user["client-key-data"] !== undefined) out.keyPem = fromBase64(user["client-key-data"]);
  else if (user["client-key"] !== undefined) {
    out.keyPem = await readText(user["client-key"], "client key");
  }
  return out;
}

/**
 * The connection for `auth` (`kubeconfig`: a kubeconfig file other than `KUBECONFIG` /
 * `~/.kube/config`).
 * @throws {Error} when the service account files, the kubeconfig or the in-cluster environment
 * are missing.
 */
export async function k8sConnection(
  auth: K8sAuthType,
  kubeconfig?: string,
): Promise<K8sConnection> {
  switch (auth) {
    case "kubeConfig":
      return await fromKubeConfig(kubeconfig);
    case "none":
      return { server: inClusterServer() };
    case "serviceAccount":
      return {
        server: inClusterServer(),
        token: (await readText(`${SERVICE_ACCOUNT_DIR}/token`, "service account token")).trim(),
        caPem: await readText(`${SERVICE_ACCOUNT_DIR}/ca.crt`, "service account CA"),
      };
  }
}

/** An API answer that is not a success, with the server's `Status` message. */
export class K8sApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** One watch event. */
export interface WatchEvent<T> {
  readonly type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  readonly object: T;
}

/** A list answer: the items and the list's resourceVersion. */
export interface ListResult<T> {
  readonly items: T[];
  readonly resourceVersion: string;
}

/** List and watch over one connection. */
export class K8sClient {
  readonly #connection: K8sConnection;
  readonly #http: Deno.HttpClient;

  constructor(connection: K8sConnection) {
    this.#connection = connection;
    const options: Deno.CreateHttpClientOptions = {};
    if (connection.caPem !== undefined) options.caCerts = [connection.caPem];
    this.#http = connection.certPem !== undefined && connection.keyPem !== undefined
      ? Deno.createHttpClient({ ...options, cert: connection.certPem, key: connection.keyPem })
      : Deno.createHttpClient(options);
  }

  #headers(): HeadersInit {
    const headers: Record<string, string> = { accept: "application/json" };
    if (this.#connection.token !== undefined) {
      headers.authorization = `Bearer ${this.#connection.token}`;
    }
    return headers;
  }

  async #get(path: string, signal: AbortSignal | undefined): Promise<Response> {
    const response = await fetch(`${this.#connection.server}${path}`, {
      headers: this.#headers(),
      client: this.#http,
      ...(signal === undefined ? {} : { signal }),
    });
    if (!response.ok) {
      const text = await response.text().catch(() => "");
      let message = text.slice(0, 500);
      try {
        message = (JSON.parse(text) as { message?: string }).message ?? message;
      } catch {
        // not a Status object
      }
      throw new K8sApiError(response.status, `GET ${path}: HTTP ${response.status}: ${message}`);
    }
    return response;
  }

  /** GETs one object at `path` (e.g. `/api/v1/persistentvolumes/pv-1`). */
  async get<T>(path: string, signal?: AbortSignal): Promise<T> {
    return await (await this.#get(path, signal)).json() as T;
  }

  /** Lists `path` (e.g. `/api/v1/pods`) with query `params`. */
  async list<T>(
    path: string,
    params: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<ListResult<T>> {
    const query = new URLSearchParams(params).toString();
    const response = await this.#get(`${path}${query === "" ? "" : `?${query}`}`, signal);
    const body = await response.json() as {
      items?: T[];
      metadata?: { resourceVersion?: string };
    };
    return { items: body.items ?? [], resourceVersion: body.metadata?.resourceVersion ?? "" };
  }

  /**
   * Watches `path` from `resourceVersion` (with bookmarks), calling `onEvent` per event until the
   * server ends the watch or `signal` aborts.
   */
  async watch<T>(
    path: string,
    params: Record<string, string>,
    resourceVersion: string,
    onEvent: (event: WatchEvent<T>) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const query = new URLSearchParams({
      ...params,
      watch: "true",
      allowWatchBookmarks: "true",
      resourceVersion,
      timeoutSeconds: "300",
    }).toString();
    const response = await this.#get(`${path}?${query}`, signal);
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let pending = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        pending += value;
        let newline: number;
        while ((newline = pending.indexOf("\n")) >= 0) {
          const line = pending.slice(0, newline).trim();
          pending = pending.slice(newline + 1);
          if (line !== "") onEvent(JSON.parse(line) as WatchEvent<T>);
        }
      }
    } finally {
      reader.releaseLock();
      await response.body?.cancel().catch(() => {});
    }
  }

  /** Releases the connection pool. */
  close(): void {
    this.#http.close();
  }
}
