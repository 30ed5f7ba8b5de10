/**
 * `Payload.peek` gives the decoded data without keeping it (a payload over protobuf decodes
 * afresh each time and stays encoded), and gives the held data when the payload has it.
 */
import assert from "node:assert/strict";
import { encodeMetricsRequest, OTLP_SIGNALS } from "../../../lib/otlp/mod.ts";
import { Payload } from "../../../lib/pdata/payload.ts";
import type { MetricsData } from "../../../lib/pdata/types.ts";

const DATA: MetricsData = {
  resourceMetrics: [{
    resource: { attributes: [{ key: "service.name", value: "shop" }], droppedAttributesCount: 0 },
    schemaUrl: "",
    scopeMetrics: [{
      scope: { name: "lib", version: "", attributes: [], droppedAttributesCount: 0 },
      schemaUrl: "",
      metrics: [{
        name: "g",
        description: "",
        unit: "",
        metadata: [],
        data: {
          type: "gauge",
          dataPoints: [{
            attributes: [],
            startTimeUnixNano: 0n,
            timeUnixNano: 1700000000000000000n,
            value: 1.5,
            exemplars: [],
            flags: 0,
          }],
        },
      }],
    }],
  }],
};

Deno.test("payload peek decodes an encoded payload without keeping the decoded form", () => {
  const bytes = encodeMetricsRequest(DATA);
  let decodes = 0;
  const decoder = {
    decode: (b: Uint8Array) => {
      decodes++;
      return OTLP_SIGNALS.metrics.proto.decode(b);
    },
    countItems: (b: Uint8Array) => OTLP_SIGNALS.metrics.proto.countItems(b),
  };
  const p = Payload.fromProto("metrics", bytes, decoder);
  const a = p.peek();
  const b = p.peek();
  assert.equal(decodes, 2, "each peek decodes");
  assert.notEqual(a, b);
  assert.deepEqual(a, DATA);
  assert.equal(p.encodedProto, bytes, "still encoded");
  const read = p.read();
  assert.equal(decodes, 3);
  assert.equal(p.peek(), read, "once read, peek gives the held data");
  assert.equal(decodes, 3);
});

Deno.test("payload peek gives a decoded payload's own data", () => {
  const p = Payload.of("metrics", DATA);
  assert.equal(p.peek(), DATA);
});
