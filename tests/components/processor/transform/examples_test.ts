/** The example configs of the OTTL processors validate, and a broken statement is pointed at. */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { main } from "../../../../main.ts";

const root = fileURLToPath(new URL("../../../..", import.meta.url));

async function validate(path: string): Promise<{ code: number; err: string }> {
  const err: string[] = [];
  const code = await main(["validate", "--config", path], {
    io: { out: () => {}, err: (t) => err.push(t) },
  });
  return { code, err: err.join("\n") };
}

for (const name of ["transform", "filter", "logstransform"]) {
  Deno.test(`components/processor/${name}/example.yaml is a valid config`, async () => {
    const { code, err } = await validate(`${root}/components/processor/${name}/example.yaml`);
    assert.equal(code, 0, err);
  });
}

Deno.test("tfo validate reports every OTTL error of a file at its line and column", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/bad.yaml`;
  await Deno.writeTextFile(
    path,
    `receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:0
processors:
  transform:
    trace_statements:
      - set(span.nme, "x")
      - 'foo(span.name)'
  filter:
    logs:
      log_record:
        - log.body == "a" and
exporters:
  debug: {}
service:
  pipelines:
    traces: { receivers: [otlp], processors: [transform], exporters: [debug] }
    logs: { receivers: [otlp], processors: [filter], exporters: [debug] }
`,
  );
  const { code, err } = await validate(path);
  await Deno.remove(dir, { recursive: true });
  assert.equal(code, 2);
  assert.match(
    err,
    /bad\.yaml:9:18 +processors\.transform\.trace_statements\[0\]: "nme" is not a path/,
  );
  assert.match(
    err,
    /bad\.yaml:10:10 +processors\.transform\.trace_statements\[1\]: unknown function "foo"/,
  );
  assert.match(err, /bad\.yaml:14:30 +processors\.filter\.logs\.log_record\[0\]: expected a value/);
});
