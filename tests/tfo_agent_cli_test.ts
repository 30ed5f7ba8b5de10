/**
 * The TFO-Agent example configs through the CLI: `tfo convert` prints their pipeline, `tfo
 * validate` accepts them, and `tfo run` runs the minimal one with no backend reachable, buffering
 * on disk until a (fake, loopback) TelemetryFlow platform comes up and receives what was queued.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { parse } from "yaml";
import { decodeMetricsRequest } from "../lib/otlp/mod.ts";
import { freePort } from "./fixtures/interop/services.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const entry = fileURLToPath(new URL("./fixtures/tfo_agent_main.ts", import.meta.url));
const example = (name: string) => `${root}/examples/tfo-agent/${name}`;

const CREDENTIALS = {
  TELEMETRYFLOW_API_KEY_ID: "tfk_cli_test",
  TELEMETRYFLOW_API_KEY_SECRET: "tfs_cli_test_secret",
};

function command(args: string[], env: Record<string, string>) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-kv", entry, ...args],
    env: { ...env, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  });
}

async function cli(args: string[], env: Record<string, string> = CREDENTIALS) {
  const out = await command(args, env).output();
  const dec = new TextDecoder();
  return { code: out.code, out: dec.decode(out.stdout), err: dec.decode(out.stderr) };
}

Deno.test("tfo convert prints the pipeline of each TFO-Agent example, and validate accepts them", async () => {
  const expected: Record<string, { exporter: string; pipelines: Record<string, string[]> }> = {
    "minimal-development.yaml": {
      exporter: "otlp_http/telemetryflow",
      pipelines: { metrics: ["host_metrics/system"] },
    },
    "production.yaml": {
      exporter: "otlp_grpc/telemetryflow",
      pipelines: {
        // node_exporter runs every scraper system would, so system has none left.
        metrics: ["host_metrics/node_exporter", "host_metrics/process"],
        logs: ["file_log/logs"],
      },
    },
  };
  for (const [name, want] of Object.entries(expected)) {
    const converted = await cli(["convert", "--config", example(name)]);
    assert.equal(converted.code, 0, converted.err);
    const doc = parse(converted.out);
    for (const [signal, receivers] of Object.entries(want.pipelines)) {
      assert.deepEqual(doc.service.pipelines[signal].receivers, receivers, `${name} ${signal}`);
      assert.deepEqual(doc.service.pipelines[signal].exporters, [want.exporter]);
    }
    assert.deepEqual(Object.keys(doc.service.pipelines).sort(), Object.keys(want.pipelines).sort());
    assert.equal(doc.exporters[want.exporter].sending_queue.storage, "file_storage/buffer");
    assert.ok(!converted.out.includes(CREDENTIALS.TELEMETRYFLOW_API_KEY_SECRET));
    assert.match(converted.out, /api_key_secret: \$\{TELEMETRYFLOW_API_KEY_SECRET\}/);

    const validated = await cli(["validate", "--config", example(name)]);
    assert.equal(validated.code, 0, validated.err);
    assert.match(validated.out, new RegExp(`^OK\n {2}metrics: ${want.pipelines.metrics![0]}`));
  }
  // The production example leaves the Kubernetes collector disabled: it adds nothing.
  const prod = await cli(["validate", "--config", example("production.yaml")]);
  assert.doesNotMatch(prod.out, /k8s_cluster|k8s_events/);
});

Deno.test("tfo convert refuses an OpenTelemetry-shaped config and reports TFO-Agent errors with positions", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/otel.yaml`,
      `${await Deno.readTextFile(`${root}/examples/agent.yaml`)}`,
    );
    const otel = await cli(["convert", "--config", `${dir}/otel.yaml`]);
    assert.equal(otel.code, 2);
    assert.match(otel.err, /not in the TFO-Agent shape/);
    await Deno.writeTextFile(
      `${dir}/k8s.yaml`,
      "telemetryflow:\n  endpoint: http://127.0.0.1:1\ncollectors:\n  docker:\n    enabled: true\n",
    );
    const k8s = await cli(["convert", "--config", `${dir}/k8s.yaml`]);
    assert.equal(k8s.code, 2);
    assert.match(
      k8s.err,
      /k8s\.yaml:4:3 {2}collectors\.docker: the collector "docker" is enabled but tfo cannot provide it/,
    );
    assert.equal(k8s.out, "");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A loopback fake of the platform: registration, heartbeats and OTLP/HTTP v2 metrics. */
