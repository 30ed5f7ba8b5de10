import assert from "node:assert/strict";
import { otlpReceiverFactory } from "../../../../components/receiver/otlp/factory.ts";
import { makeReceiver, recorder, startHarness, testHost, tracesProto } from "./_helpers.ts";
import { freePort } from "../../../fixtures/interop/services.ts";

const PB = { "content-type": "application/x-protobuf" };

Deno.test("otlp receiver fails start clearly when its http port is in use", async () => {
  using blocker = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = blocker.addr.port;
  const receiver = makeReceiver(
    { protocols: { http: { endpoint: `127.0.0.1:${port}` } } },
    { traces: recorder() },
  );
  await assert.rejects(
    receiver.start(testHost()),
    new Error(
      `Cannot start receiver "otlp": cannot listen on 127.0.0.1:${port}: address already in use`,
    ),
  );
  await receiver.shutdown();
});

Deno.test("otlp receiver fails start clearly when its grpc port is in use, and frees http", async () => {
  using blocker = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = blocker.addr.port;
  // Find a free port for http, then make sure it is released after the failed start.
  const httpPort = freePort();
  const receiver = makeReceiver(
    {
      protocols: {
        grpc: { endpoint: `127.0.0.1:${port}` },
        http: { endpoint: `127.0.0.1:${httpPort}` },
      },
    },
    { traces: recorder() },
  );
  await assert.rejects(
    receiver.start(testHost()),
    (error: Error) => {
      assert.equal(
        error.message,
        `Cannot start receiver "otlp": cannot listen on 127.0.0.1:${port}: address already in use`,
      );
      return true;
    },
  );
  using again = Deno.listen({ hostname: "127.0.0.1", port: httpPort });
  assert.equal(again.addr.port, httpPort);
});

Deno.test("otlp receiver shutdown is safe without start and twice", async () => {
  const unstarted = makeReceiver({ protocols: { grpc: null, http: null } }, {});
  await unstarted.shutdown();
  await unstarted.shutdown();

  const h = await startHarness();
  await h.receiver.shutdown();
  await h.receiver.shutdown();
  await assert.rejects(fetch(`${h.httpBase}/v1/traces`, { method: "POST" }));
});

Deno.test("otlp receiver shutdown lets requests in progress finish", async () => {
  const h = await startHarness({ http: null });
  h.sinks.traces.delayMs = 200;
  const inFlight = fetch(`${h.httpBase}/v1/traces`, {
    method: "POST",
    body: tracesProto("late"),
    headers: PB,
  });
  await new Promise((r) => setTimeout(r, 50));
  const stopped = h.receiver.shutdown();
  const res = await inFlight;
  await res.body?.cancel();
  assert.equal(res.status, 200);
  await stopped;
  assert.equal(h.sinks.traces.payloads.length, 1);
});

Deno.test("otlp receiver fails start when its authenticator extension is missing or no authenticator", async () => {
  const receiver = makeReceiver(
    {
      protocols: { http: { endpoint: "127.0.0.1:0", auth: { authenticator: "bearertokenauth" } } },
    },
    { traces: recorder() },
  );
  await assert.rejects(
    receiver.start(testHost()),
    /Cannot start receiver "otlp": protocols\.http\.auth names authenticator "bearertokenauth", which is not defined as an extension/,
  );
  await receiver.shutdown();

  const withExt = makeReceiver(
    {
      protocols: { http: { endpoint: "127.0.0.1:0", auth: { authenticator: "bearertokenauth" } } },
    },
    { traces: recorder() },
  );
  await assert.rejects(
    withExt.start(testHost({
      bearertokenauth: { start: () => Promise.resolve(), shutdown: () => Promise.resolve() },
    })),
    /Cannot start receiver "otlp": protocols\.http\.auth: the extension "bearertokenauth" is not a server authenticator/,
  );
  await withExt.shutdown();
});

Deno.test("otlp receiver fails start clearly when a TLS file is missing", async () => {
  const receiver = makeReceiver(
    {
      protocols: {
        grpc: {
          endpoint: "127.0.0.1:0",
          tls: { cert_file: "/nonexistent/cert.pem", key_file: "/nonexistent/key.pem" },
        },
      },
    },
    { traces: recorder() },
  );
  await assert.rejects(
    receiver.start(testHost()),
    /Cannot start receiver "otlp": cannot read protocols\.grpc\.tls\.cert_file "\/nonexistent\/cert\.pem"/,
  );
});

Deno.test("otlp receiver factory declares its type, signals and defaults", () => {
  assert.equal(otlpReceiverFactory.type, "otlp");
  assert.equal(otlpReceiverFactory.kind, "receiver");
  assert.deepEqual(Object.keys(otlpReceiverFactory.signals).sort(), ["logs", "metrics", "traces"]);
});
