import assert from "node:assert/strict";
import { startHttpServer } from "../../../../lib/net/http_server.ts";

Deno.test("a response marked transfer-encoding: chunked is streamed as it is produced", async () => {
  const second = Promise.withResolvers<void>();
  const server = await startHttpServer("127.0.0.1:0", () => {
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(new TextEncoder().encode("first\n"));
        await second.promise;
        controller.enqueue(new TextEncoder().encode("second\n"));
        controller.close();
      },
    });
    return new Response(body, { headers: { "transfer-encoding": "chunked" } });
  }, { writeTimeoutMs: 0 });
  try {
    const response = await fetch(`http://127.0.0.1:${server.port}/`);
    assert.equal(response.headers.get("transfer-encoding"), "chunked");
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    // The first chunk arrives while the handler still holds the second back.
    assert.equal((await reader.read()).value, "first\n");
    second.resolve();
    assert.equal((await reader.read()).value, "second\n");
    assert.equal((await reader.read()).done, true);
  } finally {
    await server.shutdown();
  }
});
