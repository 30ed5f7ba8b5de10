import assert from "node:assert/strict";
import { logstransformConfigSchema } from "../../../../components/processor/logstransform/config.ts";
import { createLogstransformProcessor } from "../../../../components/processor/logstransform/factory.ts";
import { newLogRecord, newResource, newScope } from "../../../../lib/pdata/new.ts";
import { Payload } from "../../../../lib/pdata/payload.ts";
import type { LogsData } from "../../../../lib/pdata/types.ts";
import { NOOP_LOGGER } from "../../../../lib/telemetry/logger.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

function data(...bodies: string[]): LogsData {
  return {
    resourceLogs: [{
      resource: newResource({ attributes: [{ key: "service.name", value: "app" }] }),
      schemaUrl: "",
      scopeLogs: [{
        scope: newScope({ name: "s" }),
        schemaUrl: "",
        logRecords: bodies.map((body) =>
          newLogRecord({ body, traceId: new Uint8Array(16).fill(9) })
        ),
      }],
    }],
  };
}

async function run(config: unknown, input: LogsData): Promise<LogsData[]> {
  const got: LogsData[] = [];
  const p = createLogstransformProcessor(logstransformConfigSchema.parse(config), {
    mutatesData: false,
    consume: (payload) => {
      got.push(payload.read());
      return Promise.resolve();
    },
  }, NOOP_LOGGER);
  await p.consume(Payload.of("logs", input));
  return got;
}

Deno.test("logstransform parses bodies with stanza operators and keeps the record's IDs", async () => {
  const got = await run({
    operators: [
      {
        type: "regex_parser",
        regex: "^(?P<level>[A-Z]+) (?P<msg>.*)$",
        severity: { parse_from: "attributes.level" },
      },
      { type: "move", from: "attributes.msg", to: "body" },
    ],
  }, data("ERROR disk full", "INFO ok"));
  const records = got[0]!.resourceLogs[0]!.scopeLogs[0]!.logRecords;
  assert.deepEqual(records.map((r) => r.body), ["disk full", "ok"]);
  assert.deepEqual(records.map((r) => r.severityNumber), [17, 9]);
  assert.deepEqual(records[0]!.traceId, new Uint8Array(16).fill(9));
  assert.equal(got[0]!.resourceLogs[0]!.scopeLogs[0]!.scope.name, "s");
});

Deno.test("logstransform moves records to a new resource when an operator changes it", async () => {
  const got = await run({
    operators: [{ type: "add", field: "resource.team", value: "core" }],
  }, data("x"));
  const attrs = got[0]!.resourceLogs[0]!.resource.attributes;
  assert.deepEqual(attrs, [{ key: "service.name", value: "app" }, { key: "team", value: "core" }]);
});

Deno.test("logstransform: a router without a match drops the entry; nothing left, nothing sent", async () => {
  const got = await run({
    operators: [{ type: "router", routes: [{ expr: 'body == "keep"', output: "out" }] }, {
      id: "out",
      type: "noop",
    }],
  }, data("drop"));
  assert.equal(got.length, 0);
});

Deno.test("logstransform config rejects unknown operator types", () => {
  assert.equal(logstransformConfigSchema.safeParse({}).success, true);
  assert.equal(
    logstransformConfigSchema.safeParse({ operators: [{ type: "nope" }] }).success,
    false,
  );
});
