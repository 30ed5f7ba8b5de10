import assert from "node:assert/strict";
import { fileURLToPath as fromFileUrl } from "node:url";
import { main } from "../main.ts";

const fixture = (name: string) => fromFileUrl(new URL(`./fixtures/cli/${name}`, import.meta.url));
const mainPath = fromFileUrl(new URL("../main.ts", import.meta.url));

async function cli(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { io: { out: (t) => out.push(t), err: (t) => err.push(t) } });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

Deno.test("tfo validate reports every mistake at once with file:line:col and key path, and exits 2", async () => {
  const { code, err } = await cli("validate", "--config", fixture("broken.yaml"));
  assert.equal(code, 2);
  const lines = err.split("\n").map((l) => l.replace(/^.*broken\.yaml:/, ""));
  const expected: Array<[string, RegExp]> = [
    ["7:9", /receivers\.otlp\.protocols\.http\.max_request_body_sise: unknown key/],
    ["11:14", /processors\.batch\.timeout: must be a duration/],
    ["15:16", /exporters\.debug\.verbosity: must be one of basic, normal, detailed/],
    ["17:15", /exporters\.otlphttp\.endpoint: must be an http or https URL/],
    ["18:3", /exporters\.splunk_hec: unknown exporter type "splunk_hec"/],
    ["25:16", /service\.extensions\[0\]: extension "health_check" is not defined/],
    ["29:27", /names processor "memory_limiter", which is not defined \(defined: batch\)/],
    ["30:26", /connector "forward" is used as an exporter .* but as a receiver in no pipeline/],
    ["31:5", /service\.pipelines\.logs\.exporters: pipeline "logs" has no exporters/],
  ];
  for (const [position, message] of expected) {
    assert.ok(
      lines.some((l) => l.startsWith(`${position}  `) && message.test(l)),
      `expected ${position} ${message} in:\n${err}`,
    );
  }
  assert.ok(lines.some((l) => /warning: exporters\.otlphttp: .*used in no pipeline/.test(l)));
});

Deno.test("tfo validate prints OK and one line per pipeline for a valid config", async () => {
  const { code, out } = await cli("validate", "--config", fixture("valid.yaml"));
  assert.equal(code, 0);
  assert.equal(out, "OK\n  traces: otlp → batch → debug\n  metrics: otlp → otlphttp");
});

Deno.test("tfo validate applies --set last and checks the result", async () => {
  const bad = await cli(
    "validate",
    "--config",
    fixture("valid.yaml"),
    "--set",
    "exporters.debug.verbosity=loud",
  );
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--set.*exporters\.debug\.verbosity: must be one of/);
  const good = await cli(
    "validate",
    "--config",
    fixture("valid.yaml"),
    "--set",
    "exporters.debug.verbosity=detailed",
  );
  assert.equal(good.code, 0);
});

Deno.test("tfo validate without --config is a usage error", async () => {
  const { code, err } = await cli("validate");
  assert.equal(code, 2);
  assert.match(err, /at least one --config/);
});

Deno.test("unknown commands and options are usage errors with exit 2", async () => {
  assert.equal((await cli("bogus")).code, 2);
  const unknownOption = await cli("run", "--bogus");
  assert.equal(unknownOption.code, 2);
  assert.match(unknownOption.err, /Unknown option '--bogus'/);
});

Deno.test("every command has --help", async () => {
  for (const command of ["run", "validate", "components", "version"]) {
    const { code, out } = await cli(command, "--help");
    assert.equal(code, 0);
    assert.match(out, new RegExp(`^Usage: tfo ${command}`));
  }
  assert.match((await cli("--help")).out, /tfo run/);
});

Deno.test("tfo components lists every built-in component with signals and stability", async () => {
  const { code, out } = await cli("components");
  assert.equal(code, 0);
  assert.match(out, /receiver\s+otlp\s+traces \(\w+\), metrics \(\w+\), logs \(\w+\)/);
  assert.match(out, /processor\s+batch\s+traces \(beta\)/);
  assert.match(out, /exporter\s+debug\s+/);
  assert.match(out, /extension\s+health_check\s+\(\w+\)/);
  assert.match(out, /connector\s+forward\s+traces→traces \(beta\)/);
});

Deno.test("tfo version prints the version", async () => {
  const { code, out } = await cli("version");
  assert.equal(code, 0);
  assert.match(out, /^tfo \d+\.\d+\.\d+ \(deno /);
});

Deno.test("tfo run stops gracefully when asked and exits 0", async () => {
  const { promise: stop, resolve } = Promise.withResolvers<void>();
  const err: string[] = [];
  const running = main(
    ["run", "--config", fixture("valid.yaml"), "--set", "service.telemetry.metrics.level=none"],
    { io: { out: () => {}, err: (t) => err.push(t) }, stop },
  );
  resolve();
  assert.equal(await running, 0, err.join("\n"));
});

Deno.test("the process exits 2 for an invalid config", async () => {
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", mainPath, "validate", "--config", fixture("broken.yaml")],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(result.code, 2);
  assert.match(new TextDecoder().decode(result.stderr), /broken\.yaml:18:3/);
});
