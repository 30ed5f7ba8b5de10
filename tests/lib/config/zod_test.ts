/**
 * The lazy zod facade (`lib/config/zod.ts`): schemas recorded before zod is loaded parse exactly
 * like the same schemas built with the real zod, and nothing that needs the library answers
 * before it is loaded.
 *
 * The recorded schemas and the failures before loading are taken at module evaluation, before any
 * test calls `loadZod()` (importing the real zod below for comparison does not load the facade).
 */
import assert from "node:assert/strict";
import { z as realZ } from "zod";
import {
  isRecorded,
  lazyZ,
  loadZod,
  ROOT_BUILDERS,
  SCHEMA_METHODS,
  zodLoaded,
  ZodNotLoadedError,
} from "../../../lib/config/zod.ts";
import { loadYaml } from "../../../lib/config/yaml.ts";
import { parseNode } from "../../../pipelines/_schema_issues.ts";
import { parseYamlSource } from "../../../pipelines/_yaml_source.ts";

/** The same schemas, built with either `z`: what component configs use. */
function build(z: typeof realZ) {
  const duration = z.string().transform((s, ctx) => {
    const m = /^(\d+)(ms|s)$/.exec(s);
    if (m === null) {
      ctx.addIssue({ code: "custom", message: "must be a duration like 200ms or 5s" });
      return z.NEVER;
    }
    return Number(m[1]) * (m[2] === "s" ? 1000 : 1);
  });
  const tls = z.strictObject({
    insecure: z.boolean().default(false),
    ca_file: z.string().optional(),
  });
  const queue = z.strictObject({
    enabled: z.boolean().default(true),
    queue_size: z.number().int().positive().default(1000),
  });
  const exporter = z.strictObject({
    endpoint: z.string().min(1, "must not be empty"),
    timeout: duration.prefault("5s"),
    tls: tls.prefault({}),
    compression: z.enum(["gzip", "none"], { message: "must be gzip or none" }).default("gzip"),
    headers: z.record(z.string(), z.string()).default({}),
    sending_queue: z.preprocess((v) => v ?? {}, queue),
    retry: queue.default(() => queue.parse({ queue_size: 5 })),
    mode: z.union([z.literal("a"), z.literal("b")]).optional(),
    auth: z.discriminatedUnion("type", [
      z.strictObject({ type: z.literal("basic"), user: z.string() }),
      z.strictObject({ type: z.literal("bearer"), token: z.string() }),
    ]).optional(),
    ports: z.array(z.number().int().min(1).max(65535)).nonempty().optional(),
    when: z.partialRecord(z.enum(["traces", "logs"]), z.boolean()).optional(),
  }).superRefine((c, ctx) => {
    if (c.compression === "none" && c.tls.insecure) {
      ctx.addIssue({ code: "custom", path: ["tls", "insecure"], message: "needs compression" });
    }
  }).transform((c) => ({ ...c, endpointLength: c.endpoint.length }));
  return { exporter, extended: tls.extend({ queue }) };
}

const recorded = build(lazyZ);

/** What each operation that needs the library did before loading. */
function failureOf(op: () => unknown): string {
  try {
    op();
    return "returned";
  } catch (error) {
    return error instanceof ZodNotLoadedError ? "not loaded" : String(error);
  }
}
const beforeLoading = {
  loaded: zodLoaded(),
  isRecorded: isRecorded(recorded.exporter),
  parse: failureOf(() => recorded.exporter.parse({})),
  safeParse: failureOf(() => recorded.exporter.safeParse({})),
  shape: failureOf(() => recorded.extended.shape),
  zod: failureOf(() => (recorded.extended as unknown as { _zod: unknown })._zod),
  def: failureOf(() => recorded.extended.def),
  instanceOf: failureOf(() => recorded.exporter instanceof realZ.ZodType),
  keys: failureOf(() => Object.keys(recorded.extended)),
  has: failureOf(() => "parse" in recorded.extended),
  never: failureOf(() => lazyZ.NEVER),
  zodError: failureOf(() => lazyZ.ZodError),
  rootParse: failureOf(() => lazyZ.safeParse(recorded.exporter, {})),
  metaRead: failureOf(() => recorded.extended.meta()),
  unknownBuilder: failureOf(() => (lazyZ as unknown as { notABuilder: () => unknown }).notABuilder),
};

