/**
 * The postgresql exporter's config: defaults, and every invalid input refused with its message;
 * and the COPY text values that must survive what PostgreSQL cannot store.
 */
import assert from "node:assert/strict";
import { postgresqlConfigSchema } from "../../../../components/exporter/postgresql/config.ts";
import { anyValueJsonb, copyText } from "../../../../components/exporter/postgresql/_copy_text.ts";
import {
  partitionName,
  partitionStart,
} from "../../../../components/exporter/postgresql/_schema.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

Deno.test("postgresql exporter config has tfo's defaults", () => {
  const c = postgresqlConfigSchema.parse({ endpoint: "db:5432" });
  assert.equal(c.database, "postgres");
  assert.equal(c.schema, "public");
  assert.equal(c.traces_table_name, "otel_traces");
  assert.equal(c.metrics_tables.exponential_histogram.name, "otel_metrics_exp_histogram");
  assert.equal(c.create_schema, true);
  assert.equal(c.partition_interval, "day");
  assert.equal(c.retention, 0);
  assert.equal(c.timeout, 5000);
  assert.equal(c.tls.insecure, false, "TLS unless told otherwise, as configtls");
});

Deno.test("postgresql exporter config refuses what it cannot do", () => {
  const issues = (input: Record<string, unknown>) => {
    const r = postgresqlConfigSchema.safeParse({ endpoint: "db", ...input });
    assert.equal(r.success, false, JSON.stringify(input));
    return r.error!.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
  };
  assert.match(issues({ endpoint: "" }), /endpoint must be specified/);
  assert.match(issues({ logs_table_name: "bad-name" }), /logs_table_name: must be letters/);
  assert.match(issues({ retention: "30m" }), /retention: must be 0 or at least one/);
  assert.match(issues({ partition_interval: "week" }), /partition_interval/);
  assert.match(issues({ logs_table_name: "otel_traces" }), /table names must differ/);
  assert.match(issues({ tls: { cert_file: "c.pem" } }), /cert_file and key_file/);
  assert.match(issues({ unknown_key: 1 }), /unknown_key|Unrecognized/);
});

Deno.test("postgresql COPY text escapes separators and replaces NUL, which PostgreSQL refuses", () => {
  assert.equal(copyText("a\tb\nc\\d\re"), "a\\tb\\nc\\\\d\\re");
  assert.equal(copyText("nul\0here"), "nul\uFFFDhere");
  assert.equal(anyValueJsonb("x\0"), '"x\uFFFD"');
  assert.equal(anyValueJsonb("a\ud800b"), '"a\uFFFDb"', "a lone surrogate, which jsonb refuses");
  assert.equal(anyValueJsonb(1), "1.0", "a double stays a double in jsonb");
  assert.equal(anyValueJsonb(1n), "1");
  assert.equal(anyValueJsonb(Number.NaN), '"NaN"');
  assert.equal(anyValueJsonb(9007199254740993n), "9007199254740993", "int64 exact");
});

Deno.test("postgresql partition names encode their UTC start", () => {
  const start = Date.UTC(2024, 1, 29, 13);
  assert.equal(partitionName("t", "hour", start), "t_p2024022913");
  assert.equal(partitionStart("t", "t_p2024022913"), start);
  assert.equal(partitionName("t", "day", Date.UTC(2024, 1, 29)), "t_p20240229");
  assert.equal(partitionStart("t", "t_p20240229"), Date.UTC(2024, 1, 29));
  assert.equal(partitionStart("t", "t_other"), undefined);
});
