/**
 * Live reload of a real `tfo run` process under steady load: SIGHUP with a changed attributes
 * processor takes effect with zero acknowledged spans lost and the receiver's port open all along;
 * an invalid config is refused with its errors logged while the process keeps serving; SIGTERM
 * still exits 0.
 */
import assert from "node:assert/strict";
import { decodeTracesRequest } from "../../lib/otlp/mod.ts";
import { tracesProto } from "../components/receiver/otlp/_helpers.ts";
import { freePort, TextCollector, waitFor } from "../fixtures/interop/services.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

function configText(opts: { receiver: number; sink: number; metrics: number; version: string }) {
  return `
receivers:
  otlp:
    protocols:
      http: { endpoint: 127.0.0.1:${opts.receiver} }
processors:
  attributes:
    actions:
      - { key: version, value: ${opts.version}, action: insert }
exporters:
  otlphttp:
    endpoint: http://127.0.0.1:${opts.sink}
    compression: none
service:
  telemetry:
    metrics: { address: 127.0.0.1:${opts.metrics} }
  pipelines:
    traces: { receivers: [otlp], processors: [attributes], exporters: [otlphttp] }
`;
}

/** A fake OTLP/HTTP backend: the `version` attribute of every span it got, by span name. */
function startSink() {
  const versions = new Map<string, string[]>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const request = decodeTracesRequest(new Uint8Array(await req.arrayBuffer()));
    for (const rs of request.resourceSpans) {
      for (const ss of rs.scopeSpans) {
        for (const span of ss.spans) {
          const version = span.attributes.find((a) => a.key === "version")?.value;
          const seen = versions.get(span.name) ?? [];
          seen.push(String(version));
          versions.set(span.name, seen);
        }
      }
    }
    return new Response(new Uint8Array(0), {
      headers: { "content-type": "application/x-protobuf" },
    });
  });
  return { versions, port: server.addr.port, server };
}

/**
 * Sends one span per request, one request at a time, with unique names, and records which were
 * acknowledged (200), refused (another status) and which met a connection error. Every fifth
 * request opens a new connection, so a listener closed for a moment would show.
 */
function startLoad(port: number) {
  const state = {
    next: 0,
    acknowledged: [] as number[],
    refused: [] as string[],
    connectionErrors: [] as string[],
    running: true,
  };
  const done = (async () => {
    const shared = Deno.createHttpClient({});
    try {
      while (state.running) {
        const i = state.next++;
        const fresh = i % 5 === 0 ? Deno.createHttpClient({ poolMaxIdlePerHost: 0 }) : undefined;
        try {
          const res = await fetch(`http://127.0.0.1:${port}/v1/traces`, {
            method: "POST",
            body: tracesProto(`span-${i}`),
            headers: { "content-type": "application/x-protobuf" },
            client: fresh ?? shared,
          });
          await res.body?.cancel();
          if (res.status === 200) state.acknowledged.push(i);
          else state.refused.push(`span-${i}: ${res.status}`);
        } catch (error) {
          state.connectionErrors.push(`span-${i}: ${error}`);
        } finally {
          fresh?.close();
        }
        await new Promise((r) => setTimeout(r, 2));
      }
    } finally {
      shared.close();
    }
  })();
  return { state, done };
}

async function metric(port: number, pattern: RegExp): Promise<string | undefined> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  return pattern.exec(await res.text())?.[1];
}

