/**
 * TLS clients that stall in the handshake against a real `tfo run`: its OTLP/HTTP receiver, its
 * OTLP/gRPC receiver, a syslog TCP receiver and a fluentforward receiver, all on TLS. Clients open TCP and send nothing,
 * send half a ClientHello, or send a whole ClientHello and stop once the server answered it (the
 * middle of the handshake); others finish the handshake and then say nothing. Every one must be
 * disconnected by tfo within its deadline (seen from the client as the end of its stream), tfo's
 * open file descriptors must come back to what they were, and valid TLS traffic sent meanwhile
 * must be served. fluentforward shares syslog's TLS listener (`lib/net/stream_server.ts`).
 */
import * as assert from "node:assert/strict";
import { testCertificates } from "../components/exporter/otlp/_kit.ts";
import { startRecordingSink } from "../fixtures/chaos/otlp_sink.ts";
import { tracesRequest } from "../fixtures/chaos/id_load.ts";
import { startTfo } from "../fixtures/chaos/tfo_process.ts";
import { freePort, waitFor } from "../fixtures/interop/services.ts";
import { GrpcClient } from "../../lib/net/grpc_client.ts";
import { encode } from "../../lib/msgpack/encode.ts";

/** The HTTP receiver's `read_header_timeout`, which covers the TLS handshake. */
const HTTP_DEADLINE_MS = 2_000;
/** The gRPC server's connection timeout and the stream servers' handshake timeout. */
const FIXED_DEADLINE_MS = 10_000;
/** Room for a loaded CI machine on top of a deadline. */
const SLACK_MS = 20_000;

type Stall = "nothing" | "partial" | "hello" | "silent";
const STALLS: readonly Stall[] = ["nothing", "partial", "hello", "silent"];

/** The bytes of a real ClientHello, taken from a TLS client that connects to a plain listener. */
async function captureClientHello(caPem: string): Promise<Uint8Array> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const client = Deno.connectTls({
      hostname: "localhost",
      port: (listener.addr as Deno.NetAddr).port,
      caCerts: [caPem],
    }).then((c) => c.handshake().catch(() => {}).finally(() => c.close())).catch(() => {});
    const conn = await listener.accept();
    const buf = new Uint8Array(16 * 1024);
    const n = await conn.read(buf);
    conn.close();
    await client;
    assert.ok(n !== null && n > 5 && buf[0] === 0x16, "a TLS handshake record");
    return buf.slice(0, n);
  } finally {
    listener.close();
  }
}

/** A client that stalls as `kind` says; resolves once the stall is in place. */
async function stall(
  kind: Stall,
  port: number,
  hello: Uint8Array,
  caPem: string,
): Promise<Deno.Conn> {
  if (kind === "silent") {
    const conn = await Deno.connectTls({ hostname: "localhost", port, caCerts: [caPem] });
    await conn.handshake();
    return conn;
  }
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  if (kind === "partial") await conn.write(hello.subarray(0, 20));
  if (kind === "hello") await conn.write(hello);
  return conn;
}

/** Reads until the server ends the stream; the time it took, or undefined past `withinMs`. */
async function closedWithin(conn: Deno.Conn, withinMs: number): Promise<number | undefined> {
  const started = performance.now();
  const buf = new Uint8Array(16 * 1024);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"open">((resolve) =>
    timer = setTimeout(() => resolve("open"), withinMs)
  );
  try {
    for (;;) {
      const r = await Promise.race([conn.read(buf).catch(() => null), timeout]);
      if (r === "open") return undefined;
      if (r === null) return performance.now() - started;
    }
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  }
}

function openFds(pid: number): number {
  return [...Deno.readDirSync(`/proc/${pid}/fd`)].length;
}

