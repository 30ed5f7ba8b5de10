import assert from "node:assert/strict";
import { startHttpServer } from "../../../lib/net/http_server.ts";
import { createLogger } from "../../../lib/telemetry/logger.ts";

const hello = () => new Response("hello");

Deno.test("http server listens on a free port when asked for port 0 and answers", async () => {
  const server = await startHttpServer("127.0.0.1:0", hello);
  try {
    assert.ok(server.port > 0);
    assert.equal(server.hostname, "127.0.0.1");
    assert.equal(server.address, `127.0.0.1:${server.port}`);
    const response = await fetch(`http://127.0.0.1:${server.port}/`);
    assert.equal(await response.text(), "hello");
  } finally {
    await server.shutdown();
  }
});

Deno.test("http server refuses a port in use with a clear error", async () => {
  const first = await startHttpServer("127.0.0.1:0", hello);
  try {
    const endpoint = `127.0.0.1:${first.port}`;
    await assert.rejects(startHttpServer(endpoint, hello), (error: Error) => {
      assert.equal(error.message, `Cannot listen on ${endpoint}: address already in use`);
      assert.ok(error.cause instanceof Deno.errors.AddrInUse);
      return true;
    });
  } finally {
    await first.shutdown();
  }
});

Deno.test("http server shutdown is safe to call twice and frees the port", async () => {
  const server = await startHttpServer("127.0.0.1:0", hello);
  await Promise.all([server.shutdown(), server.shutdown()]);
  await server.shutdown();
  const again = await startHttpServer(`127.0.0.1:${server.port}`, hello);
  await again.shutdown();
});

Deno.test("http server answers 500 when its handler throws", async () => {
  const lines: string[] = [];
  const server = await startHttpServer("127.0.0.1:0", () => {
    throw new Error("boom");
  }, { logger: createLogger({ write: (l) => lines.push(l) }) });
  try {
    const response = await fetch(`http://127.0.0.1:${server.port}/`);
    assert.equal(response.status, 500);
    await response.body?.cancel();
    assert.match(lines.join("\n"), /boom/);
  } finally {
    await server.shutdown();
  }
});

/** True when this machine has an IPv6 loopback to listen on. */
function hasIpv6Loopback(): boolean {
  try {
    Deno.listen({ hostname: "::1", port: 0 }).close();
    return true;
  } catch {
    return false;
  }
}

Deno.test({
  name: "http server serves IPv6 endpoints in brackets",
  // Reported as ignored, not passed, where the machine has no IPv6 loopback (containers often).
  ignore: !hasIpv6Loopback(),
}, async () => {
  const server = await startHttpServer("[::1]:0", hello);
  try {
    assert.equal(server.address, `[::1]:${server.port}`);
    const response = await fetch(`http://[::1]:${server.port}/`);
    assert.equal(await response.text(), "hello");
  } finally {
    await server.shutdown();
  }
});
