/**
 * Real remote write receivers for the exporter's tests: Debian's Prometheus 2.42 (remote write
 * 1.0) and the Prometheus 3.x that `bench/peers.sh` builds (remote write 2.0), each started on a
 * free loopback port with its own temp storage, no scrape targets, native histograms on.
 */
import {
  executableExists,
  freePort,
  PEERS_BIN,
  TextCollector,
} from "../../../fixtures/interop/services.ts";
import { waitForHttp } from "../prometheus/_peers.ts";

/** Debian's Prometheus 2.42, when installed. */
export const PROMETHEUS_2 = ["/usr/bin/prometheus", "/usr/local/bin/prometheus"].find(
  executableExists,
);

/** The Prometheus 3.x built by `bench/peers.sh`, when built. */
export const PROMETHEUS_3 = executableExists(`${PEERS_BIN}/prometheus3`)
  ? `${PEERS_BIN}/prometheus3`
  : undefined;

/** A running Prometheus receiving remote write. */
export interface RwServer {
  readonly port: number;
  readonly url: string;
  readonly output: () => string;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts `binary` as a remote write receiver on a free port (3.x also accepts 2.0). */
export async function startRwPrometheus(binary: string, v3: boolean): Promise<RwServer> {
  const dir = await Deno.makeTempDir({ prefix: "tfo-prw-prom-" });
  await Deno.writeTextFile(`${dir}/prometheus.yml`, "global:\n  scrape_interval: 15s\n");
  const port = freePort();
  const args = [
    `--config.file=${dir}/prometheus.yml`,
    `--storage.tsdb.path=${dir}/data`,
    `--web.listen-address=127.0.0.1:${port}`,
    "--web.enable-remote-write-receiver",
    "--log.level=warn",
    "--enable-feature=native-histograms",
  ];
  if (v3) {
    args.push(
      "--web.remote-write-receiver.accepted-protobuf-messages=prometheus.WriteRequest",
      "--web.remote-write-receiver.accepted-protobuf-messages=io.prometheus.write.v2.Request",
    );
  }
  const child = new Deno.Command(binary, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = new TextCollector(child.stdout);
  const err = new TextCollector(child.stderr);
  const server: RwServer = {
    port,
    url: `http://127.0.0.1:${port}/api/v1/write`,
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
  try {
    await waitForHttp(`http://127.0.0.1:${port}/-/ready`, {
      child,
      dir,
      output: server.output,
      [Symbol.asyncDispose]: server[Symbol.asyncDispose],
    });
  } catch (e) {
    await server[Symbol.asyncDispose]();
    throw e;
  }
  return server;
}
