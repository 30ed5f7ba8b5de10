/**
 * `tfo run` with `service.workers: 2` under `deno run` replaces itself with the same command line
 * plus a bigger young generation (`lib/host/young_gen.ts`): same process id, and SIGHUP (reload)
 * and SIGTERM (graceful stop, exit code 0) work as before. So does `workers: 1` with a processor
 * that decodes every item (`transform`); with `workers: 1` and no such processor it does not.
 */
import assert from "node:assert/strict";
import { freePort, TextCollector, waitFor } from "./fixtures/interop/services.ts";
import { WORKERS_SEMI_SPACE_MIB } from "../lib/host/young_gen.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const FLAG = `--v8-flags=--max-semi-space-size=${WORKERS_SEMI_SPACE_MIB}`;
const AGAIN = "Starting again with a bigger young generation";

function configText(port: number, telemetry: number, workers: number, transform: boolean): string {
  return `
receivers:
  otlp:
    protocols:
      http: { endpoint: 127.0.0.1:${port} }
processors:
  batch: {}
  transform:
    trace_statements: ['set(span.attributes["seen"], true)']
exporters:
  debug: {}
service:
  workers: ${workers}
  telemetry:
    metrics: { address: 127.0.0.1:${telemetry} }
  pipelines:
    traces: { receivers: [otlp], processors: [${
    transform ? "transform, " : ""
  }batch], exporters: [debug] }
`;
}

async function postEmptyTraces(port: number): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${port}/v1/traces`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ resourceSpans: [] }),
  });
  await response.body?.cancel();
  return response.status;
}

async function runWith(
  workers: number,
  transform = false,
): Promise<{ logs: string; cmdline: string[]; code: number }> {
  const dir = await Deno.makeTempDir({ prefix: "tfo-young-run-" });
  const path = `${dir}/config.yaml`;
  const port = freePort();
  await Deno.writeTextFile(path, configText(port, freePort(), workers, transform));
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--unstable-kv",
      "--unstable-net",
      "--v8-flags=--max-semi-space-size=2",
      MAIN,
      "run",
      "--config",
      path,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new TextCollector(child.stderr);
  const stdout = new TextCollector(child.stdout);
  const logs = () => stderr.text + stdout.text;
  const fail = (e: unknown) => {
    throw new Error(`${e instanceof Error ? e.message : e}\nlogs:\n${logs()}`);
  };
  try {
    const ready = workers > 1 ? "Every worker is ready" : "Everything is ready";
    await waitFor("the start", () => logs().includes(ready), 30_000).catch(fail);
    // The process that runs is the one spawned: the re-exec kept its id.
    const cmdline = (await Deno.readTextFile(`/proc/${child.pid}/cmdline`)).split("\0");
    assert.equal(await postEmptyTraces(port), 200);
    child.kill("SIGHUP");
    await waitFor("the reload", () => logs().includes("Config reloaded"), 15_000).catch(fail);
    assert.equal(await postEmptyTraces(port), 200);
    child.kill("SIGTERM");
    const status = await child.status;
    await Promise.all([stderr.done, stdout.done]);
    return { logs: logs(), cmdline, code: status.code };
  } catch (error) {
    child.kill("SIGKILL");
    await child.status;
    throw error;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "tfo run with 2 workers starts again with a bigger young generation; reload and stop work",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const { logs, cmdline, code } = await runWith(2);
    assert.equal(logs.split(AGAIN).length - 1, 1, logs);
    const script = cmdline.indexOf(MAIN);
    assert.equal(cmdline[script - 1], FLAG, cmdline.join(" "));
    assert.ok(logs.includes("Shutdown complete"), logs);
    assert.equal(code, 0, logs);
  },
});

Deno.test({
  name:
    "tfo run with 1 worker and a transform processor starts again with a bigger young generation",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const { logs, cmdline, code } = await runWith(1, true);
    assert.equal(logs.split(AGAIN).length - 1, 1, logs);
    assert.ok(logs.includes('processor \\"transform\\" decodes every item'), logs);
    const script = cmdline.indexOf(MAIN);
    assert.equal(cmdline[script - 1], FLAG, cmdline.join(" "));
    assert.equal(code, 0, logs);
  },
});

Deno.test({
  name:
    "tfo run with 1 worker and no decoding processor keeps the command line it was started with",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const { logs, cmdline, code } = await runWith(1);
    assert.ok(!logs.includes(AGAIN), logs);
    assert.ok(!cmdline.includes(FLAG), cmdline.join(" "));
    assert.equal(code, 0, logs);
  },
});
