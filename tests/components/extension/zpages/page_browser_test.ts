/**
 * The pipeline page in real headless Chromium against a tfo process: components listed, edge
 * rates rising under load and falling to 0 after, a refused batch on its edge, the tap showing the
 * spans sent with secrets masked, a live reload adding a node, a refused reload and a reload
 * that failed to start shown with their config positions. Screenshots go to the test artifacts folder.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { chromiumPath, openPage } from "../../../fixtures/browser/cdp.ts";
import { freePort, TextCollector, waitForPort } from "../../../fixtures/interop/services.ts";

const MAIN = fileURLToPath(new URL("../../../../main.ts", import.meta.url));
const chromium = chromiumPath();

function config(ports: { zpages: number; http: number; sink: number }, extra = ""): string {
  return `extensions:
  zpages:
    endpoint: 127.0.0.1:${ports.zpages}
    tap: {enabled: true, max_per_second: 20}
receivers:
  otlp:
    protocols:
      http: {endpoint: 127.0.0.1:${ports.http}}
processors:
  batch: {timeout: 50ms}
exporters:
  debug: {verbosity: basic}
  otlphttp/refusing:
    endpoint: http://127.0.0.1:${ports.sink}
    sending_queue: {enabled: false}
    retry_on_failure: {enabled: false}
${extra}service:
  extensions: [zpages]
  telemetry: {logs: {level: warn}, metrics: {level: none}}
  pipelines:
    traces: {receivers: [otlp], processors: [batch], exporters: [debug]}
    metrics: {receivers: [otlp], exporters: [debug${extra === "" ? "" : ", debug/second"}]}
    logs: {receivers: [otlp], exporters: [otlphttp/refusing]}
`;
}

function spans(name: string, count: number) {
  return JSON.stringify({
    resourceSpans: [{
      resource: { attributes: [{ key: "service.name", value: { stringValue: "browser-test" } }] },
      scopeSpans: [{
        spans: Array.from({ length: count }, (_, i) => ({
          traceId: "0af7651916cd43dd8448eb211c80319c",
          spanId: (0x1000 + i).toString(16).padStart(16, "0"),
          name,
          startTimeUnixNano: "1700000000000000000",
          endTimeUnixNano: "1700000000001000000",
          attributes: [{ key: "db.password", value: { stringValue: "hunter2" } }],
        })),
      }],
    }],
  });
}

async function post(port: number, path: string, body: string): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  await response.body?.cancel();
  return response.status;
}

const edge = (key: string) => `document.querySelector('[data-edge="${key}"]')`;
const TRACES_IN = "receiver:otlp->processor:traces:batch:traces";
const LOGS_OUT = "receiver:otlp->exporter:otlphttp/refusing:logs";

Deno.test({
  name: "the pipeline page shows the live graph, rates, refusals, the tap and reloads in Chromium",
  ignore: chromium === undefined,
  async fn() {
    const ports = { zpages: freePort(), http: freePort(), sink: freePort() };
    const sink = Deno.serve(
      { hostname: "127.0.0.1", port: ports.sink, onListen() {} },
      () => new Response("rejected by the test sink", { status: 400 }),
    );
    const dir = await Deno.makeTempDir({ prefix: "tfo-page-" });
    const path = `${dir}/c.yaml`;
    await Deno.writeTextFile(path, config(ports));
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", "--unstable-kv", MAIN, "run", "--config", path],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const out = new TextCollector(child.stdout);
    const err = new TextCollector(child.stderr);
    let page: Awaited<ReturnType<typeof openPage>> | undefined;
    try {
      await waitForPort(ports.zpages, 60_000);
      await waitForPort(ports.http, 60_000);
      page = await openPage(`http://127.0.0.1:${ports.zpages}/`);
      const labels = await page.waitFor<string[]>(
        "every component drawn",
        `(() => { const t = [...document.querySelectorAll('.node')].map((n) => n.dataset.node);
           return t.length === 4 ? t.sort() : null; })()`,
      );
      assert.deepEqual(labels, [
        "exporter:debug",
        "exporter:otlphttp/refusing",
        "processor:traces:batch",
        "receiver:otlp",
      ]);
      assert.equal(await page.evaluate(`document.querySelectorAll('.edge').length`), 4);
      await page.screenshot("pipeline-page-idle");

      // Load for a few seconds: the edge rate rises while it runs.
      let loading = true;
      const load = (async () => {
        while (loading) assert.equal(await post(ports.http, "/v1/traces", spans("load", 50)), 200);
      })();
      try {
        await page.waitFor(
          "a rate on the traces edge",
          `Number(${edge(TRACES_IN)}.dataset.rate) > 0`,
        );
        await page.screenshot("pipeline-page-under-load");
      } finally {
        loading = false;
        await load;
      }
      await page.waitFor("the rate back to 0", `${edge(TRACES_IN)}.dataset.rate === "0"`, 30_000);

      // A batch the backend refuses shows on its edge.
      assert.equal(
        await post(
          ports.http,
          "/v1/logs",
          JSON.stringify({
            resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: "refused" } }] }] }],
          }),
        ),
        400,
      );
      await page.waitFor(
        "the refusal on the logs edge",
        `Number(${edge(LOGS_OUT)}.dataset.refused) > 0`,
      );
      assert.match(await page.evaluate<string>(`${edge(LOGS_OUT)}.textContent`), /refused 1/);
      await page.screenshot("pipeline-page-refused");

      // The tap shows the spans sent, secrets masked.
      await page.evaluate(
        `document.querySelector('[data-node="receiver:otlp"]').dispatchEvent(new MouseEvent('click', { bubbles: true }))`,
      );
      await page.waitFor("the tap button", `document.getElementById('tap-toggle')`);
      await page.evaluate(`document.getElementById('tap-toggle').click()`);
      let tapped: string | undefined;
      for (const until = Date.now() + 30_000; tapped === undefined && Date.now() < until;) {
        assert.equal(await post(ports.http, "/v1/traces", spans("tapped-span", 3)), 200);
        await new Promise((resolve) => setTimeout(resolve, 200));
        const text = await page.evaluate<string>(
          `[...document.querySelectorAll('.tap-item')].map((d) => d.textContent).join('\\n')`,
        );
        if (text.includes("tapped-span")) tapped = text;
      }
      assert.ok(tapped !== undefined, "the tap showed the spans sent");
      assert.ok(!tapped.includes("hunter2"), tapped);
      assert.match(tapped, /"db\.password":"\[REDACTED\]"/);
      assert.match(tapped, /"service\.name":"browser-test"/);
      await page.screenshot("pipeline-page-tap");

      // A live reload with a new exporter adds its node.
      await Deno.writeTextFile(path, config(ports, "  debug/second: {verbosity: basic}\n"));
      child.kill("SIGHUP");
      await page.waitFor(
        "the new exporter's node",
        `document.querySelector('[data-node="exporter:debug/second"]')`,
      );
      await page.screenshot("pipeline-page-reloaded");

      // A refused reload shows its error and config position.
      await Deno.writeTextFile(
        path,
        config(ports).replace("timeout: 50ms", "timeout: 50ms, bogus_key: 1"),
      );
      child.kill("SIGHUP");
      const failure = await page.waitFor<string>(
        "the refused reload",
        `(() => { const f = document.getElementById('failure');
           return f.style.display === 'block' ? f.textContent : null; })()`,
      );
      assert.match(failure, /c\.yaml:\d+:\d+ .*bogus_key/);
      assert.ok(
        await page.evaluate(`!!document.querySelector('[data-node="exporter:debug/second"]')`),
      );
      await page.screenshot("pipeline-page-refused-reload");

      // A reload that validates but cannot start (its new receiver's port is taken, and it
      // replaces the zpages extension too): the page comes back on its port and shows the error
      // at the receiver's config position; the running graph is unchanged.
      const failing = config(ports, "  debug/second: {verbosity: basic}\n")
        .replace("max_per_second: 20", "max_per_second: 10")
        .replace(
          "receivers:\n",
          `receivers:\n  otlp/taken:\n    protocols:\n      http: {endpoint: 127.0.0.1:${ports.sink}}\n`,
        )
        .replace("traces: {receivers: [otlp]", "traces: {receivers: [otlp, otlp/taken]");
      await Deno.writeTextFile(path, failing);
      child.kill("SIGHUP");
      const failedStart = await page.waitFor<string>(
        "the reload that failed to start",
        `(() => { const f = document.getElementById('failure');
           return f.style.display === 'block' && f.textContent.includes('otlp/taken')
             ? f.textContent : null; })()`,
        60_000,
      );
      const line = failing.split("\n").findIndex((l) => l.includes("otlp/taken:")) + 1;
      assert.match(failedStart, /Cannot start receiver "otlp\/taken"/);
      assert.match(failedStart, new RegExp(`c\\.yaml:${line}:3 {2}receivers\\.otlp/taken: `));
      await page.waitFor("the old graph", `document.querySelectorAll('.node').length === 5`);
      assert.ok(
        !(await page.evaluate(`!!document.querySelector('[data-node="receiver:otlp/taken"]')`)),
      );
      await page.screenshot("pipeline-page-failed-start");
    } catch (error) {
      throw new Error(`${(error as Error).message}\ntfo said:\n${err.text}${out.text}`);
    } finally {
      await page?.close();
      child.kill("SIGTERM");
      await child.status;
      await Promise.all([out.done, err.done]);
      await sink.shutdown();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

if (chromium === undefined) {
  console.warn("pipeline page browser test skipped: no chromium (apt-get install chromium)");
}
