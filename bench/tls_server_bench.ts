/**
 * What server-side TLS on `node:tls` over plain TCP (`lib/net/tls_server_conn.ts`, which a deadline
 * can close mid-handshake) costs against Deno's own `Deno.listenTls` (which it cannot): the
 * server runs in a child process and its CPU time is read from `/proc`; the client, in this
 * process, is `Deno.connectTls` for both. Two loads: a bulk upload (MiB/s and server CPU ms per
 * MiB) and request/response round trips of 16 KiB up, 64 bytes down on one connection (server CPU
 * µs per round trip). Rounds alternate the two servers so a change in machine load hits both.
 *
 * ```sh
 * deno run -A bench/tls_server_bench.ts --rounds 3 --mib 256 --trips 5000
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { testCertificates } from "../tests/components/exporter/otlp/_kit.ts";
import { type ServerConn, serverTlsContext, TlsServerConn } from "../lib/net/tls_server_conn.ts";
import { ChildGroup } from "./_children.ts";
import { sampleProc } from "./_proc.ts";

type Server = "deno-listenTls" | "tfo-node-tls" | "relay-to-listenTls";
const SERVERS: readonly Server[] = ["deno-listenTls", "tfo-node-tls", "relay-to-listenTls"];
const TRIP_UP = 16 * 1024;
const TRIP_DOWN = 64;

/** The child: accepts TLS connections and answers, until killed. Prints `ready <port>`. */
async function serve(kind: Server, certFile: string, keyFile: string): Promise<void> {
  const [cert, key] = await Promise.all([Deno.readTextFile(certFile), Deno.readTextFile(keyFile)]);
  const accept: () => Promise<ServerConn> = kind === "deno-listenTls"
    ? (() => {
      const l = Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert, key });
      console.log(`ready ${(l.addr as Deno.NetAddr).port}`);
      return () => l.accept();
    })()
    : kind === "relay-to-listenTls"
    ? (() => {
      // The alternative not taken: plain TCP outside, relayed by JS to a loopback Deno.listenTls
      // (closing the relay's sockets ends a stalled handshake too; three descriptors a connection).
      const inner = Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert, key });
      const outer = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const innerPort = (inner.addr as Deno.NetAddr).port;
      const pipe = async (from: Deno.Conn, to: Deno.Conn) => {
        const buf = new Uint8Array(64 * 1024);
        try {
          for (;;) {
            const n = await from.read(buf);
            if (n === null) break;
            let off = 0;
            while (off < n) off += await to.write(buf.subarray(off, n));
          }
          await to.closeWrite();
        } catch {
          // Either side went.
        }
      };
      void (async () => {
        for (;;) {
          const o = await outer.accept();
          const i = await Deno.connect({ hostname: "127.0.0.1", port: innerPort });
          void pipe(o, i);
          void pipe(i, o);
        }
      })();
      console.log(`ready ${(outer.addr as Deno.NetAddr).port}`);
      return () => inner.accept();
    })()
    : (() => {
      const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const context = serverTlsContext({ cert, key });
      console.log(`ready ${(l.addr as Deno.NetAddr).port}`);
      return async () => new TlsServerConn(await l.accept(), context);
    })();
  for (;;) {
    const conn = await accept();
    void (async () => {
      // The first byte says the load: 1 bulk (read to the end, answer one byte), 2 round trips.
      const buf = new Uint8Array(64 * 1024);
      const answer = new Uint8Array(TRIP_DOWN);
      let mode = 0;
      let pending = 0;
      try {
        for (;;) {
          const n = await conn.read(buf);
          if (n === null) break;
          let at = 0;
          if (mode === 0) {
            mode = buf[0]!;
            at = 1;
          }
          if (mode === 2) {
            pending += n - at;
            while (pending >= TRIP_UP) {
              pending -= TRIP_UP;
              let off = 0;
              while (off < answer.length) off += await conn.write(answer.subarray(off));
            }
          }
        }
        if (mode === 1) await conn.write(new Uint8Array([1]));
      } catch {
        // The client went.
      }
      conn.close();
    })();
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

async function bulk(port: number, caPem: string, mib: number) {
  const conn = await Deno.connectTls({ hostname: "localhost", port, caCerts: [caPem] });
  const chunk = new Uint8Array(256 * 1024);
  const started = performance.now();
  await writeAll(conn, new Uint8Array([1]));
  for (let sent = 0; sent < mib << 20; sent += chunk.length) await writeAll(conn, chunk);
  await conn.closeWrite();
  await conn.read(new Uint8Array(1));
  conn.close();
  return (performance.now() - started) / 1000;
}

async function trips(port: number, caPem: string, count: number) {
  const conn = await Deno.connectTls({ hostname: "localhost", port, caCerts: [caPem] });
  const up = new Uint8Array(TRIP_UP);
  const down = new Uint8Array(TRIP_DOWN);
  const started = performance.now();
  await writeAll(conn, new Uint8Array([2]));
  for (let i = 0; i < count; i++) {
    await writeAll(conn, up);
    let got = 0;
    while (got < TRIP_DOWN) {
      const n = await conn.read(down.subarray(got));
      if (n === null) throw new Error("The server closed the connection");
      got += n;
    }
  }
  conn.close();
  return (performance.now() - started) / 1000;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      serve: { type: "string" },
      cert: { type: "string" },
      key: { type: "string" },
      rounds: { type: "string", default: "3" },
      mib: { type: "string", default: "256" },
      trips: { type: "string", default: "5000" },
    },
  });
  if (values.serve !== undefined) {
    return await serve(values.serve as Server, values.cert!, values.key!);
  }
  const certs = await testCertificates();
  if (certs === undefined) throw new Error("openssl is needed for the test certificates");
  const dir = certs.caFile.slice(0, certs.caFile.lastIndexOf("/"));
  const mib = Number(values.mib);
  const tripCount = Number(values.trips);
  const children = new ChildGroup();
  const rows: string[] = [];
  try {
    for (let round = 1; round <= Number(values.rounds); round++) {
      for (const kind of SERVERS) {
        const child = children.spawn(kind, Deno.execPath(), [
          "run",
          "-A",
          new URL(import.meta.url).pathname,
          "--serve",
          kind,
          "--cert",
          `${dir}/server.crt`,
          "--key",
          `${dir}/server.key`,
        ]);
        const port = Number((await child.nextLine((l) => l.startsWith("ready "), 30_000)).slice(6));
        // Warm up (module loading, JIT) before measuring.
        await bulk(port, certs.caPem, 8);
        await trips(port, certs.caPem, 200);
        const cpu0 = (await sampleProc(child.pid)).cpuSeconds;
        const bulkSeconds = await bulk(port, certs.caPem, mib);
        const cpu1 = (await sampleProc(child.pid)).cpuSeconds;
        const tripSeconds = await trips(port, certs.caPem, tripCount);
        const cpu2 = (await sampleProc(child.pid)).cpuSeconds;
        await child.stop();
        const row = `| ${round} | ${kind} | ${(mib / bulkSeconds).toFixed(0)} | ${
          ((cpu1 - cpu0) * 1000 / mib).toFixed(2)
        } | ${(tripCount / tripSeconds).toFixed(0)} | ${
          ((cpu2 - cpu1) * 1e6 / tripCount).toFixed(0)
        } |`;
        rows.push(row);
        console.error(row);
      }
    }
  } finally {
    await children.stopAll();
    await certs.remove();
  }
  console.log(
    [
      `${mib} MiB bulk upload; ${tripCount} round trips of ${TRIP_UP} B up, ${TRIP_DOWN} B down.`,
      "",
      "| round | server | bulk MiB/s | server CPU ms per MiB | round trips/s | server CPU µs per trip |",
      "| --- | --- | ---: | ---: | ---: | ---: |",
      ...rows,
    ].join("\n"),
  );
}

if (import.meta.main) await main();
