/**
 * A seeded fuzzer against one tfo process: over 10,000 requests to the otlp receiver — protobuf and
 * JSON mutations over HTTP and gRPC, broken and bomb compression, HTTP framing abuse and raw HTTP/2
 * garbage over TCP. Each request's expected answer comes from tfo's own decoders (a body they
 * refuse must be refused, one they decode must be accepted). At the end tfo must be alive, its RSS
 * below a bound, and valid data sent afterwards must arrive exactly once.
 *
 * Set `TFO_FUZZ_SEED` to replay another seed.
 *
 * @module
 */
import assert from "node:assert/strict";
import { deflateSync, gzipSync, zstdCompressSync } from "node:zlib";
import { GrpcCallError, GrpcClient } from "../../lib/net/grpc_client.ts";
import { GrpcCode } from "../../lib/net/rpc_status.ts";
import {
  decodeTracesJson,
  decodeTracesRequest,
  encodeTracesJson,
  encodeTracesRequest,
  OtlpDecodeError,
} from "../../lib/otlp/mod.ts";
import type { TracesData } from "../../lib/pdata/types.ts";
import { startRecordingSink } from "../fixtures/chaos/otlp_sink.ts";
import { rssOf, startTfo } from "../fixtures/chaos/tfo_process.ts";
import { freePort, waitFor } from "../fixtures/interop/services.ts";
import { Gen } from "../otlp/_gen.ts";

const SEED = Number(Deno.env.get("TFO_FUZZ_SEED") ?? "20261201");
const MIB = 1024 * 1024;
/** RSS tfo must stay under: its idle footprint is about 90 MiB, the body limit is 1 MiB. */
const RSS_BOUND = 400 * MIB;
const EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
const PB = { "content-type": "application/x-protobuf" };

function decodes(bytes: Uint8Array): boolean {
  try {
    decodeTracesRequest(bytes);
    return true;
  } catch (error) {
    if (error instanceof OtlpDecodeError) return false;
    throw error;
  }
}

function decodesJson(text: string): boolean {
  try {
    decodeTracesJson(text);
    return true;
  } catch (error) {
    if (error instanceof OtlpDecodeError) return false;
    throw error;
  }
}

/** One random mutation of `b`. */
function mutate(g: Gen, b: Uint8Array): Uint8Array {
  const out = b.slice();
  const at = g.int(out.length);
  switch (g.int(5)) {
    case 0:
      out[at]! ^= 1 + g.int(7);
      return out;
    case 1:
      out[at] = g.int(256);
      return out;
    case 2:
      return new Uint8Array([...out.subarray(0, at), ...out.subarray(at + 1)]);
    case 3:
      return new Uint8Array([...out.subarray(0, at), g.int(256), ...out.subarray(at)]);
    default:
      return out.subarray(0, at);
  }
}

/** A small valid request from the generator. */
function traces(g: Gen): TracesData {
  for (;;) {
    const data = new Gen(g.int(1e9)).traces();
    const bytes = encodeTracesRequest(data);
    if (bytes.length > 0 && bytes.length < 64 * 1024) return data;
  }
}

/** Runs `tasks` with at most `width` at a time. */
async function pool<T>(items: readonly T[], width: number, run: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await run(items[next++]!);
    }),
  );
}

interface Tally {
  requests: number;
  mismatches: string[];
  statuses: Map<string, number>;
}

function record(t: Tally, key: string): void {
  t.requests++;
  t.statuses.set(key, (t.statuses.get(key) ?? 0) + 1);
}

/** Sends raw bytes on a new TCP connection and reads until the peer closes or 2 s pass. */
async function raw(port: number, bytes: Uint8Array): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(bytes).catch(() => 0);
    const buf = new Uint8Array(16 * 1024);
    const timer = setTimeout(() => conn.close(), 2000);
    let first = "";
    try {
      const n = await conn.read(buf);
      if (n !== null) first = new TextDecoder().decode(buf.subarray(0, Math.min(n, 64)));
    } catch {
      // closed by the timer or reset by tfo: both are answers
    } finally {
      clearTimeout(timer);
    }
    return first;
  } finally {
    try {
      conn.close();
    } catch {
      // already closed
    }
  }
}

