/**
 * The `routing` connector in a real graph: routes by resource, span, log and request context,
 * `move` and `copy`, default pipelines, error modes, and the validator's pipeline checks.
 */
import assert from "node:assert/strict";
import { loadConfig } from "../../../../pipelines/config.ts";
import { validateConfig } from "../../../../pipelines/validate.ts";
import { BUILTIN_FACTORIES } from "../../../../components/builtin_factories.ts";
import { routingConfigSchema } from "../../../../components/connector/routing/config.ts";
import { isPermanent } from "../../../../lib/consumer/consumer.ts";
import { OTLP_SIGNALS } from "../../../../lib/otlp/signals.ts";
import { type ClientInfo, Payload } from "../../../../lib/pdata/payload.ts";
import { newResource, newScope, newSpan } from "../../../../lib/pdata/new.ts";
import type { TracesData } from "../../../../lib/pdata/types.ts";
import { createTestKit, spanNamesOf } from "../../../fixtures/graph_kit.ts";
import { recorded, startService } from "../../../fixtures/interop/services.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

function traces(...resources: { env: string; spans: string[] }[]): TracesData {
  return {
    resourceSpans: resources.map((r) => ({
      resource: newResource({ attributes: [{ key: "env", value: r.env }] }),
      schemaUrl: "",
      scopeSpans: [{
        scope: newScope({ name: "s" }),
        schemaUrl: "",
        spans: r.spans.map((name) => newSpan({ name })),
      }],
    })),
  };
}

function yaml(routing: Record<string, unknown>, outs: string[]): string {
  return `
receivers:
  testrcv:
exporters:
${outs.map((o) => `  recorder/${o}:`).join("\n")}
connectors:
  routing: ${JSON.stringify(routing)}
service:
  pipelines:
    traces/in: { receivers: [testrcv], exporters: [routing] }
${
    outs.map((o) => `    traces/${o}: { receivers: [routing], exporters: [recorder/${o}] }`).join(
      "\n",
    )
  }
`;
}

function names(kit: ReturnType<typeof createTestKit>, id: string): string[] {
  return recorded(kit, `recorder/${id}`, "traces").flatMap(spanNamesOf).sort();
}

Deno.test("routing moves resources and spans in table order, copies where asked, and sends the rest to the default pipelines", async () => {
  const kit = createTestKit();
  await using svc = await startService(
    yaml({
      default_pipelines: ["traces/other"],
      table: [
        {
          context: "span",
          condition: 'name == "audit"',
          action: "copy",
          pipelines: ["traces/audit"],
        },
        { condition: 'attributes["env"] == "prod"', pipelines: ["traces/prod"] },
        {
          context: "span",
          statement: 'route() where IsMatch(name, "^slow")',
          pipelines: ["traces/slow"],
        },
        {
          context: "span",
          condition: 'name == "never"',
          pipelines: ["traces/prod"],
        },
      ],
    }, ["audit", "prod", "slow", "other"]),
    { kit },
  );
  await kit.receivers.get("testrcv")!.push(Payload.of(
    "traces",
    traces(
      { env: "prod", spans: ["a", "audit", "slow-1"] },
      { env: "dev", spans: ["b", "slow-2", "audit"] },
    ),
  ));
  assert.deepEqual(names(kit, "audit"), ["audit", "audit"]);
  assert.deepEqual(names(kit, "prod"), ["a", "audit", "slow-1"]);
  assert.deepEqual(names(kit, "slow"), ["slow-2"]);
  assert.deepEqual(names(kit, "other"), ["audit", "b"]);
  void svc;
});

Deno.test("routing by request context: a header, or the authenticated tenant", async () => {
  const kit = createTestKit();
  await using svc = await startService(
    yaml({
      default_pipelines: ["traces/other"],
      table: [
        {
          context: "request",
          condition: 'request["auth.tenant.id"] == "acme"',
          pipelines: ["traces/acme"],
        },
        {
          context: "request",
          condition: 'request["X-Tenant"] == "globex"',
          pipelines: ["traces/globex"],
        },
      ],
    }, ["acme", "globex", "other"]),
    { kit },
  );
  const client = (
    auth: Record<string, string>,
    metadata: Record<string, string[]>,
  ): ClientInfo => ({
    auth: new Map(Object.entries(auth)),
    metadata: new Map(Object.entries(metadata)),
  });
  const push = (c: ClientInfo, span: string) =>
    kit.receivers.get("testrcv")!.push(
      Payload.of("traces", traces({ env: "x", spans: [span] }), c),
    );
  await push(client({ "tenant.id": "acme" }, {}), "one");
  // A client claiming the tenant in a header does not become it.
  await push(client({}, { "auth.tenant.id": ["acme"], "x-tenant": ["globex"] }), "two");
  await push(client({ "tenant.id": "other" }, {}), "three");
  assert.deepEqual(names(kit, "acme"), ["one"]);
  assert.deepEqual(names(kit, "globex"), ["two"]);
  assert.deepEqual(names(kit, "other"), ["three"]);
  void svc;
});

