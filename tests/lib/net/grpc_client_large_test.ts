/**
 * tfo's gRPC client sends a request given as parts (an encoded batch as it was merged) to a real
 * gRPC server (grpc-js, in a child process) byte-exact: lengths past one byte and past 16 MiB in
 * the message prefix, bodies across many 16 KiB DATA frames and past the 64 KiB initial window,
 * uncompressed and gzip.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { GrpcClient } from "../../../lib/net/grpc_client.ts";
import { startGrpcJsServer } from "../../fixtures/grpc_stress/grpcjs_server_process.ts";
import { patternBytes } from "../../fixtures/pattern_bytes.ts";

/** Uneven parts of `total` bytes, with empty ones and ones across frame boundaries. */
function partsOf(total: number, seed: number): Uint8Array[] {
  const sizes = [0, 1, 16_383, 0, 16_385, 65_537, 300, 1_000_003];
  const parts: Uint8Array[] = [];
  let left = total;
  for (let i = 0; left > 0; i++) {
    const n = Math.min(left, sizes[i % sizes.length]!);
    parts.push(patternBytes(n, seed + i));
    left -= n;
  }
  return parts;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function sha256(parts: readonly Uint8Array[]): string {
  const hash = createHash("sha256");
  for (const p of parts) hash.update(p);
  return hash.digest("hex");
}

Deno.test("a request in parts arrives byte-exact at a grpc-js server: 300 B, 200 KiB and 17 MiB, plain and gzip", async () => {
  const server = await startGrpcJsServer();
  const { port } = server;
  const clients = (["none", "gzip"] as const).map((compression) =>
    new GrpcClient({ target: `127.0.0.1:${port}`, tls: undefined, compression })
  );
  try {
    for (const client of clients) {
      for (const [i, total] of [300, 200 * 1024, (17 << 20) + 3].entries()) {
        const parts = partsOf(total, 10 * i + 1);
        assert.equal(parts.reduce((n, p) => n + p.length, 0), total);
        const digest = await client.unary("/test.Echo/Digest", parts, { timeoutMs: 60_000 });
        assert.equal(hex(digest), sha256(parts), `${total} bytes`);
      }
      // One array, as before.
      const one = patternBytes(70_000, 99);
      const digest = await client.unary("/test.Echo/Digest", one, { timeoutMs: 60_000 });
      assert.equal(hex(digest), sha256([one]));
    }
  } finally {
    for (const client of clients) client.close();
    await server.stop();
  }
});
