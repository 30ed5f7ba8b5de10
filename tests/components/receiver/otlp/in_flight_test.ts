import assert from "node:assert/strict";
import { InFlightBytes } from "../../../../lib/net/in_flight_bytes.ts";
import { startHarness, tracesProto } from "./_helpers.ts";

Deno.test("otlp http receiver refuses with 503 and Retry-After once the in-flight bound is spent", async () => {
  // Bodies of about 60 KiB against a 1 MiB bound: at most 17 are held while the pipeline is slow.
  const inFlight = new InFlightBytes(1024 * 1024);
  await using h = await startHarness({ http: null }, ["traces"], { inFlight });
  h.sinks.traces.delayMs = 1500;
  const body = tracesProto("x".repeat(60 * 1024));
  // Half declare their length (refused before the body is read), half stream it (charged once read).
  const send = async (streamed: boolean) => {
    const res = await fetch(`${h.httpBase}/v1/traces`, {
      method: "POST",
      body: streamed
        ? new ReadableStream<Uint8Array>({
          start(c) {
            c.enqueue(body);
            c.close();
          },
        })
        : body,
      headers: { "content-type": "application/x-protobuf" },
    });
    await res.body?.cancel();
    return { status: res.status, retryAfter: res.headers.get("retry-after") };
  };
  const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => send(i % 2 === 0)));
  const refused = answers.filter((a) => a.status === 503);
  const accepted = answers.filter((a) => a.status === 200);
  assert.equal(accepted.length + refused.length, 60, JSON.stringify(answers.slice(0, 3)));
  assert.ok(refused.length >= 60 - 17, `${refused.length} refused`);
  assert.ok(refused.every((a) => a.retryAfter === "1"));
  assert.ok(inFlight.peak <= inFlight.limit, `held ${inFlight.peak} > ${inFlight.limit}`);
  assert.equal(inFlight.held, 0, "everything is released once answered");
  // Once the held requests are answered, the bound is free again.
  h.sinks.traces.delayMs = 0;
  assert.equal((await send(true)).status, 200);
  assert.equal((await send(false)).status, 200);
});
