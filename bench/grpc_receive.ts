/**
 * gRPC receive benchmark: tfo's own HTTP/2 gRPC server against `@grpc/grpc-js` (what tfo used
 * before), each in its own child process (`_grpc_receive_server.ts`), with the same OTLP trace
 * payloads sent by tfo's gRPC client from this process (closed loop: `--connections` connections
 * with `--inflight` calls in flight each). Reports calls/s, the server's CPU per call and cores
 * used, and its peak RSS. Generator and server share the machine's cores; nothing is pinned.
 *
 * ```sh
 * deno run -A bench/grpc_receive.ts [--seconds 8] [--connections 4] [--inflight 32]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { GrpcClient } from "../lib/net/grpc_client.ts";
import { requestTemplates } from "./_payloads.ts";
import { sampleProc } from "./_proc.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "8" },
    warmup: { type: "string", default: "2" },
    connections: { type: "string", default: "4" },
    inflight: { type: "string", default: "32" },
  },
});
const EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
const SERVER = new URL("./_grpc_receive_server.ts", import.meta.url).pathname;

/** One measured case. */
interface Row {
  server: string;
  spans: number;
  requestBytes: number;
  callsPerSecond: number;
  cpuUsPerCall: number;
  cores: number;
  peakRssMiB: number;
  errors: number;
}

async function measure(server: "tfo" | "grpc-js", spans: number): Promise<Row> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", SERVER, server],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`The ${server} server exited before listening`);
    text += value;
  }
  const port = Number(/ready (\d+)/.exec(text)![1]);
  const templates = requestTemplates("traces", spans, 8);
  const clients = Array.from(
    { length: Number(values.connections) },
    () => new GrpcClient({ target: `127.0.0.1:${port}`, tls: undefined }),
  );
  let calls = 0;
  let errors = 0;
  let stop = false;
  const loops = clients.flatMap((client, c) =>
    Array.from({ length: Number(values.inflight) }, async (_, i) => {
      let n = c * 31 + i;
      while (!stop) {
        try {
          await client.unary(EXPORT, templates[n++ % templates.length]!.bytes, {
            timeoutMs: 30_000,
          });
          calls++;
        } catch {
          errors++;
        }
      }
    })
  );
  await new Promise((r) => setTimeout(r, Number(values.warmup) * 1000));
  const before = await sampleProc(child.pid);
  const callsBefore = calls;
  const started = performance.now();
  await new Promise((r) => setTimeout(r, Number(values.seconds) * 1000));
  const after = await sampleProc(child.pid);
  const elapsed = (performance.now() - started) / 1000;
  const measured = calls - callsBefore;
  stop = true;
  await Promise.all(loops);
  for (const c of clients) c.close();
  child.kill("SIGTERM");
  await reader.cancel();
  await child.status;
  const cpu = after.cpuSeconds - before.cpuSeconds;
  return {
    server,
    spans,
    requestBytes: templates[0]!.bytes.length,
    callsPerSecond: measured / elapsed,
    cpuUsPerCall: (cpu / Math.max(1, measured)) * 1e6,
    cores: cpu / elapsed,
    peakRssMiB: after.hwmBytes / 1024 / 1024,
    errors,
  };
}

const rows: Row[] = [];
for (const spans of [10, 500]) {
  for (const server of ["tfo", "grpc-js"] as const) rows.push(await measure(server, spans));
}
console.log(
  "| server | spans/request | request bytes | calls/s | server CPU µs/call | server cores | server peak RSS MiB | errors |",
);
console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const r of rows) {
  console.log(
    `| ${r.server} | ${r.spans} | ${r.requestBytes} | ${r.callsPerSecond.toFixed(0)} | ${
      r.cpuUsPerCall.toFixed(0)
    } | ${r.cores.toFixed(2)} | ${r.peakRssMiB.toFixed(0)} | ${r.errors} |`,
  );
}
