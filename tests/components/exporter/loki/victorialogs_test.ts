/**
 * The loki exporter against a real Loki push API: VictoriaLogs (built by bench/peers.sh), which
 * stores Loki streams and parses JSON lines into fields. Log records from the OpenTelemetry JS SDK
 * and from telemetrygen go into a `tfo run` child process and are read back with LogsQL: labels,
 * body, attributes and timestamps. Then the outage: VictoriaLogs down, tfo restarted over its
 * persistent queue, VictoriaLogs up: every record arrives, once. Skipped, saying so, without
 * VictoriaLogs.
 */
import assert from "node:assert/strict";
import { makeLogs, sdkExport } from "../../../fixtures/interop/sdk_data.ts";
import { freePort, waitForPort } from "../../../fixtures/interop/services.ts";
import {
  type Backend,
  logsQuery,
  spawnVictoriaLogs,
  VICTORIA_LOGS,
  waitForLogs,
} from "../../../fixtures/backends.ts";
import { type Peer, spawnTfo, TELEMETRYGEN } from "../prometheus/_peers.ts";
import { rfc3339Nano } from "../../../../lib/pdata/go_json.ts";

if (VICTORIA_LOGS === undefined) {
  console.log("victorialogs_test: skipped: victoria-logs is not built (bash bench/peers.sh)");
}

async function startVictoriaLogs(port = freePort()): Promise<Backend> {
  const vl = await spawnVictoriaLogs(port);
  await waitForPort(port, 30_000).catch((e) => {
    throw new Error(`VictoriaLogs did not start:\n${vl.output()}`, { cause: e });
  });
  return vl;
}

interface TfoPorts {
  grpc: number;
  http: number;
}

function tfoConfig(
  push: string,
  ports: TfoPorts,
  extra: { storage?: string; encoding?: "proto" | "json"; run?: string } = {},
): (dir: string) => string {
  return () =>
    [
      "receivers:",
      "  otlp:",
      "    protocols:",
      `      grpc: { endpoint: 127.0.0.1:${ports.grpc} }`,
      `      http: { endpoint: 127.0.0.1:${ports.http} }`,
      "processors:",
      "  resource:",
      "    attributes:",
      `      - { action: insert, key: test.run, value: ${extra.run ?? "r"} }`,
      "      - { action: insert, key: loki.resource.labels, value: 'service.version, test.run' }",
      ...(extra.storage === undefined ? [] : [
        "extensions:",
        "  file_storage:",
        `    directory: ${extra.storage}`,
      ]),
      "exporters:",
      "  loki:",
      `    endpoint: ${push}`,
      `    encoding: ${extra.encoding ?? "proto"}`,
      "    retry_on_failure: { initial_interval: 100ms, max_interval: 500ms, max_elapsed_time: 0s }",
      "    sending_queue:",
      "      batch: { flush_timeout: 100ms }",
      ...(extra.storage === undefined ? [] : ["      storage: file_storage"]),
      "service:",
      ...(extra.storage === undefined ? [] : ["  extensions: [file_storage]"]),
      "  telemetry:",
      `    metrics: { address: 127.0.0.1:${freePort()} }`,
      "  pipelines:",
      "    logs: { receivers: [otlp], processors: [resource], exporters: [loki] }",
    ].join("\n");
}

async function startTfo(config: (dir: string) => string, ports: TfoPorts): Promise<Peer> {
  const tfo = await spawnTfo(config);
  await waitForPort(ports.http, 60_000).catch((e) => {
    throw new Error(`tfo did not start:\n${tfo.output()}`, { cause: e });
  });
  return tfo;
}

