/**
 * `tfo run` gives its start-up memory back once at the end of its start — after a full garbage
 * collection, before the receivers open their ports, so neither lands on the first requests — and
 * again after a successful reload (`lib/host/release_memory.ts`, which also sets the allocator's
 * limits), and keeps serving afterwards.
 */
import assert from "node:assert/strict";
import { freePort, TextCollector, waitFor } from "./fixtures/interop/services.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const RELEASED = "Released start-up memory";
const SETTLED = "Settled start-up memory before the receivers open";
const READY = "Everything is ready";

function configText(receiver: number, verbosity: string): string {
  return `
receivers:
  otlp:
    protocols:
      http: { endpoint: 127.0.0.1:${receiver} }
exporters:
  debug: { verbosity: ${verbosity} }
service:
  telemetry:
    logs: { level: debug }
    metrics: { level: none }
  pipelines:
    traces: { receivers: [otlp], exporters: [debug] }
`;
}

function count(text: string, needle: string): number {
  return text.split(needle).length - 1;
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

Deno.test({
  name:
    "tfo run collects garbage and releases start-up memory before its receivers open, again after a reload, and keeps serving",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "tfo-release-" });
    const path = `${dir}/config.yaml`;
    const port = freePort();
    await Deno.writeTextFile(path, configText(port, "basic"));
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--unstable-kv", MAIN, "run", "--config", path],
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
      await waitFor("the start", () => logs().includes(READY), 30_000).catch(fail);
      const lines = stderr.text.split("\n");
      const at = (needle: string) => lines.findIndex((l) => l.includes(needle));
      const line = lines[at(RELEASED)]!;
      const fields = JSON.parse(line) as { file_pages_mib: number; allocator_limits: boolean };
      assert.ok(fields.file_pages_mib > 0, line);
      assert.equal(fields.allocator_limits, true, `the allocator's limits are set: ${line}`);
      const settled = JSON.parse(lines[at(SETTLED)]!) as { gc_ms: number | null };
      assert.equal(typeof settled.gc_ms, "number", "a garbage collection ran");
      assert.ok(at(RELEASED) < at(SETTLED), logs());
      assert.ok(at(SETTLED) < at("Starting HTTP server"), "settled before the port opened");
      assert.equal(count(logs(), RELEASED), 1, "not released again among the first requests");
      assert.equal(await postEmptyTraces(port), 200);

      await Deno.writeTextFile(path, configText(port, "normal"));
      child.kill("SIGHUP");
      await waitFor("the reload", () => logs().includes("Config reloaded"), 30_000).catch(fail);
      await waitFor("a second release", () => count(logs(), RELEASED) >= 2, 10_000).catch(fail);
      assert.equal(await postEmptyTraces(port), 200);
    } finally {
      child.kill("SIGTERM");
      const status = await child.status;
      await Promise.all([stderr.done, stdout.done]);
      await Deno.remove(dir, { recursive: true });
      assert.equal(status.code, 0, logs());
    }
  },
});
