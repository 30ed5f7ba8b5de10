/**
 * The opensearch exporter against a real OpenSearch 2.19.6 (started here as the `tfo-peer` user
 * on free loopback ports; see tests/fixtures/backends.ts). One server for the whole file:
 *
 * 1. Outage: tfo takes telemetrygen's logs while OpenSearch is not up yet, is restarted over its
 *    persistent queue, and once OpenSearch is green every record is indexed, once.
 * 2. The JS SDK's logs and spans land as ss4o documents, logs in `otel-logs-<service.name>` (a
 *    placeholder index), spans in `ss4o_traces-<dataset>-<namespace>`, fields read back.
 * 3. A bulk where some documents conflict with the index mapping: those are rejected and counted
 *    in tfo's `tfo_exporter_rejected_log_records`, the rest are indexed, tfo keeps running.
 *
 * Skipped, saying why, when OpenSearch (or telemetrygen) cannot be had.
 */
import assert from "node:assert/strict";
import { makeLogs, makeSpans, sdkExport } from "../../../fixtures/interop/sdk_data.ts";
import { freePort, waitFor, waitForPort } from "../../../fixtures/interop/services.ts";
import {
  type Backend,
  type Hit,
  OPENSEARCH_MISSING,
  search,
  spawnOpenSearch,
  waitForHits,
  waitForOpenSearch,
} from "../../../fixtures/backends.ts";
import { type Peer, spawnTfo, TELEMETRYGEN } from "../prometheus/_peers.ts";
import { rfc3339Nano } from "../../../../lib/pdata/go_json.ts";

if (OPENSEARCH_MISSING !== undefined) {
  console.log(`real_opensearch_test: skipped: ${OPENSEARCH_MISSING}`);
}

interface TfoPorts {
  grpc: number;
  http: number;
  metrics: number;
}

function tfoConfig(
  endpoint: string,
  ports: TfoPorts,
  options: { storage?: string; logsIndex?: string; dataset?: string } = {},
): (dir: string) => string {
  const { storage } = options;
  return () =>
    [
      "receivers:",
      "  otlp:",
      "    protocols:",
      `      grpc: { endpoint: 127.0.0.1:${ports.grpc} }`,
      `      http: { endpoint: 127.0.0.1:${ports.http} }`,
      ...(storage === undefined ? [] : [
        "extensions:",
        "  file_storage:",
        `    directory: ${storage}`,
      ]),
      "exporters:",
      "  opensearch:",
      `    http: { endpoint: ${endpoint} }`,
      ...(options.logsIndex === undefined ? [] : [`    logs_index: ${options.logsIndex}`]),
      ...(options.dataset === undefined ? [] : [`    dataset: ${options.dataset}`]),
      "    timeout: 30s",
      "    retry_on_failure: { initial_interval: 200ms, max_interval: 1s, max_elapsed_time: 0s }",
      "    sending_queue:",
      "      batch: { flush_timeout: 100ms }",
      ...(storage === undefined ? [] : ["      storage: file_storage"]),
      "service:",
      ...(storage === undefined ? [] : ["  extensions: [file_storage]"]),
      "  telemetry:",
      `    metrics: { address: 127.0.0.1:${ports.metrics} }`,
      "  pipelines:",
      "    logs: { receivers: [otlp], exporters: [opensearch] }",
      "    traces: { receivers: [otlp], exporters: [opensearch] }",
    ].join("\n");
}

const newPorts = (): TfoPorts => ({ grpc: freePort(), http: freePort(), metrics: freePort() });

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