Deno.test("tfo disconnects TLS clients that stall in the handshake and keeps serving TLS", async () => {
  const certs = await testCertificates();
  if (certs === undefined) {
    console.warn("skipped: openssl is not installed");
    return;
  }
  const dir = await Deno.makeTempDir({ prefix: "tfo-tls-stall-" });
  const certDir = certs.caFile.slice(0, certs.caFile.lastIndexOf("/"));
  const tls = `{ cert_file: ${certDir}/server.crt, key_file: ${certDir}/server.key }`;
  const sink = startRecordingSink();
  const [grpcPort, httpPort, syslogPort, forwardPort, metricsPort] = [
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ];
  const tfo = await startTfo(
    "tls-stall",
    dir,
    `
receivers:
  otlp:
    protocols:
      grpc: { endpoint: 127.0.0.1:${grpcPort}, tls: ${tls} }
      http:
        endpoint: 127.0.0.1:${httpPort}
        tls: ${tls}
        read_header_timeout: ${HTTP_DEADLINE_MS}ms
  syslog:
    protocol: rfc5424
    tcp: { listen_address: 127.0.0.1:${syslogPort}, tls: ${tls} }
  fluentforward:
    endpoint: 127.0.0.1:${forwardPort}
    tls: ${tls}
exporters:
  otlphttp:
    endpoint: http://127.0.0.1:${sink.port}
    compression: none
    retry_on_failure: { initial_interval: 100ms, max_interval: 500ms }
    sending_queue: { enabled: false }
  file:
    path: ${dir}/logs.json
    flush_interval: 100ms
service:
  telemetry:
    metrics: { address: 127.0.0.1:${metricsPort} }
  pipelines:
    traces: { receivers: [otlp], exporters: [otlphttp] }
    logs: { receivers: [syslog, fluentforward], exporters: [file] }
`,
  );
  const httpClient = Deno.createHttpClient({ caCerts: [certs.caPem], http2: false });
  const grpc = new GrpcClient({ target: `localhost:${grpcPort}`, tls: { caPem: certs.caPem } });
  const sendAll = async (round: number) => {
    const viaHttp = await fetch(`https://localhost:${httpPort}/v1/traces`, {
      method: "POST",
      headers: { "content-type": "application/x-protobuf" },
      body: tracesRequest([`http-${round}`]),
      client: httpClient,
    });
    assert.equal(viaHttp.status, 200, await viaHttp.text());
    await grpc.unary(
      "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
      tracesRequest([`grpc-${round}`]),
      { timeoutMs: 10_000 },
    );
    const viaSyslog = await Deno.connectTls({
      hostname: "localhost",
      port: syslogPort,
      caCerts: [certs.caPem],
    });
    await viaSyslog.write(
      new TextEncoder().encode(`<34>1 2026-12-02T03:00:00Z host app 1 ID1 - syslog-${round}\n`),
    );
    viaSyslog.close();
    // Forward Message mode asking for an ack: the answer is written back over TLS.
    const viaForward = await Deno.connectTls({
      hostname: "localhost",
      port: forwardPort,
      caCerts: [certs.caPem],
    });
    await viaForward.write(
      encode(["tls.test", 1_700_000_000, { message: `forward-${round}` }, { chunk: `c${round}` }]),
    );
    const ack = new Uint8Array(64);
    const n = await viaForward.read(ack);
    assert.ok(n !== null && new TextDecoder().decode(ack.subarray(0, n)).includes(`c${round}`));
    viaForward.close();
  };
  try {
    const hello = await captureClientHello(certs.caPem);
    await sendAll(0);
    // What tfo holds open when it serves these three listeners, idle, after one round of traffic.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const baseline = openFds(tfo.pid);

    const targets = [
      { name: "http", port: httpPort, count: 200, deadlineMs: HTTP_DEADLINE_MS },
      { name: "grpc", port: grpcPort, count: 100, deadlineMs: FIXED_DEADLINE_MS },
      // A syslog client that finished its handshake may stay idle: syslog streams are long-lived.
      { name: "syslog", port: syslogPort, count: 60, deadlineMs: FIXED_DEADLINE_MS },
      { name: "fluentforward", port: forwardPort, count: 60, deadlineMs: FIXED_DEADLINE_MS },
    ];
    const stalled: { name: string; kind: Stall; deadlineMs: number; conn: Deno.Conn }[] = [];
    for (const t of targets) {
      const streams = t.name === "syslog" || t.name === "fluentforward";
      const kinds = streams ? STALLS.filter((k) => k !== "silent") : STALLS;
      for (let i = 0; i < t.count; i++) {
        const kind = kinds[i % kinds.length]!;
        stalled.push({ ...t, kind, conn: await stall(kind, t.port, hello, certs.caPem) });
      }
    }
    const held = openFds(tfo.pid) - baseline;
    assert.ok(held >= 100, `tfo holds the stalled connections (${held} more fds)`);
    const closing = stalled.map((s) => closedWithin(s.conn, s.deadlineMs + SLACK_MS));

    // Valid TLS traffic is served while 420 handshakes are stalled.
    for (let round = 1; round <= 3; round++) await sendAll(round);

    const times = await Promise.all(closing);
    const open = stalled.filter((_, i) => times[i] === undefined).map((s) => `${s.name}/${s.kind}`);
    assert.deepEqual(open, [], "every stalled client was disconnected within its deadline");
    await waitFor(
      "tfo's file descriptors to return to the baseline",
      () => {
        return openFds(tfo.pid) <= baseline + 5;
      },
      SLACK_MS,
      100,
    );

    await sendAll(4);
    await waitFor(
      "every valid request to arrive",
      async () => {
        const logs = await Deno.readTextFile(`${dir}/logs.json`).catch(() => "");
        for (let round = 0; round <= 4; round++) {
          if (sink.received.get(`http-${round}`) !== 1) return false;
          if (sink.received.get(`grpc-${round}`) !== 1) return false;
          if (!logs.includes(`syslog-${round}`)) return false;
          if (!logs.includes(`forward-${round}`)) return false;
        }
        return true;
      },
      SLACK_MS,
      100,
    );
    assert.equal(tfo.dead, false);
  } finally {
    grpc.close();
    httpClient.close();
    const code = await tfo.stop();
    await sink.close();
    await certs.remove();
    await Deno.remove(dir, { recursive: true });
    assert.equal(code, 0, tfo.tail());
  }
});