function fakePlatform(port: number) {
  const metrics: { headers: Headers; body: Uint8Array }[] = [];
  const registrations: unknown[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, async (req) => {
    const path = new URL(req.url).pathname;
    const body = new Uint8Array(await req.arrayBuffer());
    if (path === "/api/v2/agents/register") {
      registrations.push(JSON.parse(new TextDecoder().decode(body)));
      return Response.json({ agent_id: "agent-from-fake" });
    }
    if (path.startsWith("/api/v2/agents/")) return Response.json({ status: "ok" });
    if (path === "/v2/metrics") {
      metrics.push({ headers: req.headers, body });
      return new Response(new Uint8Array(0), {
        headers: { "content-type": "application/x-protobuf" },
      });
    }
    return new Response("not found", { status: 404 });
  });
  return { server, metrics, registrations };
}

async function until<T>(
  what: string,
  deadlineMs: number,
  probe: () => T | undefined | Promise<T | undefined>,
): Promise<T> {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

function timestamps(value: unknown, out: bigint[] = []): bigint[] {
  if (Array.isArray(value)) { for (const v of value) timestamps(v, out); }
  else if (value !== null && typeof value === "object" && !(value instanceof Uint8Array)) {
    for (const [k, v] of Object.entries(value)) {
      if (k === "timeUnixNano" && typeof v === "bigint") out.push(v);
      else timestamps(v, out);
    }
  }
  return out;
}

Deno.test("tfo run runs the minimal TFO-Agent example with no backend and delivers what it buffered once the platform is up", async () => {
  const dir = await Deno.makeTempDir();
  const port = freePort();
  const env = {
    ...CREDENTIALS,
    TELEMETRYFLOW_ENDPOINT: `http://127.0.0.1:${port}`,
    TFO_BUFFER_DIR: `${dir}/buffer`,
  };
  const child = command([
    "run",
    "--config",
    example("minimal-development.yaml"),
    "--set",
    "collectors.system.interval=1s",
    "--set",
    "exporter.otlp.flush_interval=200ms",
    "--set",
    "service.telemetry.metrics.level=none",
  ], env).spawn();
  const stderr: string[] = [];
  const reading = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (t) => void stderr.push(t) }),
  );
  void child.stdout.cancel();
  let platform: ReturnType<typeof fakePlatform> | undefined;
  try {
    await until(
      "tfo to start",
      30_000,
      () => stderr.join("").includes("Everything is ready") ? true : undefined,
    );
    // Nothing listens on the port: an export fails, and the scrapes stay queued on disk.
    await until(
      "a failed export",
      30_000,
      () => stderr.join("").includes("Exporting failed") ? true : undefined,
    );
    const failedAt = BigInt(Date.now()) * 1_000_000n;
    platform = fakePlatform(port);
    const p = platform;
    const bodies = () =>
      p.metrics.map((m) =>
        m.headers.get("content-encoding") === "gzip" ? new Uint8Array(gunzipSync(m.body)) : m.body
      );
    // Queue consumers work in parallel: newer data may arrive first while the entry that failed
    // waits out its backoff, so wait for the data scraped while the backend was down.
    await until(
      "metrics scraped while the backend was down to arrive",
      45_000,
      () =>
        bodies().some((b) =>
            timestamps(decodeMetricsRequest(b)).some((t) => t > 0n && t < failedAt)
          )
          ? true
          : undefined,
    );
    const first = p.metrics[0]!;
    assert.equal(first.headers.get("x-telemetryflow-key-id"), CREDENTIALS.TELEMETRYFLOW_API_KEY_ID);
    const data = decodeMetricsRequest(bodies()[0]!);
    const attrs = data.resourceMetrics[0]!.resource.attributes;
    const env0 = attrs.find((a) => a.key === "deployment.environment.name");
    assert.equal(env0?.value, "development");
    assert.ok((await Deno.stat(`${dir}/buffer`)).isDirectory);
  } finally {
    try {
      child.kill("SIGTERM");
    } catch {
      // It exited by itself: the status below says how.
    }
    const status = await child.status;
    await reading.catch(() => {});
    await platform?.server.shutdown();
    await Deno.remove(dir, { recursive: true });
    assert.equal(status.code, 0, stderr.join("").slice(-2000));
  }
});
