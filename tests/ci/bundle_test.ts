/**
 * `deno task bundle` (`.ci/bundle.ts`) produces a tfo that runs: the embedded default agent config
 * exports host metrics to an OTLP/gRPC backend, both worker entry modules (the other workers of
 * `service.workers`, the zpages page server) start from the bundle, a component whose npm package
 * reads a file beside its module (kafka) loads, and SIGHUP reloads. Run with the flags README
 * gives (lazy dynamic imports, the `start` task's V8 flag).
 *
 * @module
 */
import assert from "node:assert/strict";
import { bundle } from "../../.ci/bundle.ts";
import defaultConfigText from "../../examples/agent.yaml" with { type: "text" };
import { serveGrpc } from "../../lib/net/grpc_server.ts";
import { countMetricsItems } from "../../lib/otlp/mod.ts";
import { OTLP_SIGNALS } from "../../lib/otlp/signals.ts";
import { freePort, waitFor } from "../fixtures/interop/services.ts";
import { startTfo } from "../fixtures/chaos/tfo_process.ts";

const BUNDLE_FLAGS = ["--unstable-lazy-dynamic-imports", "--v8-flags=--max-semi-space-size=2"];

/** One bundle for every test of this file, in a folder removed when the tests end. */
let built: Promise<{ dir: string; entry: string }> | undefined;
function bundled(): Promise<{ dir: string; entry: string }> {
  built ??= (async () => {
    const dir = Deno.makeTempDirSync({ prefix: "tfo-bundle-test-" });
    globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
    return { dir, entry: await bundle({ outDir: `${dir}/bundle` }) };
  })();
  return built;
}

Deno.test("the bundle runs the default agent config and its host metrics reach the backend", async () => {
  const { dir, entry } = await bundled();
  let points = 0;
  const backend = await serveGrpc(
    { hostname: "127.0.0.1", port: freePort(), maxRecvMsgBytes: 16 << 20 },
    new Map([[OTLP_SIGNALS.metrics.grpcMethod, (call: { request: Uint8Array }) => {
      points += countMetricsItems(call.request);
      return Promise.resolve(new Uint8Array(0));
    }]]),
  );
  const tfo = await startTfo("bundle-agent", dir, defaultConfigText, {
    entry,
    denoFlags: BUNDLE_FLAGS,
    args: [
      `receivers.otlp.protocols.grpc.endpoint=127.0.0.1:${freePort()}`,
      `receivers.otlp.protocols.http.endpoint=127.0.0.1:${freePort()}`,
      `receivers.file_log.include=[${JSON.stringify(`${dir}/no-logs/*.log`)}]`,
      "receivers.host_metrics.collection_interval=1s",
      `extensions.health_check.endpoint=127.0.0.1:${freePort()}`,
      `service.telemetry.metrics.address=127.0.0.1:${freePort()}`,
      "service.telemetry.logs.level=debug",
    ].flatMap((set) => ["--set", set]),
    env: {
      TFO_EXPORTER_ENDPOINT: `127.0.0.1:${backend.port}`,
      TFO_STORAGE_DIR: `${dir}/agent-storage`,
    },
  });
  try {
    // The bundle validated its config in a child started from the bundle (pipelines/
    // resolve_in_child.ts); a child that could not start would leave it validating itself.
    assert.ok(tfo.tail().includes("Validated the config in a child process"), tfo.tail());
    await waitFor("host metrics at the backend", () => points > 0, 30_000, 50);
    assert.equal(tfo.dead, false, tfo.tail());
  } finally {
    assert.equal(await tfo.stop(), 0, tfo.tail());
    await backend.shutdown();
  }
});

Deno.test("the bundle starts its other workers and the zpages page server", async () => {
  const { dir, entry } = await bundled();
  const zpages = freePort();
  const http = freePort();
  const config = `
extensions:
  zpages:
    endpoint: 127.0.0.1:${zpages}
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${http}
exporters:
  debug: {}
service:
  workers: 2
  extensions: [zpages]
  telemetry:
    metrics:
      address: 127.0.0.1:${freePort()}
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [debug]
`;
  const tfo = await startTfo("bundle-workers", dir, config, {
    entry,
    denoFlags: BUNDLE_FLAGS,
    readyLine: "Every worker is ready",
  });
  try {
    const page = await waitFor(
      "the zpages page",
      async () => {
        try {
          const response = await fetch(`http://127.0.0.1:${zpages}/debug/pipelinez`);
          const text = await response.text();
          return response.ok ? text : undefined;
        } catch {
          return undefined;
        }
      },
      30_000,
      100,
    );
    assert.match(page, /otlp/);
    const sent = await fetch(`http://127.0.0.1:${http}/v1/traces`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ resourceSpans: [] }),
    });
    await sent.body?.cancel();
    assert.ok(sent.ok, `POST /v1/traces answered ${sent.status}`);
  } finally {
    assert.equal(await tfo.stop(), 0, tfo.tail());
  }
});

Deno.test("the bundle loads components whose npm packages read files beside their module", async () => {
  const { dir, entry } = await bundled();
  // @platformatic/kafka reads its WebAssembly relative to its module: the bundle carries a copy.
  const config = `${dir}/kafka.yaml`;
  await Deno.writeTextFile(
    config,
    `receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${freePort()}
exporters:
  kafka:
    brokers: [127.0.0.1:1]
service:
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [kafka]
`,
  );
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...BUNDLE_FLAGS, "--allow-all", entry, "validate", "--config", config],
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, text);
  assert.match(text, /traces: otlp → kafka/);
});

Deno.test("the bundle reloads its config on SIGHUP", async () => {
  const { dir, entry } = await bundled();
  const http = freePort();
  const config = (verbosity: string) => `
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${http}
exporters:
  debug:
    verbosity: ${verbosity}
service:
  telemetry:
    metrics:
      address: 127.0.0.1:${freePort()}
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [debug]
`;
  const tfo = await startTfo("bundle-reload", dir, config("basic"), {
    entry,
    denoFlags: BUNDLE_FLAGS,
  });
  try {
    // startTfo wrote the config to <dir>/<name>.yaml: change it, then ask for a reload.
    await Deno.writeTextFile(`${dir}/bundle-reload.yaml`, config("detailed"));
    tfo.kill("SIGHUP");
    await waitFor("the reload", () => tfo.tail().includes("Config reloaded"), 30_000, 50);
    assert.equal(tfo.dead, false, tfo.tail());
  } finally {
    assert.equal(await tfo.stop(), 0, tfo.tail());
  }
});
