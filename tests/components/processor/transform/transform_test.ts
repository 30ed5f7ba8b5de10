import assert from "node:assert/strict";
import { transformConfigSchema } from "../../../../components/processor/transform/config.ts";
import {
  createTransformProcessor,
  transformFactory,
} from "../../../../components/processor/transform/factory.ts";
import { Payload } from "../../../../lib/pdata/payload.ts";
import type { Signal, SignalData } from "../../../../lib/pdata/types.ts";
import { createErrorHandler } from "../../../../lib/ottl/error_mode.ts";
import { createLogger } from "../../../../lib/telemetry/logger.ts";
import { parseYamlSource } from "../../../../pipelines/_yaml_source.ts";
import { parseNode } from "../../../../pipelines/_schema_issues.ts";
import { logs, metrics, traces } from "./_diff_data.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

function sink<S extends Signal>() {
  const got: SignalData[S][] = [];
  return {
    got,
    consumer: {
      mutatesData: false,
      consume: (p: Payload<S>) => {
        got.push(p.read());
        return Promise.resolve();
      },
    },
  };
}

function logCapture() {
  const lines: string[] = [];
  return { lines, logger: createLogger({ level: "debug", write: (l: string) => lines.push(l) }) };
}

Deno.test("transform runs flat statements with an inferred context and groups in order", async () => {
  const config = transformConfigSchema.parse({
    trace_statements: [
      'set(span.attributes["a"], "1")',
      {
        context: "span",
        conditions: ['name == "health"'],
        statements: ['set(attributes["b"], "2")'],
      },
      'set(resource.attributes["r"], "x")',
    ],
  });
  const s = sink<"traces">();
  const p = createTransformProcessor(config, "traces", s.consumer, logCapture());
  await p.consume(Payload.of("traces", traces()));
  const spans = s.got[0]!.resourceSpans[0]!.scopeSpans[0]!.spans;
  assert.ok(spans.every((sp) => sp.attributes.some((kv) => kv.key === "a")));
  assert.deepEqual(spans.map((sp) => sp.attributes.some((kv) => kv.key === "b")), [
    false,
    true,
    false,
  ]);
  assert.ok(s.got[0]!.resourceSpans[0]!.resource.attributes.some((kv) => kv.key === "r"));
});

Deno.test("transform metric and log statements run on their signal only", async () => {
  const config = transformConfigSchema.parse({
    metric_statements: ['set(metric.name, "renamed") where metric.name == "requests"'],
    log_statements: ['set(log.attributes["seen"], true)'],
  });
  const m = sink<"metrics">();
  await createTransformProcessor(config, "metrics", m.consumer, logCapture()).consume(
    Payload.of("metrics", metrics()),
  );
  assert.ok(
    m.got[0]!.resourceMetrics[0]!.scopeMetrics[0]!.metrics.some((x) => x.name === "renamed"),
  );
  const l = sink<"logs">();
  await createTransformProcessor(config, "logs", l.consumer, logCapture()).consume(
    Payload.of("logs", logs()),
  );
  assert.ok(
    l.got[0]!.resourceLogs[0]!.scopeLogs[0]!.logRecords.every((r) => r.attributes.length > 0),
  );
});

Deno.test("error_mode propagate fails the payload with a permanent error", async () => {
  const config = transformConfigSchema.parse({
    trace_statements: ['set(span.attributes["s"], Substring(span.name, 0, 100))'],
  });
  assert.equal(config.error_mode, "propagate");
  const s = sink<"traces">();
  const p = createTransformProcessor(config, "traces", s.consumer, logCapture());
  await assert.rejects(
    p.consume(Payload.of("traces", traces())),
    (e: Error) => e.name === "PermanentError",
  );
  assert.equal(s.got.length, 0);
});

Deno.test("error_mode ignore logs and goes on; silent does not log; both count", async () => {
  for (const mode of ["ignore", "silent"] as const) {
    const config = transformConfigSchema.parse({
      error_mode: mode,
      trace_statements: [
        'set(span.attributes["s"], Substring(span.name, 0, 100))',
        'set(span.attributes["after"], true)',
      ],
    });
    const s = sink<"traces">();
    const log = logCapture();
    let count = 0;
    const p = createTransformProcessor(config, "traces", s.consumer, {
      logger: log.logger,
      counter: { add: (n: number) => void (count += n) },
    });
    await p.consume(Payload.of("traces", traces()));
    await p.consume(Payload.of("traces", traces()));
    const spans = s.got[0]!.resourceSpans[0]!.scopeSpans[0]!.spans;
    assert.ok(spans.every((sp) => sp.attributes.some((kv) => kv.key === "after")), mode);
    assert.equal(count, 8, `${mode}: 4 spans × 2 payloads fail`);
    assert.equal(log.lines.length, mode === "ignore" ? 1 : 0, `${mode}: logged once per interval`);
  }
});

Deno.test("the error handler logs again after the interval with the number suppressed", () => {
  const lines: string[] = [];
  let now = 0;
  const handle = createErrorHandler("ignore", {
    logger: createLogger({ level: "debug", write: (l: string) => lines.push(l) }),
    intervalMs: 1000,
    now: () => now,
  });
  for (let i = 0; i < 5; i++) handle(new Error("x"), "stmt");
  now = 1500;
  handle(new Error("x"), "stmt");
  assert.equal(lines.length, 2);
  assert.match(lines[1]!, /suppressed_since_last_log.*4/);
});

Deno.test("an OTTL error in the config is an issue with the offset inside the string", () => {
  const text = [
    "trace_statements:",
    '  - set(span.nme, "x")',
    '  - "set(span.name, Concat(\\"a\\"))"',
    "  - |",
    "    set(span.name,",
    "        Nope())",
  ].join("\n");
  const src = parseYamlSource("t.yaml", text);
  const r = parseNode(transformFactory.configSchema, src.node, ["processors", "transform"], {
    file: "t.yaml",
    line: 1,
    col: 1,
  });
  assert.equal(r.ok, false);
  const at = r.diagnostics.map((d) => `${d.line}:${d.col} ${d.path}`).sort();
  assert.deepEqual(at, [
    "2:14 processors.transform.trace_statements[0]",
    "3:21 processors.transform.trace_statements[1]",
    "6:9 processors.transform.trace_statements[2]",
  ]);
});

Deno.test("transform config rejects unknown keys and bad error modes", () => {
  assert.equal(transformConfigSchema.safeParse({ trace_statement: [] }).success, false);
  assert.equal(transformConfigSchema.safeParse({ error_mode: "loud" }).success, false);
  assert.equal(
    transformConfigSchema.safeParse({
      trace_statements: [{ context: "log", statements: ['set(body, "x")'] }],
    })
      .success,
    false,
  );
});
