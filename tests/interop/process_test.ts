/**
 * `tfo run` as a real process: on SIGTERM it drains what the batch processor holds to the exporter
 * before it exits 0, answering the waiting client; with its port taken it exits 1 naming the
 * receiver and the cause.
 */
import assert from "node:assert/strict";
import { decodeTracesRequest } from "../../lib/otlp/mod.ts";
import { tracesProto } from "../components/receiver/otlp/_helpers.ts";
import { freePort, TextCollector, waitFor } from "../fixtures/interop/services.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** A `tfo run` child process and what it wrote. */
interface TfoProcess {
  readonly child: Deno.ChildProcess;
  readonly stderr: TextCollector;
  readonly stdout: TextCollector;
  [Symbol.asyncDispose](): Promise<void>;
}

async function spawnTfo(config: string): Promise<TfoProcess> {
  const dir = await Deno.makeTempDir({ prefix: "tfo-run-" });
  const path = `${dir}/config.yaml`;
  await Deno.writeTextFile(path, config);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "run", "--config", path],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new TextCollector(child.stderr);
  const stdout = new TextCollector(child.stdout);
  return {
    child,
    stderr,
    stdout,
    async [Symbol.asyncDispose]() {
      const killer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch {
          // already exited
        }
      }, 15_000);
      try {
        child.kill("SIGKILL");
      } catch {
        // already exited: the normal case
      }
      await child.status;
      clearTimeout(killer);
      await Promise.all([stderr.done, stdout.done]);
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Resolves as `promise` does, or rejects after `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)),
          ms,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves with the exit status, or rejects after `ms`. */
function exitWithin(child: Deno.ChildProcess, ms: number): Promise<Deno.CommandStatus> {
  return within(child.status, ms, "tfo to exit");
}

/** A fake OTLP/HTTP backend that records request bodies. */
function startSink() {
  const bodies: Uint8Array[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    bodies.push(new Uint8Array(await req.arrayBuffer()));
    return new Response(new Uint8Array(0), {
      headers: { "content-type": "application/x-protobuf" },
    });
  });
  return { bodies, port: server.addr.port, server };
}

Deno.test("tfo run drains the batch to the exporter on SIGTERM, answers the waiting client and exits 0", async () => {
  const sink = startSink();
  const metricsPort = freePort();
  const abort = new AbortController();
  try {
    await using tfo = await spawnTfo(`
receivers:
  otlp:
    protocols:
      http: { endpoint: 127.0.0.1:0 }
processors:
  batch:
    timeout: 1h
    send_batch_size: 1000000
exporters:
  otlphttp:
    endpoint: http://127.0.0.1:${sink.port}
    compression: none
service:
  telemetry:
    metrics: { address: 127.0.0.1:${metricsPort} }
  pipelines:
    traces: { receivers: [otlp], processors: [batch], exporters: [otlphttp] }
`);
    const started = await waitFor("tfo to be ready", () => {
      const text = tfo.stderr.text;
      const endpoint = /"Starting HTTP server".*?"endpoint":"127\.0\.0\.1:(\d+)"/.exec(text) ??
        /Starting HTTP server.*?127\.0\.0\.1:(\d+)/.exec(text);
      return text.includes("Everything is ready") && endpoint !== null
        ? Number(endpoint[1])
        : false;
    }, 20_000).catch((e) => {
      throw new Error(`${e.message}\nstderr:\n${tfo.stderr.text}`);
    });

    const pending = fetch(`http://127.0.0.1:${started}/v1/traces`, {
      method: "POST",
      body: tracesProto("held-1", "held-2", "held-3"),
      headers: { "content-type": "application/x-protobuf" },
      signal: abort.signal,
    });
    pending.catch(() => {});
    // The batch processor took the spans (and holds them: timeout 1h, size 1e6).
    await waitFor("the batch processor to hold 3 spans", async () => {
      const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      const text = await res.text();
      return /^otelcol_processor_incoming_items\{[^}]*\} 3$/m.test(text);
    }, 10_000);
    assert.equal(sink.bodies.length, 0, "nothing reached the sink before SIGTERM");

    tfo.child.kill("SIGTERM");
    // Bounded well below tfo's 30 s shutdown timeout, so a drain that waits for it fails here.
    const response = await within(pending, 10_000, "the held request to be answered").catch((e) => {
      throw new Error(`${e instanceof Error ? e.message : e}\nstderr:\n${tfo.stderr.text}`);
    });
    assert.equal(response.status, 200, "the held request is answered with success");
    await response.body?.cancel();
    const status = await exitWithin(tfo.child, 20_000);
    assert.equal(status.code, 0, `exit code; stderr:\n${tfo.stderr.text}`);
    await tfo.stderr.done;
    assert.match(tfo.stderr.text, /Shutdown complete/);
    assert.equal(sink.bodies.length, 1);
    const names = decodeTracesRequest(sink.bodies[0]!).resourceSpans.flatMap((rs) =>
      rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => s.name))
    );
    assert.deepEqual(names, ["held-1", "held-2", "held-3"]);
  } finally {
    abort.abort();
    await sink.server.shutdown();
  }
});

Deno.test("tfo run exits 1 naming the receiver and the cause when its port is in use", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (taken.addr as Deno.NetAddr).port;
    await using tfo = await spawnTfo(`
receivers:
  otlp/busy:
    protocols:
      http: { endpoint: 127.0.0.1:${port} }
exporters:
  debug:
service:
  telemetry:
    metrics: { level: none }
  pipelines:
    traces: { receivers: [otlp/busy], exporters: [debug] }
`);
    const status = await exitWithin(tfo.child, 20_000);
    await tfo.stderr.done;
    assert.equal(status.code, 1, `exit code; stderr:\n${tfo.stderr.text}`);
    const line = tfo.stderr.text.split("\n").find((l) => l.startsWith("tfo: "));
    assert.ok(line !== undefined, `a "tfo: …" message; stderr:\n${tfo.stderr.text}`);
    assert.match(line, /receiver "otlp\/busy"/);
    assert.match(line, new RegExp(`${port}`));
    assert.match(line, /in use/i);
  } finally {
    taken.close();
  }
});
