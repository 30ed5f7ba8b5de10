import assert from "node:assert/strict";
import { main } from "../../../main.ts";
import { parseExposition } from "../../../lib/prometheus/parse.ts";
import { renderTop, snapshotOf, topRows } from "../../../lib/telemetry/top.ts";
import { freePort, waitFor, waitForPort } from "../../fixtures/interop/services.ts";

function snapshot(text: string) {
  return snapshotOf(parseExposition(text, "text").samples);
}

const BEFORE = `# TYPE otelcol_receiver_accepted_spans counter
otelcol_receiver_accepted_spans{receiver="otlp",transport="http"} 100
otelcol_receiver_accepted_spans{receiver="otlp",transport="grpc"} 50
otelcol_receiver_refused_spans{receiver="otlp",transport="http"} 0
otelcol_processor_incoming_items{processor="batch",otel_signal="traces"} 150
otelcol_processor_outgoing_items{processor="batch",otel_signal="traces"} 150
otelcol_exporter_sent_spans{exporter="otlphttp"} 140
otelcol_exporter_send_failed_spans{exporter="otlphttp"} 10
otelcol_exporter_queue_size{exporter="otlphttp"} 3
otelcol_exporter_queue_capacity{exporter="otlphttp"} 1000
`;

const AFTER = `otelcol_receiver_accepted_spans{receiver="otlp",transport="http"} 300
otelcol_receiver_accepted_spans{receiver="otlp",transport="grpc"} 50
otelcol_receiver_refused_spans{receiver="otlp",transport="http"} 20
otelcol_receiver_accepted_log_records{receiver="file_log"} 7
otelcol_processor_incoming_items{processor="batch",otel_signal="traces"} 350
otelcol_processor_outgoing_items{processor="batch",otel_signal="traces"} 330
otelcol_exporter_sent_spans{exporter="otlphttp"} 340
otelcol_exporter_send_failed_spans{exporter="otlphttp"} 10
otelcol_exporter_queue_size{exporter="otlphttp"} 0
otelcol_exporter_queue_capacity{exporter="otlphttp"} 1000
otelcol_process_uptime 12
`;

Deno.test("tfo top sums each component's counters over transports and signals and turns them into rates", () => {
  const rows = topRows(snapshot(BEFORE), snapshot(AFTER), 2);
  assert.deepEqual(rows.map((r) => `${r.kind}/${r.id}`), [
    "receiver/file_log",
    "receiver/otlp",
    "processor/batch",
    "exporter/otlphttp",
  ]);
  const [fileLog, otlp, batch, exporter] = rows;
  assert.equal(otlp!.inPerSecond, 100);
  assert.equal(otlp!.refusedPerSecond, 10);
  assert.equal(otlp!.totalIn, 350);
  // A component first seen in the second scrape counts from zero.
  assert.equal(fileLog!.inPerSecond, 3.5);
  assert.equal(batch!.inPerSecond, 100);
  assert.equal(batch!.outPerSecond, 90);
  assert.equal(exporter!.outPerSecond, 100);
  assert.equal(exporter!.failedPerSecond, 0);
  assert.equal(exporter!.queue, "0/1000");
  const table = renderTop(rows).split("\n");
  assert.match(
    table[0]!,
    /^KIND\s+ID\s+IN\/S\s+OUT\/S\s+REFUSED\/S\s+FAILED\/S\s+TOTAL IN\s+TOTAL OUT\s+QUEUE$/,
  );
  assert.match(table[2]!, /^receiver\s+otlp\s+100\s+100\s+10\s+0\s+350\s+350\s+-$/);
  assert.match(table[4]!, /^exporter\s+otlphttp\s+100\s+100\s+0\s+0\s+350\s+340\s+0\/1000$/);
});

Deno.test("tfo top treats a counter that went down as a restart and counts from zero", () => {
  const [row] = topRows(snapshot(AFTER), snapshot(BEFORE), 1).filter((r) => r.id === "otlp");
  assert.equal(row!.inPerSecond, 150);
});