Deno.test("fuzzing the otlp receiver with 10,000+ hostile requests: every bad one refused as the spec says, tfo alive and bounded, good data exact", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tfo-fuzz-" });
  const sink = startRecordingSink();
  const ports = { grpc: freePort(), http: freePort(), metrics: freePort() };
  const tfo = await startTfo(
    "fuzz",
    dir,
    `receivers:
  otlp:
    protocols:
      grpc: {endpoint: "127.0.0.1:${ports.grpc}", max_recv_msg_size_mib: 1}
      http: {endpoint: "127.0.0.1:${ports.http}", max_request_body_size: ${MIB}}
exporters:
  otlp_http:
    endpoint: http://127.0.0.1:${sink.port}
    compression: none
    sending_queue: {queue_size: 100000}
service:
  telemetry:
    metrics: {address: "127.0.0.1:${ports.metrics}"}
  pipelines:
    traces: {receivers: [otlp], exporters: [otlp_http]}
`,
  );
  const grpc = new GrpcClient({ target: `127.0.0.1:${ports.grpc}`, tls: undefined });
  const g = new Gen(SEED);
  const t: Tally = { requests: 0, mismatches: [], statuses: new Map() };
  let maxRss = 0;
  const sampler = setInterval(async () => {
    maxRss = Math.max(maxRss, (await rssOf(tfo.pid)) ?? 0);
  }, 100);
  const url = `http://127.0.0.1:${ports.http}/v1/traces`;
  const post = async (body: BodyInit, headers: Record<string, string>) => {
    const res = await fetch(url, { method: "POST", body, headers });
    await res.body?.cancel();
    return res.status;
  };
  try {
    // 1. Protobuf mutations over HTTP: 400 exactly when tfo's decoder refuses the body.
    const protoCases = Array.from(
      { length: 5000 },
      () => mutate(g, encodeTracesRequest(traces(g))),
    );
    await pool(protoCases, 8, async (body) => {
      const want = decodes(body) ? 200 : 400;
      const got = await post(body as Uint8Array<ArrayBuffer>, PB);
      record(t, `http proto ${got}`);
      if (got !== want) t.mismatches.push(`http proto: ${got}, expected ${want}`);
    });

    // 2. The same over gRPC: INVALID_ARGUMENT exactly when the decoder refuses.
    const grpcCases = Array.from({ length: 1500 }, () => mutate(g, encodeTracesRequest(traces(g))));
    await pool(grpcCases, 8, async (body) => {
      const want = decodes(body) ? GrpcCode.OK : GrpcCode.INVALID_ARGUMENT;
      let got: number = GrpcCode.OK;
      try {
        await grpc.unary(EXPORT, body, { timeoutMs: 10_000 });
      } catch (error) {
        got = error instanceof GrpcCallError ? error.code : -1;
      }
      record(t, `grpc ${got}`);
      if (got !== want) t.mismatches.push(`grpc: ${got}, expected ${want}`);
    });

    // 3. JSON mutations: 400 exactly when the JSON decoder refuses.
    const jsonCases = Array.from({ length: 2000 }, () => {
      const text = encodeTracesJson(traces(g));
      const at = g.int(text.length);
      const junk = g.pick(['"', "{", "}", "[", "]", ",", ":", "0", "null", "", "x", "-1e999"]);
      return text.slice(0, at) + junk + text.slice(at + (g.chance(0.5) ? 1 : 0));
    });
    await pool(jsonCases, 8, async (text) => {
      const want = decodesJson(text) ? 200 : 400;
      const got = await post(text, { "content-type": "application/json" });
      record(t, `http json ${got}`);
      if (got !== want) t.mismatches.push(`http json: ${got}, expected ${want}`);
    });

    // 4. Compression: truncated and corrupt bodies are 400, bombs 413, whole ones 200.
    const compressions: [string, Uint8Array, number][] = [];
    for (let i = 0; i < 1200; i++) {
      const plain = encodeTracesRequest(traces(g));
      const coding = g.pick(["gzip", "deflate", "zstd"]);
      const packed = coding === "zstd"
        ? new Uint8Array(zstdCompressSync(plain))
        : coding === "gzip"
        ? new Uint8Array(gzipSync(plain))
        : new Uint8Array(deflateSync(plain));
      const kind = g.int(4);
      if (kind === 0) compressions.push([coding, packed, 200]);
      else if (kind === 1) {
        compressions.push([coding, packed.subarray(0, g.int(packed.length)), 400]);
      } else if (kind === 2) {
        compressions.push([
          coding,
          Uint8Array.from({ length: 1 + g.int(200) }, () => g.int(256)),
          400,
        ]);
      } else if (i % 40 === 3) {
        const zeros = new Uint8Array(64 * MIB);
        const bomb = coding === "zstd" ? zstdCompressSync(zeros) : gzipSync(zeros);
        compressions.push([coding === "zstd" ? "zstd" : "gzip", new Uint8Array(bomb), 413]);
      } else compressions.push([coding, packed, 200]);
    }
    await pool(compressions, 8, async ([coding, body, want]) => {
      const got = await post(body as Uint8Array<ArrayBuffer>, {
        ...PB,
        "content-encoding": coding,
      });
      record(t, `http ${coding} ${got}`);
      if (got !== want) t.mismatches.push(`http ${coding}: ${got}, expected ${want}`);
    });

    // 5. HTTP framing and raw HTTP/2 over TCP: any answer or a close, never a crash.
    const enc = new TextEncoder();
    const framing: Uint8Array[] = [];
    for (let i = 0; i < 150; i++) {
      framing.push(enc.encode(g.pick([
        `POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nContent-Length: 100\r\n\r\nabc`,
        `POST /v1/traces HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n`,
        `POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n`,
        `POST /v1/traces HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(200_000)}\r\n\r\n`,
        `GARBAGE\r\n\r\n`,
      ])));
    }
    await pool(framing, 8, async (bytes) => {
      await raw(ports.http, bytes);
      record(t, "http framing");
    });
    const preface = enc.encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    const h2: Uint8Array[] = [];
    for (let i = 0; i < 150; i++) {
      const frames = Uint8Array.from({ length: 9 + g.int(300) }, () => g.int(256));
      h2.push(g.chance(0.8) ? new Uint8Array([...preface, ...frames]) : frames);
    }
    await pool(h2, 8, async (bytes) => {
      await raw(ports.grpc, bytes);
      record(t, "h2 garbage");
    });

    assert.equal(tfo.dead, false, `tfo died:\n${tfo.tail()}`);

    // 6. Good data afterwards arrives exactly once.
    const names = Array.from({ length: 200 }, (_, i) => `after-fuzz-${i}`);
    for (const name of names) {
      const body = encodeTracesRequest({
        resourceSpans: [{
          resource: { attributes: [], droppedAttributesCount: 0 },
          schemaUrl: "",
          scopeSpans: [{
            scope: { name: "", version: "", attributes: [], droppedAttributesCount: 0 },
            schemaUrl: "",
            spans: [{ ...new Gen(1).span(), name }],
          }],
        }],
      });
      assert.equal(await post(body as Uint8Array<ArrayBuffer>, PB), 200, name);
    }
    await waitFor(
      "the good spans at the sink",
      () => names.every((n) => sink.received.has(n)),
      30_000,
    );
    for (const name of names) assert.equal(sink.received.get(name), 1, name);

    const report =
      `${t.requests} requests, statuses ${JSON.stringify(Object.fromEntries(t.statuses))}, ` +
      `max RSS ${(maxRss / MIB).toFixed(0)} MiB, seed ${SEED}`;
    console.log(report);
    assert.ok(t.requests >= 10_000, report);
    assert.deepEqual(t.mismatches.slice(0, 20), [], `${t.mismatches.length} mismatches; ${report}`);
    assert.ok(maxRss > 0 && maxRss < RSS_BOUND, report);
    assert.equal(tfo.dead, false, `tfo died:\n${tfo.tail()}`);
  } finally {
    clearInterval(sampler);
    grpc.close();
    await tfo.stop();
    await sink.close();
    await Deno.remove(dir, { recursive: true });
  }
});
