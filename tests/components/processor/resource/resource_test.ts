import assert from "node:assert/strict";
import { resourceConfigSchema } from "../../../../components/processor/resource/config.ts";
import {
  createResourceProcessor,
  resourceFactory,
} from "../../../../components/processor/resource/factory.ts";
import type { KeyValue } from "../../../../lib/pdata/types.ts";
import {
  ALL_SIGNALS,
  clientOf,
  dataOf,
  itemAttributes,
  payloadOf,
  record,
  resourceAttributes,
  sink,
} from "../attributes/_data.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

const kv = (key: string, value: KeyValue["value"]): KeyValue => ({ key, value });

for (const signal of ALL_SIGNALS) {
  Deno.test(`resource processor runs every action on ${signal} resources only`, async () => {
    const config = resourceConfigSchema.parse({
      attributes: [
        { key: "deployment.environment", action: "insert", value: "prod" },
        { key: "service.name", action: "update", value: "renamed" },
        { key: "tenant.id", action: "upsert", from_context: "auth.tenant.id" },
        { key: "host.ip", action: "delete" },
        { key: "user.email", action: "hash" },
        {
          key: "k8s.pod.name",
          action: "extract",
          pattern: "^(?<k8s_deployment>.+)-[a-z0-9]+-[a-z0-9]+$",
        },
        { key: "replicas", action: "convert", converted_type: "int" },
        { key: "copy", action: "insert", from_attribute: "service.name" },
      ],
    });
    const out = sink<typeof signal>();
    const p = createResourceProcessor(config, signal, out);
    assert.equal(p.mutatesData, true);
    const data = dataOf(signal, {
      resource: [
        kv("service.name", "svc"),
        kv("tenant.id", "claimed"),
        kv("host.ip", "10.0.0.1"),
        kv("user.email", "a@b.c"),
        kv("k8s.pod.name", "web-5d9c7b-x2x4z"),
        kv("replicas", "3"),
      ],
      attributes: [kv("service.name", "item")],
    });
    await p.consume(payloadOf(signal, data, clientOf({}, { "tenant.id": "t-9" })));
    const read = out.payloads[0]!.read();
    const [res] = resourceAttributes(signal, read).map(record);
    const digest = new Uint8Array(
      await crypto.subtle.digest("SHA-256", new TextEncoder().encode("a@b.c")),
    );
    assert.deepEqual(res, {
      "service.name": "renamed",
      "tenant.id": "t-9",
      "user.email": [...digest].map((b) => b.toString(16).padStart(2, "0")).join(""),
      "k8s.pod.name": "web-5d9c7b-x2x4z",
      replicas: 3n,
      "deployment.environment": "prod",
      k8s_deployment: "web",
      copy: "renamed",
    });
    assert.deepEqual(itemAttributes(signal, read).map(record), [{ "service.name": "item" }]);
  });
}

Deno.test("resource processor config requires attributes and validates each action", () => {
  assert.equal(resourceConfigSchema.safeParse({}).success, false);
  const r = resourceConfigSchema.safeParse({
    attributes: [{ key: "a", action: "upsert" }, {
      key: "b",
      action: "convert",
      converted_type: "float",
    }],
  });
  assert.equal(r.success, false);
  const paths = r.error!.issues.map((i) => i.path.join("."));
  assert.ok(paths.includes("attributes.0.value"), paths.join(", "));
  assert.ok(paths.includes("attributes.1.converted_type"), paths.join(", "));
  assert.equal(resourceFactory.type, "resource");
});
