import assert from "node:assert/strict";
import { zstdDecompressSync } from "node:zlib";
import { otlphttpExporterFactory } from "../../../../components/exporter/otlphttp/factory.ts";
import { otlphttpConfigSchema } from "../../../../components/exporter/otlphttp/config.ts";
import { crc32c, snappyUncompress } from "../../../../lib/net/snappy.ts";
import { encodeTracesRequest, TRACES_PROTO } from "../../../../lib/otlp/mod.ts";
import { Payload } from "../../../../lib/pdata/payload.ts";
import { NOOP_LOGGER } from "../../../../lib/telemetry/logger.ts";
import { MetricRegistry } from "../../../../lib/telemetry/metrics.ts";
import { tracesOf } from "../../../fixtures/graph_kit.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

function traces(n: number) {
  return tracesOf(...Array.from({ length: n }, (_, i) => `operation ${i % 7} of batch ${i % 13}`));
}

/** Reads the Snappy framing format, checking every chunk's CRC. */
function unframe(data: Uint8Array): Uint8Array {
  const id = [0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59];
  assert.deepEqual([...data.subarray(0, 10)], id, "stream identifier");
  const out: number[] = [];
  let pos = 10;
  while (pos < data.length) {
    const type = data[pos]!;
    const len = data[pos + 1]! | (data[pos + 2]! << 8) | (data[pos + 3]! << 16);
    const masked = new DataView(data.buffer, data.byteOffset + pos + 4, 4).getUint32(0, true);
    const body = data.subarray(pos + 8, pos + 4 + len);
    const chunk = type === 0 ? snappyUncompress(body) : body;
    assert.ok(type === 0 || type === 1, `chunk type ${type}`);
    const c = crc32c(chunk);
    assert.equal(masked, (((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0, "chunk CRC");
    out.push(...chunk);
    pos += 4 + len;
  }
  return new Uint8Array(out);
}

async function inflate(data: Uint8Array, format: CompressionFormat): Promise<Uint8Array> {
  const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream();
  return await new Response(stream.pipeThrough(new DecompressionStream(format))).bytes();
}

const DECODERS: Record<string, [string, (b: Uint8Array) => Promise<Uint8Array>]> = {
  gzip: ["gzip", (b) => inflate(b, "gzip")],
  zlib: ["deflate", (b) => inflate(b, "deflate")],
  deflate: ["deflate", (b) => inflate(b, "deflate")],
  zstd: ["zstd", (b) => Promise.resolve(new Uint8Array(zstdDecompressSync(b)))],
  snappy: ["snappy", (b) => Promise.resolve(snappyUncompress(b))],
  "x-snappy-framed": ["x-snappy-framed", (b) => Promise.resolve(unframe(b))],
};

for (const [compression, [encoding, decode]] of Object.entries(DECODERS)) {
  Deno.test(`otlphttp exporter compresses with ${compression} as the Collector does`, async () => {
    const received: { encoding: string | null; body: Uint8Array }[] = [];
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
      received.push({ encoding: req.headers.get("content-encoding"), body: await req.bytes() });
      return new Response(null, {
        status: 200,
        headers: { "content-type": "application/x-protobuf" },
      });
    });
    const config = otlphttpConfigSchema.parse({
      endpoint: `http://127.0.0.1:${server.addr.port}`,
      compression,
      sending_queue: { enabled: false },
      retry_on_failure: { enabled: false },
    });
    const exporter = otlphttpExporterFactory.create({
      id: "otlp_http",
      config,
      logger: NOOP_LOGGER,
      meter: new MetricRegistry().meter(),
      buildInfo: { command: "tfo", version: "test" },
    }, ["traces"]);
    await exporter.start({ getExtension: () => undefined, status: () => "running" });
    // Large enough for two 64 KiB snappy frames.
    const bytes = encodeTracesRequest(traces(3000));
    assert.ok(bytes.length > 70_000, `${bytes.length} bytes`);
    try {
      await exporter.consumers.traces!.consume(Payload.fromProto("traces", bytes, TRACES_PROTO));
    } finally {
      await exporter.shutdown();
      await server.shutdown();
    }
    assert.equal(received.length, 1);
    assert.equal(received[0]!.encoding, encoding);
    assert.ok(received[0]!.body.length < bytes.length, "it shrank");
    assert.deepEqual(await decode(received[0]!.body), bytes);
  });
}

Deno.test("otlphttp compression takes the Collector's names and refuses lz4", () => {
  for (const c of ["gzip", "zlib", "deflate", "zstd", "snappy", "x-snappy-framed", "none", ""]) {
    assert.ok(
      otlphttpConfigSchema.safeParse({ endpoint: "http://a:1", compression: c }).success,
      c,
    );
  }
  assert.equal(
    otlphttpConfigSchema.parse({ endpoint: "http://a:1", compression: "" }).compression,
    "none",
  );
  assert.equal(
    otlphttpConfigSchema.safeParse({ endpoint: "http://a:1", compression: "lz4" }).success,
    false,
  );
});
