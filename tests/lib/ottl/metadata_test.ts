/**
 * OTTL's `metadata` path (the Collector's, in every context, read only): the request metadata of
 * the payload being processed — the receiver's `include_metadata` headers — in `transform`
 * statements and `filter` conditions, so a pipeline can stamp or drop data by the tenant header
 * that carried it.
 */
import assert from "node:assert/strict";
import { transformConfigSchema } from "../../../components/processor/transform/config.ts";
import { createTransformProcessor } from "../../../components/processor/transform/factory.ts";
import { filterConfigSchema } from "../../../components/processor/filter/config.ts";
import { createFilterProcessor } from "../../../components/processor/filter/factory.ts";
import { type ClientInfo, Payload } from "../../../lib/pdata/payload.ts";
import type { TracesData } from "../../../lib/pdata/types.ts";
import { NOOP_LOGGER } from "../../../lib/telemetry/logger.ts";
import { traces } from "../../components/processor/transform/_diff_data.ts";
import { loadConfigLibs } from "../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

function client(headers: Record<string, string>): ClientInfo {
  return {
    metadata: new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), [v, "second"]])),
    auth: new Map(),
  };
}

function capture() {
  const got: TracesData[] = [];
  return {
    got,
    consumer: {
      mutatesData: false,
      consume: (p: Payload<"traces">) => {
        got.push(p.read());
        return Promise.resolve();
      },
    },
  };
}

Deno.test('transform: metadata["key"] reads the request\'s first value for the key, any case', async () => {
  const s = capture();
  const p = createTransformProcessor(
    transformConfigSchema.parse({
      trace_statements: [
        'set(resource.attributes["tenant"], metadata["X-Tenant-Id"])',
        {
          context: "span",
          statements: ['set(attributes["missing"], "yes") where metadata["x-absent"] == nil'],
        },
      ],
    }),
    "traces",
    s.consumer,
    { logger: NOOP_LOGGER },
  );
  await p.consume(Payload.of("traces", traces(), client({ "x-tenant-id": "acme" })));
  const rs = s.got[0]!.resourceSpans[0]!;
  assert.ok(rs.resource.attributes.some((kv) => kv.key === "tenant" && kv.value === "acme"));
  assert.ok(
    rs.scopeSpans[0]!.spans.every((sp) => sp.attributes.some((kv) => kv.key === "missing")),
  );
  // Another request's metadata is its own.
  await p.consume(Payload.of("traces", traces(), client({ "x-tenant-id": "globex" })));
  assert.ok(
    s.got[1]!.resourceSpans[0]!.resource.attributes.some((kv) =>
      kv.key === "tenant" && kv.value === "globex"
    ),
  );
});

Deno.test("filter: a condition on metadata drops the data of one tenant only", async () => {
  const s = capture();
  const p = createFilterProcessor(
    filterConfigSchema.parse({ traces: { span: ['metadata["x-tenant-id"] == "blocked"'] } }),
    "traces",
    s.consumer,
    { logger: NOOP_LOGGER },
  );
  await p.consume(Payload.of("traces", traces(), client({ "x-tenant-id": "blocked" })));
  await p.consume(Payload.of("traces", traces(), client({ "x-tenant-id": "acme" })));
  assert.equal(s.got.length, 1, "the blocked tenant's spans are all dropped");
  assert.ok(s.got[0]!.resourceSpans[0]!.scopeSpans[0]!.spans.length > 0);
});

Deno.test("metadata is read only and takes one string key", () => {
  for (
    const statement of [
      'set(metadata["x"], "y")',
      'set(span.attributes["a"], metadata["x"]["y"])',
      'set(span.attributes["a"], metadata[1])',
    ]
  ) {
    assert.throws(
      () =>
        createTransformProcessor(
          transformConfigSchema.parse({ trace_statements: [statement] }),
          "traces",
          capture().consumer,
          { logger: NOOP_LOGGER },
        ),
      /metadata/,
      statement,
    );
  }
});