Deno.test("tfo run reloads on SIGHUP under steady load: the new processor config applies, nothing acknowledged is lost, an invalid config is refused", async () => {
  const sink = startSink();
  const dir = await Deno.makeTempDir({ prefix: "tfo-reload-" });
  const path = `${dir}/config.yaml`;
  const ports = { receiver: freePort(), sink: sink.port, metrics: freePort() };
  await Deno.writeTextFile(path, configText({ ...ports, version: "v1" }));
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "run", "--config", path],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new TextCollector(child.stderr);
  const stdout = new TextCollector(child.stdout);
  const fail = (e: unknown) => {
    throw new Error(`${e instanceof Error ? e.message : e}\nstderr:\n${stderr.text}`);
  };
  let load: ReturnType<typeof startLoad> | undefined;
  try {
    await waitFor("tfo to be ready", () => stderr.text.includes("Everything is ready"), 30_000)
      .catch(fail);
    load = startLoad(ports.receiver);
    const { state } = load;
    await waitFor("50 spans acknowledged", () => state.acknowledged.length >= 50, 20_000)
      .catch(fail);

    // A changed processor config, then SIGHUP, all while the load keeps going.
    await Deno.writeTextFile(path, configText({ ...ports, version: "v2" }));
    const sentBeforeHangup = state.next;
    // Only what was acknowledged before the signal surely went through the old chain; a span in
    // flight at that moment may meet either.
    const acknowledgedBeforeHangup = new Set(state.acknowledged);
    child.kill("SIGHUP");
    await waitFor("the reload", () => stderr.text.includes("Config reloaded"), 20_000).catch(fail);
    const sentAfterReload = state.next;
    await waitFor(
      "50 more spans acknowledged",
      () => state.acknowledged.filter((i) => i >= sentAfterReload).length >= 50,
      20_000,
    ).catch(fail);

    // An invalid config: refused with its errors logged; the process keeps serving with v2.
    await Deno.writeTextFile(
      path,
      configText({ ...ports, version: "v3" }).replace("action: insert", "action: inzert"),
    );
    child.kill("SIGHUP");
    await waitFor("the refusal", () => stderr.text.includes("Refused the new config"), 20_000)
      .catch(fail);
    const sentAfterRefusal = state.next;
    await waitFor(
      "20 more spans acknowledged",
      () => state.acknowledged.filter((i) => i >= sentAfterRefusal).length >= 20,
      20_000,
    ).catch(fail);
    assert.equal(
      await metric(ports.metrics, /^tfo_config_reloads\{result="success"[^}]*\} (\d+)$/m),
      "1",
    );
    assert.equal(
      await metric(ports.metrics, /^tfo_config_reloads\{result="invalid"[^}]*\} (\d+)$/m),
      "1",
    );

    state.running = false;
    await load.done;
    child.kill("SIGTERM");
    const status = await child.status;
    await Promise.all([stderr.done, stdout.done]);
    assert.equal(status.code, 0, `exit code; stderr:\n${stderr.text}`);

    // The invalid config's errors were logged with their position.
    const invalid = stderr.text.split("\n").filter((l) => l.includes('"msg":"Invalid config"'));
    assert.ok(invalid.length >= 1, stderr.text);
    assert.ok(invalid.some((l) => /config\.yaml:\d+:\d+ {2}processors\.attributes/.test(l)));

    // Nothing acknowledged was lost, nothing was refused, the port never refused a connection.
    assert.deepEqual(state.connectionErrors, []);
    assert.deepEqual(state.refused, []);
    const lost = state.acknowledged.filter((i) => !sink.versions.has(`span-${i}`));
    assert.deepEqual(lost, [], `${lost.length} of ${state.acknowledged.length} spans lost`);
    for (const i of state.acknowledged) {
      const versions = sink.versions.get(`span-${i}`)!;
      assert.equal(versions.length, 1, `span-${i} arrived once`);
      if (acknowledgedBeforeHangup.has(i)) assert.deepEqual(versions, ["v1"], `span-${i}`);
      if (i >= sentAfterReload) assert.deepEqual(versions, ["v2"], `span-${i}`);
    }
    const around = state.acknowledged.filter((i) => i >= sentBeforeHangup && i < sentAfterReload);
    console.log(
      `acknowledged ${state.acknowledged.length} spans; ${around.length} sent during the reload; ` +
        `${state.acknowledged.length - sentBeforeHangup} after the SIGHUP`,
    );
  } finally {
    if (load !== undefined) {
      load.state.running = false;
      await load.done;
    }
    try {
      child.kill("SIGKILL");
    } catch {
      // already exited: the normal case
    }
    await child.status;
    await Promise.all([stderr.done, stdout.done]);
    await sink.server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