/** A counter of tfo's own metrics (summed over its series), 0 when absent. */
async function tfoCounter(ports: TfoPorts, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${ports.metrics}/metrics`)).text();
  let sum = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) {
      sum += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return sum;
}

const settle = () => new Promise((r) => setTimeout(r, 1500));

Deno.test({
  name: "OpenSearch indexes what tfo's opensearch exporter sends: an outage over a persistent " +
    "queue, JS SDK logs and spans as ss4o documents, and a bulk with rejected items",
  ignore: OPENSEARCH_MISSING !== undefined || TELEMETRYGEN === undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const osPort = freePort();
    const endpoint = `http://127.0.0.1:${osPort}`;
    const storage = await Deno.makeTempDir({ prefix: "tfo-os-queue-" });
    let os: Backend | undefined;
    try {
      await t.step("OpenSearch down, tfo restarted, OpenSearch up: every record once", async () => {
        const ports = newPorts();
        const config = tfoConfig(endpoint, ports, { storage, logsIndex: "outage-logs" });
        {
          await using _first = await startTfo(config, ports);
          await telemetrygen(ports.grpc, ["--logs", "100", "--service", "outage", "--body", "q"]);
        } // SIGTERM: the queue stays on disk
        await using _second = await startTfo(config, ports);
        await telemetrygen(ports.grpc, ["--logs", "20", "--service", "outage", "--body", "l"]);
        os = await spawnOpenSearch(osPort, freePort());
        await waitForOpenSearch(os);
        await waitForHits(os, "outage-logs", 120, 180_000);
        await settle();
        const hits = await search(os, "outage-logs");
        assert.equal(hits.length, 120);
        assert.equal(hits.filter((h) => h._source.body === "q").length, 100);
        assert.equal(hits.filter((h) => h._source.body === "l").length, 20);
        const source = hits[0]!._source as Record<string, Record<string, unknown>>;
        assert.equal(source.resource!["service.name"], "outage");
        assert.deepEqual(source.attributes!.data_stream, {
          dataset: "default",
          namespace: "namespace",
          type: "record",
        });
      });

      await t.step("the JS SDK's logs and spans as ss4o documents", async () => {
        assert.ok(os);
        const ports = newPorts();
        await using _tfo = await startTfo(
          tfoConfig(endpoint, ports, { logsIndex: "otel-logs-%{service.name}", dataset: "sdk" }),
          ports,
        );
        const to = {
          httpBase: `http://127.0.0.1:${ports.http}`,
          grpcAddress: `127.0.0.1:${ports.grpc}`,
        };
        const logs = await makeLogs();
        const spans = await makeSpans();
        await sdkExport(logs, "http/protobuf", to);
        await sdkExport(spans, "grpc", to);
        const records = logs.expected.resourceLogs.flatMap((r) =>
          r.scopeLogs.flatMap((s) => s.logRecords)
        );
        const spanList = spans.expected.resourceSpans.flatMap((r) =>
          r.scopeSpans.flatMap((s) => s.spans)
        );
        // What OpenSearch's dynamic mapping refuses (the SDK's richest attributes mix an int
        // and a string in one array) is rejected and counted; everything else is indexed.
        const delivered = await waitFor(
          "every record and span judged",
          async () => {
            const rejected = await tfoCounter(ports, "tfo_exporter_rejected_log_records") +
              await tfoCounter(ports, "tfo_exporter_rejected_spans");
            // A new index answers 503 until its shard started: then poll again.
            const logHits = await search(os!, "otel-logs-*").catch(() => undefined);
            const spanHits = await search(os!, "ss4o_traces-sdk-namespace").catch(() => undefined);
            if (logHits === undefined || spanHits === undefined) return undefined;
            const judged = logHits.length + spanHits.length + rejected;
            return judged >= records.length + spanList.length
              ? { logHits, spanHits, rejected }
              : undefined;
          },
          60_000,
          500,
        );
        assert.equal(
          delivered.logHits.length + delivered.spanHits.length + delivered.rejected,
          records.length + spanList.length,
        );
        assert.ok(delivered.logHits.length >= records.length - 1, "at most one record refused");
        assert.ok(delivered.spanHits.length >= spanList.length - 2, "at most the rich spans");
        for (const hit of delivered.logHits) assert.equal(hit._index, "otel-logs-interop-checkout");

        const byBody = new Map(delivered.logHits.map((h) => [h._source.body, h._source]));
        const text = byBody.get("42") as Record<string, unknown> | undefined;
        assert.ok(text, "the int body arrives as its string");
        const expected = records.find((r) => r.body === 42n)!;
        assert.equal(text["@timestamp"], rfc3339Nano(expected.timeUnixNano));
        assert.equal(text.traceId, undefined, "no span context: no traceId");
        const traced = byBody.get(btoa(String.fromCharCode(9, 8, 7, 0))) as Record<string, unknown>;
        assert.ok(traced, "a bytes body arrives as its base64");
        assert.equal(traced.traceId, "5b8efff798038103d269b633813fc60c");
        assert.equal(traced.spanId, "eee19b7ec3c1b174");
        assert.deepEqual(text.severity, { number: expected.severityNumber, text: "SEV2" });
        assert.deepEqual(text.instrumentationScope, {
          name: "interop.logger",
          version: "0.0.1",
          schemaUrl: "https://opentelemetry.io/schemas/1.24.0",
        });
        const resource = text.resource as Record<string, string>;
        assert.equal(resource["service.name"], "interop-checkout");
        assert.equal(resource["host.cores"], "16");
        assert.deepEqual((text.attributes as Record<string, unknown>).data_stream, {
          dataset: "sdk",
          namespace: "namespace",
          type: "record",
        });

        const names = new Set(delivered.spanHits.map((h: Hit) => h._source.name));
        const someSpan = delivered.spanHits[0]!._source;
        const source = spanList.find((s) => s.name === someSpan.name)!;
        assert.equal(someSpan.startTime, rfc3339Nano(source.startTimeUnixNano));
        assert.equal(someSpan.endTime, rfc3339Nano(source.endTimeUnixNano));
        assert.ok(
          ["Unspecified", "Internal", "Server", "Client", "Producer", "Consumer"].includes(
            someSpan.kind as string,
          ),
        );
        assert.ok(names.size >= 1);
      });

      await t.step(
        "a bulk with mapping conflicts: rejected items counted, the rest indexed",
        async () => {
          assert.ok(os);
          const ports = newPorts();
          await using tfo = await startTfo(
            tfoConfig(endpoint, ports, { logsIndex: "conflict-logs" }),
            ports,
          );
          const send = async (values: (string | number)[]) => {
            const body = {
              resourceLogs: [{
                resource: { attributes: [{ key: "service.name", value: { stringValue: "c" } }] },
                scopeLogs: [{
                  logRecords: values.map((v, i) => ({
                    timeUnixNano: String(BigInt(Date.now()) * 1_000_000n + BigInt(i)),
                    body: { stringValue: `r${i}` },
                    attributes: [{
                      key: "x",
                      value: typeof v === "number" ? { intValue: String(v) } : { stringValue: v },
                    }],
                  })),
                }],
              }],
            };
            const r = await fetch(`http://127.0.0.1:${ports.http}/v1/logs`, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify(body),
            });
            await r.body?.cancel();
            assert.equal(r.status, 200);
          };
          // attributes.x becomes a long field, then half of one request cannot be a long.
          await send([1, 2, 3]);
          await waitForHits(os, "conflict-logs", 3);
          await send([4, "not a number", 5, "nope", 6]);
          const hits = await waitForHits(os, "conflict-logs", 6);
          await waitFor(
            "the rejected items counted",
            async () => await tfoCounter(ports, "tfo_exporter_rejected_log_records") === 2,
            30_000,
            250,
          );
          await settle();
          const all = await search(os, "conflict-logs");
          assert.equal(all.length, 6, JSON.stringify(hits.map((h) => h._source.attributes)));
          assert.deepEqual(
            all.map((h) => (h._source.attributes as Record<string, unknown>).x).sort(),
            [1, 2, 3, 4, 5, 6],
          );
          assert.equal(await tfoCounter(ports, "tfo_exporter_rejected_log_records"), 2);
          assert.match(tfo.output(), /mapper_parsing_exception/);
          // Still serving.
          await send([7]);
          await waitForHits(os, "conflict-logs", 7);
        },
      );
    } finally {
      await os?.[Symbol.asyncDispose]();
      await Deno.remove(storage, { recursive: true }).catch(() => {});
    }
  },
});
