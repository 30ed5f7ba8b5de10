/**
 * tfo's file exporter against the Collector's (contrib v0.161.0, built by
 * `bench/peers.sh`): the same OTLP requests (the JS SDK's spans, metrics and log
 * records) go into a `tfo run` child and an `otelcol-contrib` child, each writing OTLP/JSON lines and
 * zstd-compressed, length-prefixed protobuf; each file is read with one reader and must hold the
 * same telemetry, request by request. Skipped, saying so, when the Collector is not built.
 */
import assert from "node:assert/strict";
import { zstdDecompressSync } from "node:zlib";
import { makeBatch } from "../../../fixtures/interop/sdk_data.ts";
import { freePort, normalize, waitForPort } from "../../../fixtures/interop/services.ts";
import {
  decodeLogsJson,
  decodeLogsRequest,
  decodeMetricsJson,
  decodeMetricsRequest,
  decodeTracesJson,
  decodeTracesRequest,
} from "../../../../lib/otlp/mod.ts";
import type { Signal } from "../../../../lib/pdata/types.ts";
import { OTELCOL_CONTRIB, type Peer, spawnOtelcol, spawnTfo } from "../prometheus/_peers.ts";

const SIGNALS: readonly Signal[] = ["traces", "metrics", "logs"];

function config(dir: string, port: number, telemetry: string): string {
  return [
    "receivers:",
    "  otlp:",
    "    protocols:",
    `      http: { endpoint: 127.0.0.1:${port} }`,
    "exporters:",
    "  file/json:",
    `    path: ${dir}/out.json`,
    "  file/zstd:",
    `    path: ${dir}/out.pb.zst`,
    "    format: proto",
    "    compression: zstd",
    "service:",
    telemetry,
    "  pipelines:",
    ...SIGNALS.map((s) => `    ${s}: { receivers: [otlp], exporters: [file/json, file/zstd] }`),
  ].join("\n");
}

const JSON_DECODERS = {
  traces: decodeTracesJson,
  metrics: decodeMetricsJson,
  logs: decodeLogsJson,
};
const PROTO_DECODERS = {
  traces: decodeTracesRequest,
  metrics: decodeMetricsRequest,
  logs: decodeLogsRequest,
};

/** Each record of a file as decoded telemetry, in order; records are tried as each signal. */
function decodeAll(bytes: Uint8Array, format: "json" | "zstd"): unknown[] {
  const records: Uint8Array[] = [];
  if (format === "json") {
    let start = 0;
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i] === 0x0a) {
        records.push(bytes.subarray(start, i));
        start = i + 1;
      }
    }
    assert.equal(start, bytes.length, "the file ends with a whole line");
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let at = 0;
    while (at < bytes.length) {
      const n = view.getUint32(at, false);
      records.push(new Uint8Array(zstdDecompressSync(bytes.subarray(at + 4, at + 4 + n))));
      at += 4 + n;
    }
    assert.equal(at, bytes.length, "the file ends with a whole frame");
  }
  return records.map((r, i) => {
    const decoders = format === "json" ? JSON_DECODERS : PROTO_DECODERS;
    const signal = SIGNALS[i]!; // sent in this order, one request each
    return normalize(decoders[signal](r));
  });
}

async function stop(peer: Peer): Promise<void> {
  peer.child.kill("SIGTERM");
  await peer.child.status;
}

Deno.test({
  name: "the file exporter writes what the Collector's writes, json lines and zstd protobuf",
  ignore: OTELCOL_CONTRIB === undefined,
  async fn() {
    const tfoPort = freePort();
    const colPort = freePort();
    await using tfo = await spawnTfo((dir) =>
      config(dir, tfoPort, `  telemetry:\n    metrics: { address: 127.0.0.1:${freePort()} }`)
    );
    await using col = await spawnOtelcol((dir) =>
      config(dir, colPort, "  telemetry:\n    metrics: { level: none }")
    );
    await waitForPort(tfoPort, 60_000);
    await waitForPort(colPort, 60_000);
    for (const signal of SIGNALS) {
      const batch = await makeBatch(signal);
      for (const port of [tfoPort, colPort]) {
        const r = await fetch(`http://127.0.0.1:${port}/v1/${signal}`, {
          method: "POST",
          headers: { "Content-Type": "application/x-protobuf" },
          body: batch.bytes as Uint8Array<ArrayBuffer>,
        });
        await r.body?.cancel();
        assert.equal(r.status, 200);
      }
    }
    // Both write on shutdown at the latest (the Collector buffers; tfo's queue drains).
    await stop(tfo);
    await stop(col);
    for (const [file, format] of [["out.json", "json"], ["out.pb.zst", "zstd"]] as const) {
      const ours = decodeAll(await Deno.readFile(`${tfo.dir}/${file}`), format);
      const theirs = decodeAll(await Deno.readFile(`${col.dir}/${file}`), format);
      assert.equal(theirs.length, 3, `the Collector wrote a record per request to ${file}`);
      assert.deepEqual(ours, theirs, file);
    }
  },
});
