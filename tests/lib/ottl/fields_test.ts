import assert from "node:assert/strict";
import { compileConditions, compileStatements } from "../../../lib/ottl/mod.ts";
import { itemNeeds } from "../../../lib/ottl/fields.ts";
import { ALL_FIELDS, DATA_POINT, LOG_RECORD, SPAN } from "../../../lib/pdata/fields.ts";
import type { Signal } from "../../../lib/pdata/types.ts";

function statements(signal: Signal, texts: string[]) {
  const r = compileStatements(texts, { signal });
  assert.ok(r.ok, JSON.stringify(r));
  return itemNeeds(signal, r.context, r.items);
}

function conditions(
  signal: Signal,
  context: "span" | "spanevent" | "log" | "datapoint",
  texts: string[],
) {
  const r = compileConditions(texts, { signal, context });
  assert.ok(r.ok, JSON.stringify(r));
  return itemNeeds(signal, r.context, r.items);
}

Deno.test("OTTL needs: the fields a statement names, and attributes by literal key", () => {
  assert.deepEqual(
    statements("traces", [
      'set(span.attributes["deployment.environment"], "prod")',
      'replace_pattern(span.name, "\\\\{id\\\\}", "ID")',
      'delete_key(resource.attributes, "k8s.pod.name")',
    ]),
    { fields: SPAN.name, keys: ["deployment.environment"] },
  );
  assert.deepEqual(
    statements("logs", ['set(log.severity_text, "INFO") where log.severity_number == 9']),
    { fields: LOG_RECORD.severityText | LOG_RECORD.severityNumber, keys: [] },
  );
  assert.deepEqual(
    statements("metrics", ['set(datapoint.attributes["env"], "prod")']),
    { fields: 0, keys: ["env"] },
  );
  assert.deepEqual(conditions("logs", "log", ['IsMatch(log.body, "^h")']), {
    fields: LOG_RECORD.body,
    keys: [],
  });
  assert.deepEqual(conditions("traces", "span", ["span.start_time_unix_nano > 0"]), {
    fields: SPAN.startTimeUnixNano,
    keys: [],
  });
});

Deno.test("OTTL needs: whole attribute maps, implicit reads and metric functions need more", () => {
  // The whole map (a function of it) and a key together: all attributes.
  const whole = statements("traces", [
    'delete_key(span.attributes, "a")',
    'set(span.attributes["b"], "x")',
  ]);
  assert.deepEqual(whole, { fields: SPAN.attributes, keys: [] });
  // IsRootSpan reads the parent span ID although no argument names it.
  assert.equal(conditions("traces", "span", ["IsRootSpan()"]).fields, SPAN.parentSpanId);
  // A span event statement walks the events.
  assert.equal(
    statements("traces", ['set(spanevent.attributes["a"], "b")']).fields & SPAN.events,
    SPAN.events,
  );
  assert.equal(
    statements("metrics", ['convert_sum_to_gauge() where metric.name == "a"']).fields,
    ALL_FIELDS,
  );
  assert.equal(statements("metrics", ["set(datapoint.value_double, 1.0)"]).fields, ALL_FIELDS);
  assert.equal(statements("metrics", ['set(metric.description, "d")']).fields, 0);
  assert.equal(
    DATA_POINT.attributes &
      statements("metrics", ['keep_keys(datapoint.attributes, ["a"])']).fields,
    DATA_POINT.attributes,
  );
});
