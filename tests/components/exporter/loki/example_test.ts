/** The loki exporter's example config validates as shipped. */
import assert from "node:assert/strict";
import { main } from "../../../../main.ts";

Deno.test("components/exporter/loki/example.yaml is a valid config", async () => {
  const path =
    new URL("../../../../components/exporter/loki/example.yaml", import.meta.url).pathname;
  const err: string[] = [];
  const code = await main(["validate", "--config", path], {
    io: { out: () => {}, err: (t) => err.push(t) },
  });
  assert.equal(code, 0, err.join("\n"));
});
