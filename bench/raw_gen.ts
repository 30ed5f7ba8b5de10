/**
 * A nearly free OTLP/HTTP load generator, run as its own process: `--connections` keep-alive TCP
 * connections (`Deno.connect`), each writing one prebuilt HTTP/1.1 request buffer (head and
 * pre-encoded body of `--items` spans, see `_payloads.ts`) and reading the short response, closed
 * loop, for a fixed time. No `fetch`, no per-request encoding or copying: the JS work per request
 * is one write, the reads and one head parse — per `--items` spans. Every response's status is
 * checked (anything but 200 counts as an error); a connection the server closes is reopened.
 *
 * ```sh
 * deno run -A bench/raw_gen.ts --target 127.0.0.1:4318 --connections 16 --items 2000 \
 *   --warmup 3 --duration 10
 * ```
 *
 * Prints `start` when the first request goes out, then, at the end, one JSON line: a
 * {@linkcode RawGenResult}. Only requests started inside the window (after the warm-up) count.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { requestTemplates } from "./_payloads.ts";
import { rawReader, readHead, skipBody, writeAll } from "./_raw_http.ts";

/** What the generator reports when done. */
export interface RawGenResult {
  /** Requests answered 200, other answers or failures, and spans acknowledged, in the window. */
  window: { seconds: number; requests: number; errors: number; items: number };
  /** Request bytes (head and body) of one request, and spans in it. */
  request: { bytes: number; bodyBytes: number; items: number };
  /** Connections opened (more than `--connections` when the server closed some). */
  connects: number;
  /** The first error seen, if any. */
  firstError?: string;
}

/** The prebuilt HTTP/1.1 requests: one per payload variant. */
export function prebuiltRequests(
  target: string,
  items: number,
  variants = 4,
): { bytes: Uint8Array; bodyBytes: number }[] {
  const encoder = new TextEncoder();
  return requestTemplates("traces", items, variants).map((t) => {
    const head = encoder.encode(
      `POST /v1/traces HTTP/1.1\r\nhost: ${target}\r\ncontent-type: application/x-protobuf\r\n` +
        `content-length: ${t.bytes.length}\r\n\r\n`,
    );
    const bytes = new Uint8Array(head.length + t.bytes.length);
    bytes.set(head);
    bytes.set(t.bytes, head.length);
    return { bytes, bodyBytes: t.bytes.length };
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      target: { type: "string", default: "127.0.0.1:4318" },
      connections: { type: "string", default: "16" },
      items: { type: "string", default: "2000" },
      warmup: { type: "string", default: "3" },
      duration: { type: "string", default: "10" },
    },
  });
  const [hostname, port] = values.target.split(":") as [string, string];
  const items = Number(values.items);
  const requests = prebuiltRequests(values.target, items);
  const warmupMs = Number(values.warmup) * 1000;
  const durationMs = Number(values.duration) * 1000;
  const window = { seconds: durationMs / 1000, requests: 0, errors: 0, items: 0 };
  let firstError: string | undefined;
  let connects = 0;
  const start = performance.now();
  const windowStart = start + warmupMs;
  const end = windowStart + durationMs;
  console.log("start");

  async function connection(index: number): Promise<void> {
    const request = requests[index % requests.length]!.bytes;
    while (performance.now() < end) {
      let conn: Deno.TcpConn;
      try {
        conn = await Deno.connect({ hostname, port: Number(port) });
        conn.setNoDelay(true);
        connects++;
      } catch (error) {
        window.errors++;
        firstError ??= error instanceof Error ? error.message : String(error);
        await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      const reader = rawReader(conn);
      try {
        for (;;) {
          const sentAt = performance.now();
          if (sentAt >= end) break;
          const counted = sentAt >= windowStart;
          await writeAll(conn, request);
          const head = await readHead(reader);
          if (head === undefined) throw new Error("connection closed before the response");
          await skipBody(reader, head);
          if (head.status === 200) {
            if (counted) {
              window.requests++;
              window.items += items;
            }
          } else {
            if (counted) window.errors++;
            firstError ??= `HTTP ${head.status}`;
          }
          if (head.close) break;
        }
      } catch (error) {
        if (performance.now() < end) window.errors++;
        firstError ??= error instanceof Error ? error.message : String(error);
      } finally {
        try {
          conn.close();
        } catch {
          // Already closed by the failure.
        }
      }
    }
  }

  const connections = Number(values.connections);
  await Promise.all(Array.from({ length: connections }, (_, i) => connection(i)));
  const first = requests[0]!;
  const result: RawGenResult = {
    window,
    request: { bytes: first.bytes.length, bodyBytes: first.bodyBytes, items },
    connects,
    ...(firstError === undefined ? {} : { firstError }),
  };
  console.log(JSON.stringify(result));
  Deno.exit(0);
}

if (import.meta.main) await main();
