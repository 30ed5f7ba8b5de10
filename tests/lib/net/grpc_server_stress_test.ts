/**
 * The gRPC server (grpc-js on Deno's `node:http2`) must survive what clients do: calls cancelled
 * by their deadline mid-upload, clients killed with large requests in flight, GOAWAY with and
 * without an error code while calls are open, and its own max-connection-age GOAWAY. A Deno
 * process running such a server was seen to abort on
 * `nghttp2_session.c: find_stream_on_goaway_func: Assertion 'stream->closed_next == NULL'`, so
 * the server runs in a child process (`tests/fixtures/grpc_stress/chaos.ts`) and its death fails
 * the test. Set `TFO_GRPC_STRESS_SECONDS` to attack longer than the default.
 */
import assert from "node:assert/strict";
import type { ChaosResult } from "../../fixtures/grpc_stress/chaos.ts";

const CHAOS = new URL("../../fixtures/grpc_stress/chaos.ts", import.meta.url).pathname;
const SECONDS = Deno.env.get("TFO_GRPC_STRESS_SECONDS") ?? "12";

async function chaos(args: string[]): Promise<ChaosResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CHAOS, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  return JSON.parse(text.slice(text.lastIndexOf("\n") + 1)) as ChaosResult;
}

Deno.test("grpc server survives client disconnects, deadlines and GOAWAY under large concurrent calls", async () => {
  const result = await chaos(["--seconds", SECONDS]);
  assert.ok(result.survived, `The gRPC server process died: ${JSON.stringify(result)}`);
  assert.ok(result.requests > 0, "No call reached the server");
  assert.ok(result.rounds > 0);
});

Deno.test("grpc server survives its own max-connection-age GOAWAY with calls in flight", async () => {
  const result = await chaos([
    "--seconds",
    String(Math.ceil(Number(SECONDS) / 2)),
    "--server-goaway",
  ]);
  assert.ok(result.survived, `The gRPC server process died: ${JSON.stringify(result)}`);
  assert.ok(result.requests > 0, "No call reached the server");
});

Deno.test("grpc stress harness reports a server that aborts", async () => {
  const result = await chaos(["--seconds", "10", "--abort-server-after-ms", "1500"]);
  assert.equal(result.survived, false);
  assert.equal(result.exit?.signal, "SIGABRT");
});