Deno.test("before loadZod a recorded schema throws for every operation that needs zod", () => {
  assert.deepEqual(beforeLoading, {
    loaded: false,
    isRecorded: true,
    parse: "not loaded",
    safeParse: "not loaded",
    shape: "not loaded",
    zod: "not loaded",
    def: "not loaded",
    instanceOf: "not loaded",
    keys: "not loaded",
    has: "not loaded",
    never: "not loaded",
    zodError: "not loaded",
    rootParse: "not loaded",
    metaRead: "not loaded",
    unknownBuilder: "not loaded",
  });
});

const INPUTS: readonly unknown[] = [
  { endpoint: "h:1" },
  {
    endpoint: "h:1",
    timeout: "250ms",
    tls: { insecure: true },
    compression: "none",
    headers: { a: "b" },
    sending_queue: null,
    retry: { enabled: false },
    mode: "b",
    auth: { type: "bearer", token: "t" },
    ports: [1, 65535],
    when: { logs: true },
  },
  {},
  { endpoint: "" },
  { endpoint: "h", timeout: "soon", typo: 1, tls: { insecure: "yes", extra: true } },
  { endpoint: "h", compression: "zstd", sending_queue: { queue_size: 0 }, mode: "c" },
  { endpoint: "h", auth: { type: "basic" }, ports: [], when: { metrics: true } },
  { endpoint: "h", auth: { type: "digest" }, ports: [0, 1.5, "2"] },
  "not a map",
  null,
];

Deno.test("a schema recorded before loading parses exactly like one built with real zod", async () => {
  await loadZod();
  assert.equal(zodLoaded(), true);
  const real = build(realZ);
  for (const input of INPUTS) {
    const a = recorded.exporter.safeParse(input);
    const b = real.exporter.safeParse(input);
    assert.deepEqual(a.success, b.success, JSON.stringify(input));
    if (a.success && b.success) assert.deepEqual(a.data, b.data);
    else assert.deepEqual(a.error?.issues, b.error?.issues, JSON.stringify(input));
  }
  assert.deepEqual(recorded.extended.parse({ queue: {} }), real.extended.parse({ queue: {} }));
  assert.deepEqual(Object.keys(recorded.extended.shape), ["insecure", "ca_file", "queue"]);
});

Deno.test("tfo validate's positioned diagnostics are the same for a recorded schema", async () => {
  await Promise.all([loadZod(), loadYaml()]);
  const real = build(realZ);
  const text = `endpoint: ""
timeout: soon
typo: 1
tls:
  insecure: "yes"
  extra: true
compression: zstd
auth:
  type: basic
ports: [0, 1.5]
`;
  const node = parseYamlSource("x.yaml", text).node;
  const pos = { file: "x.yaml", line: 1, col: 1 };
  const a = parseNode(recorded.exporter, node, ["exporters", "x"], pos);
  const b = parseNode(real.exporter, node, ["exporters", "x"], pos);
  assert.equal(a.ok, false);
  assert.ok(a.diagnostics.length >= 6, JSON.stringify(a.diagnostics));
  assert.deepEqual(a.diagnostics, b.diagnostics);
});

Deno.test("after loadZod a recorded schema is a zod schema to instanceof, in and keys", async () => {
  await loadZod();
  assert.ok(recorded.exporter instanceof realZ.ZodType);
  assert.ok(recorded.extended instanceof realZ.ZodObject);
  assert.ok("parse" in recorded.extended);
  assert.equal(typeof recorded.extended, "object");
  assert.equal(recorded.extended.def.type, "object");
  assert.ok(Object.keys(recorded.extended).length > 0);
  // Built after loading, through the facade: a real zod object, recorded parts made real.
  const after = lazyZ.strictObject({ tls: recorded.extended });
  assert.equal(isRecorded(after), false);
  assert.equal(isRecorded(after.shape.tls), false);
  assert.ok(lazyZ.ZodError === realZ.ZodError);
});

Deno.test("the recordable builders and methods are zod 4's", () => {
  const z = realZ as unknown as Record<string, unknown>;
  for (const name of ROOT_BUILDERS) assert.equal(typeof z[name], "function", `z.${name}`);
  const samples: unknown[] = [
    realZ.string(),
    realZ.number(),
    realZ.strictObject({}),
    realZ.array(realZ.string()),
    realZ.enum(["a"]),
    realZ.string().optional(),
    realZ.string().default("a"),
  ];
  for (const name of SCHEMA_METHODS) {
    const found = samples.some((s) => typeof (s as Record<string, unknown>)[name] === "function");
    assert.ok(found, `schema.${name}`);
  }
});
