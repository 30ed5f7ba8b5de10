/**
 * `tfo run` validates its config in a short-lived child process (`pipelines/resolve_in_child.ts`):
 * a bad config prints exactly what in-process validation prints (`TFO_VALIDATE_IN_CHILD=0`) and
 * exits 2; a good one runs and delivers; SIGHUP with a good and with a bad config reloads or
 * refuses as before; a re-exec for a bigger young generation takes the child's result instead of
 * starting a second child; and none of the config machinery is in `main.ts`'s static imports.
 */
import assert from "node:assert/strict";
import { freePort, waitFor } from "./fixtures/interop/services.ts";
import { startTfo } from "./fixtures/chaos/tfo_process.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const MAIN = `${ROOT}main.ts`;
const IN_PROCESS_NOTE = "Validating the config in this process";
const IN_CHILD_NOTE = "Validated the config in a child process";

async function runOnce(
  config: string,
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const dir = await Deno.makeTempDir({ prefix: "tfo-childval-" });
  try {
    const path = `${dir}/config.yaml`;
    await Deno.writeTextFile(path, config);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--unstable-kv", "--unstable-net", MAIN, "run", "--config", path],
      cwd: dir,
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decode = (b: Uint8Array) => new TextDecoder().decode(b).replaceAll(dir, "<dir>");
    return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const BAD_CONFIG = `
receivers:
  otlp:
    protocols:
      http: { endpoint: "127.0.0.1:notaport", bogus: 1 }
processors:
  batch:
    timeout: \${env:TFO_CHILDVAL_UNSET_VARIABLE}
exporters:
  debug: {}
service:
  pipelines:
    traces: { receivers: [otlp], processors: [batch], exporters: [debug, nope] }
`;

Deno.test("tfo run with a bad config prints what in-process validation prints and exits 2", async () => {
  const [child, here] = await Promise.all([
    runOnce(BAD_CONFIG),
    runOnce(BAD_CONFIG, { TFO_VALIDATE_IN_CHILD: "0" }),
  ]);
  assert.equal(child.code, 2, child.stderr);
  assert.equal(here.code, 2, here.stderr);
  // A warning and several errors, each on its own line, positions included.
  assert.match(here.stderr, /warning: processors\.batch\.timeout/);
  assert.match(here.stderr, /<dir>\/config\.yaml:5:\d+ {2}receivers\.otlp\.protocols\.http\.bogus/);
  assert.match(here.stderr, /exporter "nope", which is not defined/);
  assert.equal(child.stderr, here.stderr);
  assert.equal(child.stdout, here.stdout);
});

/** Receives what tfo's otlphttp exporter sends; counts trace requests. */
function startSink(): { port: number; traces: () => number; close: () => Promise<void> } {
  let traces = 0;
  const port = freePort();
  const server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, async (req) => {
    await req.arrayBuffer();
    if (new URL(req.url).pathname === "/v1/traces") traces++;
    return new Response(null, { status: 200 });
  });
  return { port, traces: () => traces, close: () => server.shutdown() };
}

function runConfig(
  receiverPort: number,
  sinkPort: number,
  metricsPort: number,
  extra = "",
): string {
  return `
receivers:
  otlp:
    protocols:
      http: { endpoint: 127.0.0.1:${receiverPort} }
exporters:
  otlphttp:
    endpoint: http://127.0.0.1:${sinkPort}
    compression: none
    retry_on_failure: { enabled: false }
service:
  telemetry:
    logs: { level: debug }
    metrics: { address: 127.0.0.1:${metricsPort} }
  pipelines:
    traces: { receivers: [otlp], exporters: [otlphttp] }
${extra}`;
}

async function postTrace(port: number): Promise<number> {
  const body = {
    resourceSpans: [{
      scopeSpans: [{
        spans: [{
          traceId: "0102030405060708090a0b0c0d0e0f10",
          spanId: "0102030405060708",
          name: "childval",
          startTimeUnixNano: "1700000000000000000",
          endTimeUnixNano: "1700000000000000001",
        }],
      }],
    }],
  };
  const response = await fetch(`http://127.0.0.1:${port}/v1/traces`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  await response.body?.cancel();
  return response.status;
}

Deno.test("tfo run with a good config validated in the child runs, delivers and reloads on SIGHUP", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tfo-childval-run-" });
  const sink = startSink();
  const port = freePort();
  const metrics = freePort();
  const tfo = await startTfo("childval", dir, runConfig(port, sink.port, metrics));
  try {
    // Validated in the child, as noted at debug level.
    assert.ok(tfo.tail().includes(IN_CHILD_NOTE), tfo.tail());
    assert.ok(!tfo.tail().includes(IN_PROCESS_NOTE), tfo.tail());
    assert.equal(await postTrace(port), 200);
    await waitFor("the trace at the sink", () => sink.traces() >= 1, 15_000);

    // A good new config: a second receiver port; the reload validates in a child too.
    const port2 = freePort();
    await Deno.writeTextFile(
      `${dir}/childval.yaml`,
      runConfig(port, sink.port, metrics).replace(
        `http: { endpoint: 127.0.0.1:${port} }`,
        `http: { endpoint: 127.0.0.1:${port2} }`,
      ),
    );
    tfo.kill("SIGHUP");
    await waitFor("the reload", () => tfo.tail().includes("Config reloaded"), 15_000)
      .catch((e) => {
        throw new Error(`${e}\n${tfo.tail()}`);
      });
    assert.equal(await postTrace(port2), 200);
    await waitFor("the second trace", () => sink.traces() >= 2, 15_000);

    // A bad one: refused with its diagnostics logged, the pipelines keep running.
    await Deno.writeTextFile(
      `${dir}/childval.yaml`,
      runConfig(port2, sink.port, metrics).replace("compression: none", "compression: maybe"),
    );
    tfo.kill("SIGHUP");
    await waitFor("the refusal", () => tfo.tail().includes("Refused the new config"), 15_000)
      .catch((e) => {
        throw new Error(`${e}\n${tfo.tail()}`);
      });
    assert.match(tfo.tail(), /Invalid config.*exporters\.otlphttp\.compression/);
    assert.ok(tfo.tail().includes(IN_CHILD_NOTE), tfo.tail());
    assert.ok(!tfo.tail().includes(IN_PROCESS_NOTE), tfo.tail());
    assert.equal(await postTrace(port2), 200);
    await waitFor("the third trace", () => sink.traces() >= 3, 15_000);
    assert.equal(await tfo.stop(), 0, tfo.tail());
  } finally {
    await tfo.killHard();
    await sink.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("TFO_VALIDATE_IN_CHILD=0 validates in the running process and says so at debug level", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tfo-childval-here-" });
  const tfo = await startTfo("here", dir, runConfig(freePort(), freePort(), freePort()), {
    env: { TFO_VALIDATE_IN_CHILD: "0" },
  });
  try {
    assert.ok(tfo.tail().includes(`${IN_PROCESS_NOTE}: TFO_VALIDATE_IN_CHILD is 0`), tfo.tail());
    assert.ok(!tfo.tail().includes(IN_CHILD_NOTE), tfo.tail());
    assert.equal(await tfo.stop(), 0, tfo.tail());
  } finally {
    await tfo.killHard();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "a re-exec for a bigger young generation takes the child's config and deletes its file",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "tfo-childval-reexec-" });
    const tmp = `${dir}/tmp`;
    await Deno.mkdir(tmp);
    const extra = `
processors:
  transform:
    trace_statements: ['set(span.attributes["seen"], true)']
`;
    const config = runConfig(freePort(), freePort(), freePort(), extra).replace(
      "traces: { receivers: [otlp], exporters: [otlphttp] }",
      "traces: { receivers: [otlp], processors: [transform], exporters: [otlphttp] }",
    );
    const tfo = await startTfo("reexec", dir, config, {
      denoFlags: ["--v8-flags=--max-semi-space-size=2"],
      env: { TMPDIR: tmp },
    });
    try {
      const logs = tfo.tail();
      assert.ok(logs.includes("Starting again with a bigger young generation"), logs);
      assert.ok(logs.includes(IN_CHILD_NOTE), logs);
      assert.ok(logs.includes("Took the config resolved before the re-exec"), logs);
      assert.ok(!logs.includes(IN_PROCESS_NOTE), logs);
      assert.deepEqual([...Deno.readDirSync(tmp)].map((e) => e.name), []);
      assert.equal(await tfo.stop(), 0, tfo.tail());
    } finally {
      await tfo.killHard();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "the other workers decode the primary's resolution instead of validating again",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "tfo-childval-workers-" });
    const here = "Validated the config in this worker";
    const sink = startSink();
    const port = freePort();
    const config = runConfig(port, sink.port, freePort()).replace(
      "service:\n",
      "service:\n  workers: 2\n",
    );
    try {
      for (const inChild of [true, false]) {
        const tfo = await startTfo(`workers-${inChild}`, dir, config, {
          readyLine: "Every worker is ready",
          denoFlags: ["--v8-flags=--max-semi-space-size=2"],
          ...(inChild ? {} : { env: { TFO_VALIDATE_IN_CHILD: "0" } }),
        });
        try {
          const logs = tfo.tail();
          if (inChild) assert.ok(!logs.includes(here), logs);
          else {assert.ok(
              logs.includes(`${here}","tfo.worker":1,"reason":"the primary sent no`),
              logs,
            );}
          const before = sink.traces();
          for (let i = 0; i < 4; i++) assert.equal(await postTrace(port), 200);
          await waitFor("the traces at the sink", () => sink.traces() >= before + 4, 15_000);
          assert.equal(await tfo.stop(), 0, tfo.tail());
        } finally {
          await tfo.killHard();
        }
      }
    } finally {
      await sink.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** Every module `entry` imports statically, as `deno info` lists them. */
async function staticImports(entry: string): Promise<Set<string>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT,
    stdout: "piped",
    stderr: "null",
  }).output();
  assert.ok(out.success);
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    roots: string[];
    modules: {
      specifier: string;
      dependencies?: { isDynamic?: boolean; code?: { specifier?: string } }[];
    }[];
    redirects?: Record<string, string>;
  };
  const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const stack = [...info.roots];
  while (stack.length > 0) {
    const specifier = stack.pop()!;
    if (seen.has(specifier)) continue;
    seen.add(specifier);
    for (const dep of bySpecifier.get(specifier)?.dependencies ?? []) {
      const target = dep.code?.specifier;
      if (dep.isDynamic || target === undefined) continue;
      stack.push(info.redirects?.[target] ?? target);
    }
  }
  return seen;
}

const MACHINERY = [
  "pipelines/config.ts",
  "pipelines/config_sources.ts",
  "pipelines/validate.ts",
  "pipelines/_yaml_source.ts",
  "pipelines/_env.ts",
  "pipelines/_schema_issues.ts",
  "pipelines/tfo_agent/convert.ts",
  "pipelines/tfo_agent/translate.ts",
].map((p) => new URL(p, `file://${ROOT}`).href);

for (const entry of ["main.ts", "pipelines/worker_main.ts"]) {
  Deno.test(`${entry} does not import the config machinery statically`, async () => {
    const seen = await staticImports(`${ROOT}${entry}`);
    assert.deepEqual(MACHINERY.filter((m) => seen.has(m)), []);
    // The transport is there: the check reads the graph, not an empty list.
    assert.ok(seen.has(new URL("pipelines/resolved_transport.ts", `file://${ROOT}`).href));
  });
}
