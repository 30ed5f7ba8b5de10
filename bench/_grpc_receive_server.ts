/**
 * The server side of `grpc_receive.ts`: the three OTLP Export methods answering an empty response,
 * served by tfo's own HTTP/2 gRPC server (`tfo`) or by `@grpc/grpc-js` on Deno's `node:http2`
 * (`grpc-js`). Prints `ready <port>`.
 *
 * ```sh
 * deno run -A bench/_grpc_receive_server.ts tfo|grpc-js
 * ```
 *
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import { serveGrpc } from "../lib/net/grpc_server.ts";
import { rawDeserialize, rawSerialize } from "../lib/net/grpc_client.ts";

const METHODS = ["trace.v1.TraceService", "metrics.v1.MetricsService", "logs.v1.LogsService"].map(
  (s) => `/opentelemetry.proto.collector.${s}/Export`,
);
const EMPTY = new Uint8Array(0);
const MAX = 16 * 1024 * 1024;

if (Deno.args[0] === "grpc-js") {
  const server = new grpc.Server({ "grpc.max_receive_message_length": MAX });
  for (const path of METHODS) {
    server.register(
      path,
      (_call: unknown, callback: grpc.sendUnaryData<Uint8Array>) => callback(null, EMPTY),
      rawSerialize,
      rawDeserialize,
      "unary",
    );
  }
  server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, port) => {
    if (error) throw error;
    console.log(`ready ${port}`);
  });
} else {
  const server = await serveGrpc(
    { hostname: "127.0.0.1", port: 0, maxRecvMsgBytes: MAX },
    new Map(METHODS.map((m) => [m, () => Promise.resolve(EMPTY)])),
  );
  console.log(`ready ${server.port}`);
}