Deno.test("tfo top reads a running tfo's metrics endpoint and shows what flowed through each component", async () => {
  const [http, metrics] = [freePort(), freePort()];
  const dir = await Deno.makeTempDir({ prefix: "tfo-top-" });
  await Deno.writeTextFile(
    `${dir}/c.yaml`,
    `receivers:
  otlp:
    protocols:
      http: {endpoint: "127.0.0.1:${http}"}
processors:
  batch: {timeout: 50ms}
exporters:
  debug: {verbosity: basic}
service:
  telemetry:
    metrics: {readers: [{pull: {exporter: {prometheus: {host: 127.0.0.1, port: ${metrics}}}}}]}
  pipelines:
    traces: {receivers: [otlp], processors: [batch], exporters: [debug]}
`,
  );
  const stop = Promise.withResolvers<void>();
  const lines: string[] = [];
  const io = { out: (t: string) => lines.push(t), err: (t: string) => lines.push(t) };
  const running = main(["run", "--config", `${dir}/c.yaml`], { io, stop: stop.promise });
  try {
    await waitForPort(http);
    await waitForPort(metrics);
    const spans = Array.from({ length: 25 }, (_, i) => ({
      traceId: "0af7651916cd43dd8448eb211c80319c",
      spanId: `b7ad6b71692033${String(i).padStart(2, "0")}`,
      name: `span-${i}`,
      startTimeUnixNano: "1",
      endTimeUnixNano: "2",
    }));
    const body = JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans }] }] });
    for (let i = 0; i < 2; i++) {
      const response = await fetch(`http://127.0.0.1:${http}/v1/traces`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      assert.equal(response.status, 200, await response.text());
    }
    const endpoint = `http://127.0.0.1:${metrics}/metrics`;
    const table = await waitFor(
      "the debug exporter counted 50 spans",
      async () => {
        const out: string[] = [];
        const code = await main([
          "top",
          "--endpoint",
          endpoint,
          "--interval",
          "100ms",
          "--iterations",
          "1",
        ], {
          io: { out: (t) => out.push(t), err: (t) => out.push(t) },
        });
        assert.equal(code, 0, out.join("\n"));
        const text = out.join("\n");
        return /^exporter\s+debug\s+\S+\s+\S+\s+\S+\s+\S+\s+50\s+50\b/m.test(text)
          ? text
          : undefined;
      },
      20_000,
      100,
    );
    assert.match(table, /^receiver\s+otlp\s+\S+\s+\S+\s+0\s+0\s+50\s+50\s+-$/m);
    assert.match(table, /^processor\s+batch\s+/m);
  } catch (error) {
    throw new Error(`${(error as Error).message}\ntfo said:\n${lines.join("\n")}`);
  } finally {
    stop.resolve();
    await running;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tfo top exits 1 when the endpoint cannot be read and 2 for bad options", async () => {
  const out: string[] = [];
  const io = { out: (t: string) => out.push(t), err: (t: string) => out.push(t) };
  const port = freePort();
  assert.equal(
    await main(["top", "--endpoint", `http://127.0.0.1:${port}/metrics`, "--iterations", "1"], {
      io,
    }),
    1,
  );
  assert.match(out.join("\n"), /cannot read/);
  assert.equal(await main(["top", "--interval", "5ms"], { io }), 2);
  assert.equal(await main(["top", "--iterations", "0"], { io }), 2);
  assert.equal(await main(["top", "--config", "x.yaml"], { io }), 2);
  assert.equal(await main(["validate", "--endpoint", "http://x"], { io }), 2);
});

Deno.test("tfo top reads the oldest queued item's age as the largest over an exporter's signals", () => {
  const totals = snapshot(
    `tfo_exporter_queue_oldest_item_age{exporter="otlp",data_type="traces"} 2.5
tfo_exporter_queue_oldest_item_age_seconds{exporter="otlp",data_type="logs"} 40
tfo_exporter_queue_oldest_item_age{exporter="debug",data_type="logs"} 0
`,
  );
  assert.equal(totals.get("exporter/otlp")?.queueAgeSeconds, 40);
  assert.equal(totals.get("exporter/debug")?.queueAgeSeconds, 0);
});
