/**
 * Child processes for the prometheus exporter's tests against real peers: `tfo run`, a Debian
 * Prometheus server on free loopback ports with its own temp config and storage, and the
 * contrib Collector built by `bench/peers.sh`; plus Prometheus HTTP API queries.
 */
import {
  executableExists,
  PEERS_BIN,
  TextCollector,
  waitFor,
} from "../../../fixtures/interop/services.ts";

const MAIN = new URL("../../../../main.ts", import.meta.url).pathname;

/** Debian's Prometheus server, when installed. */
export const PROMETHEUS = ["/usr/bin/prometheus", "/usr/local/bin/prometheus"].find(
  executableExists,
);

/** The Collector with the contrib prometheus and file exporters, when built. */
export const OTELCOL_CONTRIB = executableExists(`${PEERS_BIN}/otelcol-contrib`)
  ? `${PEERS_BIN}/otelcol-contrib`
  : undefined;

/** telemetrygen, when built by `bench/peers.sh`. */
export const TELEMETRYGEN = executableExists(`${PEERS_BIN}/telemetrygen`)
  ? `${PEERS_BIN}/telemetrygen`
  : undefined;

/** A child process, its output, and its temp directory. */
export interface Peer {
  readonly child: Deno.ChildProcess;
  readonly dir: string;
  readonly output: () => string;
  [Symbol.asyncDispose](): Promise<void>;
}

async function spawn(
  command: string,
  args: (dir: string) => string[],
  files: Record<string, string>,
) {
  const dir = await Deno.makeTempDir({ prefix: "tfo-prom-peer-" });
  for (const [name, text] of Object.entries(files)) {
    await Deno.writeTextFile(`${dir}/${name}`, text);
  }
  const child = new Deno.Command(command, {
    args: args(dir),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = new TextCollector(child.stdout);
  const err = new TextCollector(child.stderr);
  return {
    child,
    dir,
    output: () => out.text + err.text,
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGTERM");
      } catch {
        // exited already
      }
      const killer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch {
          // exited already
        }
      }, 10_000);
      await child.status;
      clearTimeout(killer);
      await Promise.all([out.done, err.done]);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** Starts `tfo run` with a config (its temp dir is `${dir}` inside the text). */
export function spawnTfo(config: (dir: string) => string): Promise<Peer> {
  return spawnWithDir(
    Deno.execPath(),
    (dir) => ["run", "-A", "--unstable-kv", MAIN, "run", "--config", `${dir}/config.yaml`],
    config,
  );
}

/** Starts the contrib Collector with a config. */
export function spawnOtelcol(config: (dir: string) => string): Promise<Peer> {
  return spawnWithDir(OTELCOL_CONTRIB!, (dir) => ["--config", `${dir}/config.yaml`], config);
}

async function spawnWithDir(
  command: string,
  args: (dir: string) => string[],
  config: (dir: string) => string,
): Promise<Peer> {
  let configText = "";
  const peer = await spawn(command, (dir) => {
    configText = config(dir);
    Deno.writeTextFileSync(`${dir}/config.yaml`, configText);
    return args(dir);
  }, {});
  return peer;
}

/** Starts Prometheus scraping `target` (`host:port`) every second, on `port`. */
export function spawnPrometheus(port: number, target: string): Promise<Peer> {
  const config = [
    "global:",
    "  scrape_interval: 1s",
    "  scrape_timeout: 1s",
    "scrape_configs:",
    "  - job_name: tfo",
    "    honor_labels: true",
    "    static_configs:",
    `      - targets: ["${target}"]`,
  ].join("\n");
  return spawn(PROMETHEUS!, (dir) => [
    `--config.file=${dir}/prometheus.yml`,
    `--storage.tsdb.path=${dir}/data`,
    `--web.listen-address=127.0.0.1:${port}`,
    "--log.level=warn",
    // Prometheus then scrapes the protobuf exposition, the only one with native histograms.
    "--enable-feature=native-histograms",
  ], { "prometheus.yml": config });
}

/** One series of a Prometheus API answer. */
export interface PromSeries {
  metric: Record<string, string>;
  value?: [number, string];
  values?: [number, string][];
}

/** Runs a PromQL query (instant, or a range selector for raw samples) on Prometheus. */
export async function promQuery(port: number, query: string): Promise<PromSeries[]> {
  const url = `http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(query)}`;
  const r = await fetch(url);
  const body = await r.json() as { status: string; data?: { result: PromSeries[] } };
  if (body.status !== "success") throw new Error(`Query ${query} failed: ${JSON.stringify(body)}`);
  return body.data!.result;
}

/** Waits until a query returns at least one series. */
export function waitForSeries(port: number, query: string, timeoutMs = 40_000) {
  return waitFor(
    `Prometheus to hold ${query}`,
    async () => {
      try {
        const result = await promQuery(port, query);
        return result.length > 0 ? result : undefined;
      } catch {
        return undefined;
      }
    },
    timeoutMs,
    250,
  );
}

/** Waits until an HTTP URL answers 2xx. */
export function waitForHttp(url: string, peer: Peer, timeoutMs = 30_000): Promise<true> {
  let exited = false;
  peer.child.status.then(() => exited = true);
  return waitFor(
    `${url} to answer`,
    async () => {
      if (exited) throw new Error(`The process exited before serving ${url}:\n${peer.output()}`);
      try {
        const r = await fetch(url);
        await r.body?.cancel();
        return r.ok ? true : undefined;
      } catch {
        return undefined;
      }
    },
    timeoutMs,
    100,
  );
}
