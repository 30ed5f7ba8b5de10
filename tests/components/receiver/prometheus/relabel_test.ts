/** Prometheus relabeling: every action with Prometheus's defaults and Go's template rules. */
import assert from "node:assert/strict";
import {
  compileRelabel,
  expandTemplate,
  relabel,
} from "../../../../components/receiver/prometheus/_relabel.ts";
import { relabelConfigSchema } from "../../../../components/receiver/prometheus/config.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

function rules(...configs: unknown[]) {
  return configs.map((c) => compileRelabel(relabelConfigSchema.parse(c)));
}

function apply(labels: Record<string, string>, ...configs: unknown[]) {
  const map = new Map(Object.entries(labels));
  const kept = relabel(map, rules(...configs));
  return kept ? Object.fromEntries(map) : undefined;
}

Deno.test("replace joins source labels with the separator and expands groups", () => {
  assert.deepEqual(
    apply({ a: "foo", b: "bar" }, {
      source_labels: ["a", "b"],
      regex: "(f.o);(.*)",
      target_label: "c",
      replacement: "${1}-$2",
    }),
    { a: "foo", b: "bar", c: "foo-bar" },
  );
  // The default regex (.*) and replacement $1 copy the joined value.
  assert.deepEqual(apply({ a: "x" }, { source_labels: ["a"], target_label: "b" }), {
    a: "x",
    b: "x",
  });
});

Deno.test("replace leaves labels alone when the anchored regex does not match", () => {
  assert.deepEqual(
    apply({ a: "xfoox" }, { source_labels: ["a"], regex: "foo", target_label: "b" }),
    { a: "xfoox" },
  );
});

Deno.test("replace with an empty result removes the target label", () => {
  assert.deepEqual(
    apply({ a: "x", b: "y" }, {
      source_labels: ["a"],
      regex: "x",
      target_label: "b",
      replacement: "",
    }),
    { a: "x" },
  );
});

Deno.test("replace can name the target label from a group", () => {
  assert.deepEqual(
    apply({ a: "team=web" }, {
      source_labels: ["a"],
      regex: "(\\w+)=(\\w+)",
      target_label: "${1}",
      replacement: "$2",
    }),
    { a: "team=web", team: "web" },
  );
});

Deno.test("keep and drop filter on the joined value", () => {
  const keep = { source_labels: ["env"], regex: "prod|staging", action: "keep" };
  assert.ok(apply({ env: "prod" }, keep));
  assert.equal(apply({ env: "dev" }, keep), undefined);
  assert.equal(apply({}, keep), undefined);
  const drop = { source_labels: ["__name__"], regex: "go_.*", action: "drop" };
  assert.equal(apply({ __name__: "go_goroutines" }, drop), undefined);
  assert.ok(apply({ __name__: "process_open_fds" }, drop));
});

Deno.test("labelmap copies matching labels under a new name", () => {
  assert.deepEqual(
    apply({ __meta_x_team: "a", __meta_x_zone: "b", other: "c" }, {
      regex: "__meta_x_(.+)",
      action: "labelmap",
    }),
    { __meta_x_team: "a", __meta_x_zone: "b", other: "c", team: "a", zone: "b" },
  );
});

Deno.test("labeldrop and labelkeep remove labels by name", () => {
  assert.deepEqual(apply({ a: "1", b: "2", bb: "3" }, { regex: "b+", action: "labeldrop" }), {
    a: "1",
  });
  assert.deepEqual(apply({ a: "1", b: "2", bb: "3" }, { regex: "b+", action: "labelkeep" }), {
    b: "2",
    bb: "3",
  });
});

Deno.test("hashmod, lowercase, uppercase, keepequal and dropequal", () => {
  const hashed = apply({ a: "foo" }, {
    source_labels: ["a"],
    modulus: 8,
    target_label: "shard",
    action: "hashmod",
  })!;
  assert.match(hashed.shard!, /^[0-7]$/);
  // Stable: the same input hashes the same way.
  assert.equal(
    apply({ a: "foo" }, { source_labels: ["a"], modulus: 8, target_label: "s", action: "hashmod" })!
      .s,
    hashed.shard,
  );
  assert.deepEqual(
    apply({ a: "MiXed" }, { source_labels: ["a"], target_label: "l", action: "lowercase" }),
    { a: "MiXed", l: "mixed" },
  );
  assert.deepEqual(
    apply({ a: "MiXed" }, { source_labels: ["a"], target_label: "u", action: "uppercase" }),
    { a: "MiXed", u: "MIXED" },
  );
  const eq = { source_labels: ["a"], target_label: "b" };
  assert.ok(apply({ a: "1", b: "1" }, { ...eq, action: "keepequal" }));
  assert.equal(apply({ a: "1", b: "2" }, { ...eq, action: "keepequal" }), undefined);
  assert.equal(apply({ a: "1", b: "1" }, { ...eq, action: "dropequal" }), undefined);
});

Deno.test("Go regex flags and named groups are translated", () => {
  assert.deepEqual(
    apply({ a: "PROD" }, {
      source_labels: ["a"],
      regex: "(?i)(?P<env>prod)",
      target_label: "env",
      replacement: "${env}",
    }),
    { a: "PROD", env: "PROD" },
  );
});

Deno.test("templates follow Go's Expand: $1x names a group, $$ is a dollar", () => {
  const m = /^(a)(b)$/.exec("ab")!;
  assert.equal(expandTemplate("$1-$2", m), "a-b");
  assert.equal(expandTemplate("${1}x", m), "ax");
  assert.equal(expandTemplate("$1x", m), "");
  assert.equal(expandTemplate("$$1", m), "$1");
  assert.equal(expandTemplate("cost: $", m), "cost: $");
});

Deno.test("the schema rejects a bad regex and a missing target_label", () => {
  const bad = relabelConfigSchema.safeParse({ regex: "(" });
  assert.equal(bad.success, false);
  assert.match(JSON.stringify(bad.error?.issues), /valid regular expression/);
  const noTarget = relabelConfigSchema.safeParse({ action: "replace", source_labels: ["a"] });
  assert.match(JSON.stringify(noTarget.error?.issues), /is required by the \\"replace\\" action/);
  const noModulus = relabelConfigSchema.safeParse({ action: "hashmod", target_label: "x" });
  assert.equal(noModulus.success, false);
});