Deno.test("routing passes an untouched payload on as it came, encoded form included", async () => {
  const kit = createTestKit();
  await using svc = await startService(
    yaml({ table: [{ condition: "true", pipelines: ["traces/all"] }] }, ["all"]),
    { kit },
  );
  const bytes = OTLP_SIGNALS.traces.encodeProto(traces({ env: "a", spans: ["x"] }));
  await kit.receivers.get("testrcv")!.push(
    Payload.fromProto("traces", bytes, OTLP_SIGNALS.traces.proto),
  );
  const got = kit.recordings.get("recorder/all")!.payloads;
  assert.equal(got.length, 1);
  assert.deepEqual(got[0]!.encodedProto, bytes);
  assert.deepEqual(spanNamesOf(got[0]!.read() as TracesData), ["x"]);
  void svc;
});

Deno.test("routing error_mode: propagate refuses the payload, ignore routes it to the default", async () => {
  for (const mode of ["propagate", "ignore"] as const) {
    const kit = createTestKit();
    await using svc = await startService(
      yaml({
        error_mode: mode,
        default_pipelines: ["traces/other"],
        table: [{
          condition: 'IsMatch(ToLowerCase(attributes["missing"]), "x")',
          pipelines: ["traces/m"],
        }],
      }, ["m", "other"]),
      { kit },
    );
    const push = kit.receivers.get("testrcv")!.push(
      Payload.of("traces", traces({ env: "a", spans: ["x"] })),
    );
    if (mode === "propagate") {
      await assert.rejects(push, (e) => isPermanent(e) || /could not evaluate/.test(String(e)));
      assert.deepEqual(names(kit, "other"), []);
    } else {
      await push;
      assert.deepEqual(names(kit, "other"), ["x"]);
    }
    void svc;
  }
});

Deno.test("routing config: the Collector's checks, and pipelines checked by the validator", async () => {
  const issues = (c: unknown) => {
    const r = routingConfigSchema.safeParse(c);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
  };
  assert.match(issues({})[0]!, /table is empty/);
  assert.match(issues({ table: [{ pipelines: ["traces"] }] })[0]!, /no condition or statement/);
  assert.match(
    issues({ table: [{ condition: "true", statement: "route()", pipelines: ["traces"] }] })[0]!,
    /both/,
  );
  assert.match(issues({ table: [{ condition: "true" }] })[0]!, /no pipelines/);
  assert.match(
    issues({
      table: [{ context: "request", condition: 'request["a"] = "b"', pipelines: ["t"] }],
    })[0]!,
    /comparator/,
  );
  assert.match(
    issues({ table: [{ statement: 'set(attributes["a"], 1)', pipelines: ["t"] }] })[0]!,
    /only route\(\)/,
  );
  assert.match(
    issues({ table: [{ condition: "nope(", pipelines: ["t"] }] })[0]!,
    /^table\.0\.condition/,
  );
  assert.match(
    issues({ match_once: true, table: [{ condition: "true", pipelines: ["t"] }] })[0]!,
    /removed/,
  );

  const text = yaml({
    default_pipelines: ["traces/missing"],
    table: [{ context: "log", condition: "true", pipelines: ["traces/a"] }],
  }, ["a"]).replace("recorder/a:", "debug/a:").replace("[recorder/a]", "[debug/a]");
  const { raw } = await loadConfig({ files: [], texts: [{ name: "r.yaml", text }] });
  const result = validateConfig(raw!, BUILTIN_FACTORIES.filter((f) => f.type !== "testrcv"));
  const messages = result.diagnostics.filter((d) => d.severity === "error").map((d) => d.message);
  assert.ok(messages.some((m) => /traces\/missing" does not receive/.test(m)), messages.join("\n"));
  assert.ok(messages.some((m) => /context "log" never applies/.test(m)), messages.join("\n"));
});
