import assert from "node:assert/strict";
import { attributesConfigSchema } from "../../../../components/processor/attributes/config.ts";
import {
  attributesFactory,
  createAttributesProcessor,
} from "../../../../components/processor/attributes/factory.ts";
import { type ClientInfo, NO_CLIENT } from "../../../../lib/pdata/payload.ts";
import type { KeyValue, Signal } from "../../../../lib/pdata/types.ts";
import {
  ALL_SIGNALS,
  clientOf,
  dataOf,
  itemAttributes,
  type ItemSpec,
  payloadOf,
  record,
  sink,
} from "./_data.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

async function run(
  config: unknown,
  signal: Signal,
  specs: ItemSpec[],
  client: ClientInfo = NO_CLIENT,
): Promise<Record<string, unknown>[]> {
  const out = sink();
  const p = createAttributesProcessor(attributesConfigSchema.parse(config), signal, out);
  await p.start({ getExtension: () => undefined, status: () => "running" });
  await p.consume(payloadOf(signal, dataOf(signal, ...specs), client));
  await p.shutdown();
  assert.equal(out.payloads.length, 1);
  return itemAttributes(signal, out.payloads[0]!.read()).map(record);
}

async function sha256(bytes: Uint8Array<ArrayBuffer> | string): Promise<string> {
  const data = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const kv = (key: string, value: KeyValue["value"]): KeyValue => ({ key, value });

for (const signal of ALL_SIGNALS) {
  Deno.test(`attributes processor inserts, updates and upserts on ${signal}`, async () => {
    const config = {
      actions: [
        { key: "new", action: "insert", value: "n" },
        { key: "kept", action: "insert", value: "overwritten?" },
        { key: "kept", action: "update", value: 7 },
        { key: "absent", action: "update", value: "never" },
        { key: "up1", action: "upsert", value: 1.5 },
        { key: "copy", action: "upsert", from_attribute: "kept" },
        { key: "none", action: "insert", from_attribute: "missing" },
        { key: "list", action: "insert", value: ["a", 1, true] },
        { key: "map", action: "INSERT", value: { x: "y" } },
      ],
    };
    const [attrs] = await run(config, signal, [{ attributes: [kv("kept", "old")] }]);
    assert.deepEqual(attrs, {
      new: "n",
      kept: 7n,
      up1: 1.5,
      copy: 7n,
      list: ["a", 1n, true],
      map: { kvlist: [{ key: "x", value: "y" }] },
    });
  });

  Deno.test(`attributes processor deletes by key and by pattern on ${signal}`, async () => {
    const config = {
      actions: [
        { key: "a", action: "delete" },
        { action: "delete", pattern: "^secret\\." },
      ],
    };
    const [attrs] = await run(config, signal, [{
      attributes: [
        kv("a", 1n),
        kv("secret.x", "1"),
        kv("b", "2"),
        kv("secret.y", "3"),
        kv("x.secret.z", "4"),
      ],
    }]);
    assert.deepEqual(attrs, { b: "2", "x.secret.z": "4" });
  });

  Deno.test(`attributes processor hashes with SHA-256 like the Collector on ${signal}`, async () => {
    const config = {
      actions: [
        { key: "email", action: "hash" },
        { action: "hash", pattern: "^n\\." },
        { key: "empty", action: "hash" },
      ],
    };
    const [attrs] = await run(config, signal, [{
      attributes: [
        kv("email", "ana@example.com"),
        kv("n.int", -2n),
        kv("n.double", 1.25),
        kv("n.bool", true),
        kv("n.false", false),
        kv("empty", ""),
        kv("other", "plain"),
      ],
    }]);
    const int = new DataView(new ArrayBuffer(8));
    int.setBigInt64(0, -2n, true);
    const dbl = new DataView(new ArrayBuffer(8));
    dbl.setFloat64(0, 1.25, true);
    assert.deepEqual(attrs, {
      email: await sha256("ana@example.com"),
      "n.int": await sha256(new Uint8Array(int.buffer)),
      "n.double": await sha256(new Uint8Array(dbl.buffer)),
      "n.bool": await sha256(new Uint8Array([1])),
      "n.false": await sha256(new Uint8Array([0])),
      empty: "",
      other: "plain",
    });
  });

  Deno.test(`attributes processor extracts named groups on ${signal}`, async () => {
    const config = {
      actions: [
        {
          key: "url",
          action: "extract",
          pattern: "^/api/(?P<version>v\\d+)/(?<resource>\\w+)(?:/(?<id>\\d+))?",
        },
        { key: "n", action: "extract", pattern: "(?<never>x)" },
      ],
    };
    const [a, b] = await run(config, signal, [
      { attributes: [kv("url", "/api/v2/users/42"), kv("version", "old"), kv("n", 5n)] },
      { attributes: [kv("url", "/api/v1/orders")] },
    ]);
    assert.deepEqual(a, {
      url: "/api/v2/users/42",
      version: "v2",
      resource: "users",
      id: "42",
      n: 5n,
    });
    assert.deepEqual(b, { url: "/api/v1/orders", version: "v1", resource: "orders", id: "" });
  });

  Deno.test(`attributes processor converts types and leaves failures alone on ${signal}`, async () => {
    const config = {
      actions: [
        ...["i1", "i2", "i3", "i4", "i5", "i6", "i7"].map((key) => ({
          key,
          action: "convert",
          converted_type: "int",
        })),
        ...["d1", "d2", "d3", "d4", "d5"].map((key) => ({
          key,
          action: "convert",
          converted_type: "double",
        })),
        ...["s1", "s2", "s3", "s4", "s5"].map((key) => ({
          key,
          action: "convert",
          converted_type: "string",
        })),
      ],
    };
    const [attrs] = await run(config, signal, [{
      attributes: [
        kv("i1", "-42"),
        kv("i2", -3.9),
        kv("i3", true),
        kv("i4", "4.5"),
        kv("i5", "9223372036854775808"),
        kv("i6", NaN),
        kv("i7", " 1"),
        kv("d1", 3n),
        kv("d2", "1e3"),
        kv("d3", "abc"),
        kv("d4", false),
        kv("d5", "-Inf"),
        kv("s1", 12n),
        kv("s2", 1e21),
        kv("s3", 0.5),
        kv("s4", true),
        kv("s5", 1e-7),
      ],
    }]);
    assert.equal(attrs!.i1, -42n);
    assert.equal(attrs!.i2, -3n);
    assert.equal(attrs!.i3, 1n);
    assert.equal(attrs!.i4, "4.5", "not an integer string: left alone");
    assert.equal(attrs!.i5, "9223372036854775808", "out of int64 range: left alone");
    assert.ok(Number.isNaN(attrs!.i6), "NaN cannot become an int");
    assert.equal(attrs!.i7, " 1", "Go's ParseInt does not trim");
    assert.equal(attrs!.d1, 3);
    assert.equal(attrs!.d2, 1000);
    assert.equal(attrs!.d3, "abc");
    assert.equal(attrs!.d4, 0);
    assert.equal(attrs!.d5, -Infinity);
    assert.equal(attrs!.s1, "12");
    assert.equal(attrs!.s2, "1000000000000000000000");
    assert.equal(attrs!.s3, "0.5");
    assert.equal(attrs!.s4, "true");
    assert.equal(attrs!.s5, "0.0000001");
  });

  Deno.test(`attributes processor takes values from the request context on ${signal}`, async () => {
    const config = {
      actions: [
        { key: "tenant", action: "upsert", from_context: "auth.tenant.id" },
        { key: "team", action: "insert", from_context: "metadata.X-Team" },
        { key: "legacy", action: "insert", from_context: "x-team" },
        { key: "peer", action: "insert", from_context: "client.address" },
        { key: "nothing", action: "insert", from_context: "metadata.absent" },
        { key: "noauth", action: "insert", from_context: "auth.absent" },
      ],
    };
    const client = clientOf({ "x-team": ["red", "blue"] }, { "tenant.id": "t-1" }, "10.0.0.7:4317");
    const [attrs] = await run(config, signal, [{ attributes: [kv("tenant", "claimed")] }], client);
    assert.deepEqual(attrs, {
      tenant: "t-1",
      team: "red;blue",
      legacy: "red;blue",
      peer: "10.0.0.7",
    });
    const [v6] = await run(config, signal, [{}], clientOf({}, {}, "[::1]:9000"));
    assert.deepEqual(v6, { peer: "::1" });
  });

  Deno.test(`attributes processor runs actions in order on ${signal}`, async () => {
    const config = {
      actions: [
        { key: "b", action: "insert", from_attribute: "a" },
        { key: "a", action: "delete" },
        { key: "c", action: "insert", from_attribute: "a" },
        { key: "b", action: "hash" },
      ],
    };
    const [attrs] = await run(config, signal, [{ attributes: [kv("a", "x")] }]);
    assert.deepEqual(attrs, { b: await sha256("x") });
  });
}

const MARK = [{ key: "hit", action: "insert", value: true }];

Deno.test("attributes processor include by services and span names (strict)", async () => {
  const config = {
    actions: MARK,
    include: {
      match_type: "strict",
      services: ["checkout"],
      span_names: ["GET /pay", "POST /pay"],
    },
  };
  const svc = (name: string) => [kv("service.name", name)];
  const hits = await run(config, "traces", [
    { resource: svc("checkout"), name: "GET /pay" },
    { resource: svc("checkout"), name: "GET /cart" },
    { resource: svc("cart"), name: "GET /pay" },
    { name: "GET /pay" },
  ]);
  assert.deepEqual(hits.map((h) => h.hit === true), [true, false, false, false]);
});

Deno.test("attributes processor include by regexp is unanchored like Go", async () => {
  const config = {
    actions: MARK,
    include: { match_type: "regexp", span_names: ["pay"], span_kinds: ["SERVER|CLIENT"] },
  };
  const hits = await run(config, "traces", [
    { name: "GET /pay", kind: 2 },
    { name: "GET /pay", kind: 1 },
    { name: "GET /cart", kind: 3 },
  ]);
  assert.deepEqual(hits.map((h) => h.hit === true), [true, false, false]);
});

Deno.test("attributes processor exclude by attributes and resources, strict and regexp", async () => {
  const strict = {
    actions: MARK,
    exclude: {
      match_type: "strict",
      attributes: [{ key: "http.status_code", value: 200 }, { key: "internal" }],
    },
  };
  const hits = await run(strict, "traces", [
    { attributes: [kv("http.status_code", 200n), kv("internal", false)] },
    { attributes: [kv("http.status_code", 200n)] },
    { attributes: [kv("http.status_code", "200"), kv("internal", true)] },
  ]);
  assert.deepEqual(hits.map((h) => h.hit === true), [false, true, true], "typed equality");

  const regexp = {
    actions: MARK,
    exclude: { match_type: "regexp", resources: [{ key: "host.name", value: "^test-" }] },
  };
  const logs = await run(regexp, "logs", [
    { resource: [kv("host.name", "test-1")] },
    { resource: [kv("host.name", "prod-1")] },
    { resource: [] },
  ]);
  assert.deepEqual(logs.map((h) => h.hit === true), [false, true, true]);

  const numeric = {
    actions: MARK,
    include: { match_type: "regexp", attributes: [{ key: "code", value: "^5\\d\\d$" }] },
  };
  const metrics = await run(numeric, "metrics", [
    { attributes: [kv("code", 503n)] },
    { attributes: [kv("code", 200n)] },
  ]);
  assert.deepEqual(metrics.map((h) => h.hit === true), [true, false]);
});

Deno.test("attributes processor include by libraries with and without version", async () => {
  const config = {
    actions: MARK,
    include: { match_type: "strict", libraries: [{ name: "http" }, { name: "db", version: "2" }] },
  };
  const hits = await run(config, "logs", [
    { scope: { name: "http", version: "9" } },
    { scope: { name: "db", version: "2" } },
    { scope: { name: "db", version: "1" } },
  ]);
  assert.deepEqual(hits.map((h) => h.hit === true), [true, true, false]);
});

Deno.test("attributes processor include by log bodies, severity text and number", async () => {
  const config = {
    actions: MARK,
    include: {
      match_type: "regexp",
      log_bodies: ["timeout"],
      log_severity_texts: ["^(WARN|ERROR)$"],
      log_severity_number: { min: "WARN", match_undefined: true },
    },
  };
  const hits = await run(config, "logs", [
    { name: "db timeout", severity: ["ERROR", 17] },
    { name: "db timeout", severity: ["WARN", 0] },
    { name: "db timeout", severity: ["WARN", 9] },
    { name: "ok", severity: ["ERROR", 17] },
  ]);
  assert.deepEqual(hits.map((h) => h.hit === true), [true, true, false, false]);
});

Deno.test("attributes processor include by metric names and exclude by point attributes", async () => {
  const config = {
    actions: MARK,
    include: { match_type: "strict", metric_names: ["http.requests"] },
    exclude: { match_type: "strict", attributes: [{ key: "skip", value: true }] },
  };
  const hits = await run(config, "metrics", [
    { name: "http.requests" },
    { name: "http.requests", attributes: [kv("skip", true)] },
    { name: "cpu" },
  ]);
  assert.deepEqual(hits.map((h) => h.hit === true), [true, false, false]);
});

Deno.test("attributes processor refuses match properties of another signal at create", () => {
  const config = attributesConfigSchema.parse({
    actions: MARK,
    include: { match_type: "strict", span_names: ["x"] },
  });
  assert.throws(() => createAttributesProcessor(config, "logs", sink()), /span_names.*traces only/);
});

Deno.test("attributes processor config reports every bad action with its path", () => {
  const result = attributesConfigSchema.safeParse({
    actions: [
      { key: "a", action: "insert" },
      { key: "b", action: "extract" },
      { key: "c", action: "delete", pattern: "(" },
      { key: "d", action: "extract", pattern: "(\\d+)-(?<x>\\w)" },
      { key: "e", action: "convert" },
      { key: "f", action: "upsert", value: 1, from_attribute: "g" },
      { key: "h", action: "rename" },
      { action: "update", value: 1 },
      { key: "i", action: "hash", value: 2 },
      { key: "j", action: "extract", pattern: "x" },
      { key: "k", action: "insert", value: 1, bogus: true },
    ],
    include: { match_type: "regexp", span_names: ["["], attributes: [{ key: "n", value: 5 }] },
    exclude: { match_type: "fuzzy" },
  });
  assert.equal(result.success, false);
  const paths = result.error!.issues.map((i) => i.path.join("."));
  for (
    const expected of [
      "actions.0.value",
      "actions.1.pattern",
      "actions.2.pattern",
      "actions.3.pattern",
      "actions.4.converted_type",
      "actions.5.from_attribute",
      "actions.6.action",
      "actions.7.key",
      "actions.8.value",
      "actions.9.pattern",
      "actions.10",
      "include.span_names.0",
      "include.attributes.0.value",
      "exclude.match_type",
    ]
  ) {
    assert.ok(
      paths.includes(expected),
      `expected an issue at ${expected}; got ${paths.join(", ")}`,
    );
  }
  assert.equal(attributesConfigSchema.safeParse({}).success, false, "actions are required");
  assert.equal(
    attributesConfigSchema.safeParse({ actions: MARK, include: { match_type: "strict" } }).success,
    false,
    "an include block must name something to match",
  );
});

Deno.test("attributes processor factory declares mutation and every signal", () => {
  assert.equal(attributesFactory.type, "attributes");
  assert.deepEqual(Object.keys(attributesFactory.signals).sort(), ["logs", "metrics", "traces"]);
  const p = createAttributesProcessor(
    attributesConfigSchema.parse({ actions: MARK }),
    "traces",
    sink(),
  );
  assert.equal(p.mutatesData, true);
});

Deno.test("attributes processor does not share inserted list values between items", async () => {
  const out = sink<"traces">();
  const p = createAttributesProcessor(
    attributesConfigSchema.parse({ actions: [{ key: "l", action: "insert", value: ["a"] }] }),
    "traces",
    out,
  );
  await p.consume(payloadOf("traces", dataOf("traces", {}, {})));
  const [a, b] = itemAttributes("traces", out.payloads[0]!.read());
  (a![0]!.value as string[]).push("mutated");
  assert.deepEqual(b![0]!.value, ["a"]);
});
