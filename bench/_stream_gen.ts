/**
 * A closed-loop stream load generator for the log sources bench (`bench/sources_bench.ts`): it
 * opens `--connections` TCP connections to `--target` and writes `--count` records in total as
 * fast as the receiver reads them (TCP backpressure is the only pacing), then closes.
 *
 * Modes:
 * - `syslog`: RFC 5424 lines with structured data, newline framed (non-transparent framing), each
 *   exactly {@linkcode SYSLOG_LINE_BYTES} bytes so a receiver's output can be counted by size;
 * - `forward`: Fluent Forward PackedForward messages of 100 entries (what Fluent Bit's `forward`
 *   output sends), each entry `[EventTime-less integer time, {log, level, n}]`.
 *
 * Prints one JSON line `{"records": n, "seconds": s}` when every byte was written.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { encode } from "../lib/msgpack/encode.ts";

/** The byte length of every syslog line the generator writes, newline included. */
export const SYSLOG_LINE_BYTES = 160;
/** The width of the message number inside each syslog line's MSG part. */
const NUMBER_WIDTH = 10;
/** Records per PackedForward message. */
export const FORWARD_ENTRIES = 100;
/** Distinct records in the prebuilt buffer that is written again and again. */
const DISTINCT = 1000;

/** The MSG part of syslog line `n` (what rsyslog's `%msg%` writes back). */
export function syslogMessage(n: number): string {
  return ` request ${String(n).padStart(NUMBER_WIDTH, "0")} served status=200 bytes=5120`;
}

/** Syslog line `n`: RFC 5424 with one SD element, padded to {@linkcode SYSLOG_LINE_BYTES}. */
export function syslogLine(n: number): string {
  const head =
    `<134>1 2026-12-02T06:00:00.${String(n % 1000).padStart(3, "0")}Z web-01 nginx 4242 ID47 ` +
    `[meta@32473 region="eu-1" zone="a"]`;
  const message = syslogMessage(n);
  const pad = SYSLOG_LINE_BYTES - 1 - head.length - message.length;
  if (pad < 0) throw new Error("syslog line too long");
  return head + message + " ".repeat(pad).replace(/ $/, ".") + "\n";
}

function syslogBuffer(): Uint8Array {
  let text = "";
  for (let n = 0; n < DISTINCT; n++) text += syslogLine(n);
  return new TextEncoder().encode(text);
}

function forwardBuffer(): Uint8Array {
  const entries: Uint8Array[] = [];
  const time = 1_764_655_200;
  for (let n = 0; n < FORWARD_ENTRIES; n++) {
    entries.push(encode([time + n, {
      log: `GET /api/v1/items/${n} HTTP/1.1 200 5120 "-" "curl/8.5"`,
      level: "info",
      n,
    }]));
  }
  const packed = new Uint8Array(entries.reduce((s, e) => s + e.length, 0));
  let at = 0;
  for (const e of entries) {
    packed.set(e, at);
    at += e.length;
  }
  const messages: Uint8Array[] = [];
  for (let i = 0; i < DISTINCT / FORWARD_ENTRIES; i++) {
    messages.push(encode(["bench.nginx", packed, { size: FORWARD_ENTRIES }]));
  }
  const out = new Uint8Array(messages.reduce((s, m) => s + m.length, 0));
  at = 0;
  for (const m of messages) {
    out.set(m, at);
    at += m.length;
  }
  return out;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += await conn.write(bytes.subarray(at));
}

/** Writes `records` records of `mode` over `connections` connections to `target`. */
export async function generate(
  o: { target: string; mode: "syslog" | "forward"; records: number; connections: number },
): Promise<{ records: number; seconds: number }> {
  const buffer = o.mode === "syslog" ? syslogBuffer() : forwardBuffer();
  const perBuffer = DISTINCT;
  const buffers = Math.ceil(o.records / perBuffer);
  const [hostname, port] = [
    o.target.slice(0, o.target.lastIndexOf(":")),
    o.target.slice(o.target.lastIndexOf(":") + 1),
  ];
  const conns = await Promise.all(
    Array.from({ length: o.connections }, () => Deno.connect({ hostname, port: Number(port) })),
  );
  const t0 = performance.now();
  let next = 0;
  await Promise.all(conns.map(async (conn) => {
    while (next < buffers) {
      next++;
      await writeAll(conn, buffer);
    }
    conn.close();
  }));
  return { records: buffers * perBuffer, seconds: (performance.now() - t0) / 1000 };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      target: { type: "string" },
      mode: { type: "string", default: "syslog" },
      records: { type: "string", default: "500000" },
      connections: { type: "string", default: "4" },
    },
  });
  if (values.target === undefined) throw new Error("--target host:port is required");
  if (values.mode !== "syslog" && values.mode !== "forward") {
    throw new Error("--mode is syslog or forward");
  }
  const result = await generate({
    target: values.target,
    mode: values.mode,
    records: Number(values.records),
    connections: Number(values.connections),
  });
  console.log(JSON.stringify(result));
}