async function telemetrygen(grpcPort: number, args: string[]): Promise<void> {
  const out = await new Deno.Command(TELEMETRYGEN!, {
    args: [
      "logs",
      "--otlp-insecure",
      "--otlp-endpoint",
      `127.0.0.1:${grpcPort}`,
      "--rate",
      "0",
      ...args,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
}

Deno.test({
  name: "VictoriaLogs holds what the JS SDK and telemetrygen sent through tfo's loki exporter: " +
    "labels, bodies, attributes and timestamps",
  ignore: VICTORIA_LOGS === undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    await using vl = await startVictoriaLogs();
    for (const encoding of ["proto", "json"] as const) {
      await t.step(`the JS SDK's log records (encoding ${encoding})`, async () => {
        const ports = { grpc: freePort(), http: freePort() };
        await using _tfo = await startTfo(
          tfoConfig(`${vl.url}/insert/loki/api/v1/push`, ports, { encoding, run: encoding }),
          ports,
        );
        const batch = await makeLogs();
        await sdkExport(batch, "http/protobuf", {
          httpBase: `http://127.0.0.1:${ports.http}`,
          grpcAddress: `127.0.0.1:${ports.grpc}`,
        });
        const records = batch.expected.resourceLogs.flatMap((r) =>
          r.scopeLogs.flatMap((s) => s.logRecords)
        );
        // The two runs differ by a resource attribute promoted to a label.
        const mine = await waitForLogs(
          vl,
          `{job="interop-checkout",test_run="${encoding}"}`,
          records.length,
        );
        assert.equal(mine.length, records.length);
        const plain = mine.find((r) => r.body === "plain text ✓");
        assert.ok(plain, `the plain-text record arrived: ${JSON.stringify(mine[0])}`);
        assert.equal(plain.exporter, "OTLP");
        assert.equal(plain.job, "interop-checkout");
        assert.equal(plain.service_version, "1.2.3");
        assert.equal(plain.level, "TRACE");
        assert.equal(plain.severity, "SEV0");
        assert.equal(plain.traceid, "5b8efff798038103d269b633813fc60c");
        assert.equal(plain.spanid, "eee19b7ec3c1b174");
        assert.equal(plain["attributes.str"], "value");
        assert.equal(plain["attributes.int"], "42");
        assert.equal(plain["attributes.map.nested"], "yes");
        assert.equal(plain["resources.service.name"], "interop-checkout");
        assert.equal(plain["resources.service.version"], undefined, "promoted to a label");
        assert.equal(plain["instrumentation_scope.name"], "interop.logger");
        assert.match(plain._stream ?? "", /exporter="OTLP"/);
        assert.match(plain._stream ?? "", /service_version="1.2.3"/);
        // Every record's timestamp, to the nanosecond (record time, else observed time).
        const times = mine.map((r) => r._time).sort();
        const expected = records.map((r) =>
          rfc3339Nano(r.timeUnixNano !== 0n ? r.timeUnixNano : r.observedTimeUnixNano)
        ).sort();
        assert.deepEqual(times, expected);
        const structured = mine.find((r) => r["body.msg"] === "structured");
        assert.ok(structured, "a map body arrives as JSON fields");
        assert.equal(structured["body.inner.list"], "[1,2]");
      });
    }

    await t.step({
      name: "telemetrygen's log records",
      ignore: TELEMETRYGEN === undefined,
      fn: async () => {
        const ports = { grpc: freePort(), http: freePort() };
        await using _tfo = await startTfo(
          tfoConfig(`${vl.url}/insert/loki/api/v1/push`, ports),
          ports,
        );
        await telemetrygen(ports.grpc, [
          "--logs",
          "200",
          "--body",
          "generated line",
          "--severity-number",
          "13",
          "--severity-text",
          "Warn",
          "--service",
          "tg-loki",
          "--telemetry-attributes",
          'run="r1"',
        ]);
        const rows = await waitForLogs(vl, '{job="tg-loki"}', 200);
        assert.equal(rows.length, 200);
        for (const row of rows) {
          assert.equal(row.body, "generated line");
          assert.equal(row.level, "WARN");
          assert.equal(row["attributes.run"], "r1");
        }
        const now = Date.now();
        const t0 = Date.parse(rows[0]!._time ?? "");
        assert.ok(Math.abs(now - t0) < 10 * 60_000, `a recent timestamp: ${rows[0]!._time}`);
      },
    });

    await t.step({
      name: "loki.format raw and logfmt lines",
      ignore: TELEMETRYGEN === undefined,
      fn: async () => {
        const ports = { grpc: freePort(), http: freePort() };
        await using _tfo = await startTfo(
          tfoConfig(`${vl.url}/insert/loki/api/v1/push`, ports),
          ports,
        );
        await telemetrygen(ports.grpc, [
          "--logs",
          "5",
          "--body",
          "raw words here",
          "--service",
          "tg-raw",
          "--otlp-attributes",
          'loki.format="raw"',
        ]);
        await telemetrygen(ports.grpc, [
          "--logs",
          "5",
          "--body",
          'status=ok took="12 ms"',
          "--service",
          "tg-logfmt",
          "--otlp-attributes",
          'loki.format="logfmt"',
        ]);
        const raw = await waitForLogs(vl, '{job="tg-raw"}', 5);
        for (const row of raw) assert.equal(row._msg, "raw words here");
        const logfmt = await waitForLogs(vl, '{job="tg-logfmt"}', 5);
        for (const row of logfmt) {
          assert.match(row._msg ?? "", /^status=ok took="12 ms" severity=Info /);
          assert.match(row._msg ?? "", / resource_service\.name=tg-logfmt/);
        }
      },
    });
  },
});

Deno.test({
  name: "loki exporter: VictoriaLogs down, tfo restarted over its persistent queue, VictoriaLogs " +
    "up: every record arrives once",
  ignore: VICTORIA_LOGS === undefined || TELEMETRYGEN === undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const vlPort = freePort();
    const storage = await Deno.makeTempDir({ prefix: "tfo-loki-queue-" });
    try {
      const ports = { grpc: freePort(), http: freePort() };
      const config = tfoConfig(`http://127.0.0.1:${vlPort}/insert/loki/api/v1/push`, ports, {
        storage,
      });
      {
        await using _first = await startTfo(config, ports);
        await telemetrygen(ports.grpc, [
          "--logs",
          "120",
          "--service",
          "outage",
          "--body",
          "queued",
        ]);
      } // SIGTERM: the queue stays on disk
      await using _second = await startTfo(config, ports);
      await telemetrygen(ports.grpc, ["--logs", "30", "--service", "outage", "--body", "later"]);
      await using vl = await startVictoriaLogs(vlPort);
      const rows = await waitForLogs(vl, '{job="outage"}', 150, 60_000);
      // Give any duplicate time to arrive before counting.
      await new Promise((r) => setTimeout(r, 1500));
      const all = await logsQuery(vl, '{job="outage"}');
      assert.equal(all.length, 150, `${rows.length} rows, then ${all.length}`);
      assert.equal(all.filter((r) => r.body === "queued").length, 120);
      assert.equal(all.filter((r) => r.body === "later").length, 30);
    } finally {
      await Deno.remove(storage, { recursive: true }).catch(() => {});
    }
  },
});
