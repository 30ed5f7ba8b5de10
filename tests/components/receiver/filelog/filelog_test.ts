import assert from "node:assert/strict";
import { FakeClock } from "../../../fixtures/fake_clock.ts";
import { append, attr, filelog, recorder } from "./_kit.ts";

async function readOnce(raw: Record<string, unknown>, files: Record<string, string>) {
  const dir = await Deno.makeTempDir();
  for (const [name, text] of Object.entries(files)) {
    await Deno.mkdir(`${dir}/${name}`.replace(/\/[^/]*$/, ""), { recursive: true });
    await append(`${dir}/${name}`, text);
  }
  const rec = recorder();
  const include = (raw.include as string[] | undefined ?? ["*.log"]).map((g) => `${dir}/${g}`);
  const exclude = (raw.exclude as string[] | undefined ?? []).map((g) => `${dir}/${g}`);
  const r = filelog(
    { start_at: "beginning", force_flush_period: 0, ...raw, include, exclude },
    rec.consumer,
  );
  await r.pollOnce();
  await r.pollOnce();
  await r.shutdown();
  await Deno.remove(dir, { recursive: true });
  return { rec, dir };
}

Deno.test("filelog sets log.file.name, and log.file.path when asked", async () => {
  const { rec, dir } = await readOnce({ include_file_path: true }, { "a.log": "x\n" });
  const r = rec.records()[0]!.record;
  assert.equal(attr(r, "log.file.name"), "a.log");
  assert.equal(attr(r, "log.file.path"), `${dir}/a.log`);
  assert.ok(r.observedTimeUnixNano > 0n);
});

Deno.test("filelog start_at end skips what files held at start, beginning reads it", async () => {
  const dir = await Deno.makeTempDir();
  await append(`${dir}/a.log`, "old\n");
  const rec = recorder();
  const r = filelog({ include: [`${dir}/*.log`] }, rec.consumer);
  await r.pollOnce();
  await append(`${dir}/a.log`, "new\n");
  await append(`${dir}/b.log`, "later file\n");
  await r.pollOnce();
  assert.deepEqual(rec.bodies().sort(), ["later file", "new"]);
  await r.shutdown();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("filelog include and exclude globs with **", async () => {
  const { rec } = await readOnce(
    { include: ["**/*.log"], exclude: ["**/skip/*.log"] },
    { "top.log": "top\n", "a/b/deep.log": "deep\n", "a/skip/no.log": "no\n", "a/x.txt": "txt\n" },
  );
  assert.deepEqual(rec.bodies().sort(), ["deep", "top"]);
});

Deno.test("filelog multiline line_start_pattern groups a Java stack trace", async () => {
  const text = "2024-01-01 ERROR boom\njava.lang.RuntimeException: x\n\tat a.b(C.java:1)\n" +
    "2024-01-01 INFO next\n";
  const { rec } = await readOnce({ multiline: { line_start_pattern: "^\\d{4}-" } }, {
    "a.log": text,
  });
  assert.deepEqual(rec.bodies(), [
    "2024-01-01 ERROR boom\njava.lang.RuntimeException: x\n\tat a.b(C.java:1)",
    "2024-01-01 INFO next",
  ]);
});

Deno.test("filelog multiline line_end_pattern ends entries", async () => {
  const { rec } = await readOnce({ multiline: { line_end_pattern: ";$" } }, {
    "a.log": "a\nb;\nc;\n",
  });
  assert.deepEqual(rec.bodies(), ["a\nb;", "c;"]);
});

Deno.test("filelog cuts entries longer than max_log_size", async () => {
  const { rec } = await readOnce({ max_log_size: 4 }, { "a.log": "abcdefghij\nxy\n" });
  assert.deepEqual(rec.bodies(), ["abcd", "efgh", "ij", "xy"]);
});

Deno.test("filelog utf-8: CRLF, trimming, empty lines and max_log_size cuts, ASCII or not", async () => {
  // ASCII text is split from one decode of the chunk; text with multi-byte characters line by
  // line. Both must give the same entries.
  const text = "  lead\r\nplain\n\n \r\ntrail  \nabcdefghij\n";
  const ascii = await readOnce({ max_log_size: 6 }, { "a.log": text });
  assert.deepEqual(ascii.rec.bodies(), ["lead", "plain", "trail", "abcdef", "ghij"]);
  const kept = await readOnce({
    max_log_size: 6,
    preserve_leading_whitespaces: true,
    preserve_trailing_whitespaces: true,
  }, { "a.log": text });
  assert.deepEqual(kept.rec.bodies(), ["  lead", "plain", " ", "trail ", " ", "abcdef", "ghij"]);
  const wide = await readOnce({ max_log_size: 6 }, { "a.log": `${text}caf\u00e9\n` });
  assert.deepEqual(wide.rec.bodies(), ["lead", "plain", "trail", "abcdef", "ghij", "caf\u00e9"]);
});

Deno.test("filelog utf-8: a lone invalid byte becomes U+FFFD and the offset stays right", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/a.log`;
  await Deno.writeFile(path, new Uint8Array([0x78, 0xff, 0x79, 0x0a, 0x7a]));
  const rec = recorder();
  const r = filelog(
    { start_at: "beginning", include: [`${dir}/*.log`], force_flush_period: "1h" },
    rec.consumer,
  );
  await r.pollOnce();
  await append(path, "w\n");
  await r.pollOnce();
  await r.shutdown();
  await Deno.remove(dir, { recursive: true });
  assert.deepEqual(rec.bodies(), ["x\ufffdy", "zw"]);
});

Deno.test("filelog ascii encoding replaces bytes over 127", async () => {
  const { rec } = await readOnce({ encoding: "ascii" }, { "a.log": "caf\u00e9\n" });
  assert.deepEqual(rec.bodies(), ["caf\ufffd\ufffd"]);
});

Deno.test("filelog flushes an unterminated last line after force_flush_period", async () => {
  const dir = await Deno.makeTempDir();
  await append(`${dir}/a.log`, "one\ntail");
  const rec = recorder();
  const clock = new FakeClock();
  const r = filelog(
    {
      include: [`${dir}/*.log`],
      start_at: "beginning",
      force_flush_period: "5s",
      poll_interval: "1h",
    },
    rec.consumer,
    "filelog",
    { clock },
  );
  try {
    await r.pollOnce();
    assert.deepEqual(rec.bodies(), ["one"], "the tail may still grow");
    await clock.advance(4_000);
    await r.pollOnce();
    assert.deepEqual(rec.bodies(), ["one"]);
    await clock.advance(1_000);
    await r.pollOnce();
    assert.deepEqual(rec.bodies(), ["one", "tail"]);
  } finally {
    await r.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("filelog json_parser with timestamp and severity", async () => {
  const { rec } = await readOnce({
    operators: [{
      type: "json_parser",
      timestamp: { parse_from: "attributes.time", layout: "%Y-%m-%dT%H:%M:%S.%LZ" },
      severity: { parse_from: "attributes.level" },
    }],
  }, { "a.log": '{"time":"2022-01-02T14:24:56.123Z","level":"WARN","msg":"hi","n":3}\n' });
  const r = rec.records()[0]!.record;
  assert.equal(r.timeUnixNano, 1641133496123000000n);
  assert.equal(r.severityNumber, 13);
  assert.equal(r.severityText, "WARN");
  assert.equal(attr(r, "msg"), "hi");
  assert.equal(attr(r, "n"), 3);
  assert.equal(attr(r, "log.file.name"), "a.log");
});

const POD = "pods/ns1_web-7d9_0a1b2c3d-1111-2222-3333-444455556666/app/0.log";

Deno.test("filelog container parser: CRI lines with partial recombination and pod metadata", async () => {
  const { rec } = await readOnce({
    include: ["pods/**/*.log"],
    include_file_path: true,
    operators: [{ type: "container" }],
  }, {
    [POD]: "2023-06-22T10:27:25.813799277Z stdout P multiline containerd line that i\n" +
      "2023-06-22T10:27:25.813799277Z stdout F s super awesome\n" +
      "2024-04-13T07:59:37.505201169-05:00 stderr F crio line\n",
  });
  const [a, b] = rec.records();
  assert.equal(a!.record.body, "multiline containerd line that is super awesome");
  assert.equal(a!.record.timeUnixNano, 1687429645813799277n);
  assert.equal(attr(a!.record, "log.iostream"), "stdout");
  assert.equal(attr(a!.record, "logtag"), "F");
  assert.equal(b!.record.body, "crio line");
  assert.equal(b!.record.timeUnixNano, 1713013177505201169n);
  const res = Object.fromEntries(a!.resource.attributes.map((kv) => [kv.key, kv.value]));
  assert.deepEqual(res, {
    "k8s.namespace.name": "ns1",
    "k8s.pod.name": "web-7d9",
    "k8s.pod.uid": "0a1b2c3d-1111-2222-3333-444455556666",
    "k8s.container.name": "app",
    "k8s.container.restart_count": "0",
  });
});

Deno.test("filelog container parser: docker JSON lines", async () => {
  const { rec } = await readOnce({
    operators: [{ type: "container", format: "docker", add_metadata_from_filepath: false }],
  }, {
    "a.log":
      '{"log":"INFO: log line here\\n","stream":"stdout","time":"2024-03-30T08:31:20.545192187Z"}\n',
  });
  const r = rec.records()[0]!.record;
  assert.equal(r.body, "INFO: log line here");
  assert.equal(r.timeUnixNano, 1711787480545192187n);
  assert.equal(attr(r, "log.iostream"), "stdout");
});

Deno.test("filelog router sends lines to different parsers", async () => {
  const { rec } = await readOnce({
    operators: [
      {
        type: "router",
        routes: [
          { expr: 'body matches "^\\\\{"', output: "json" },
          { expr: 'body startsWith "GET"', output: "access" },
        ],
        default: "tag",
      },
      { type: "json_parser", id: "json", output: "tag" },
      {
        type: "regex_parser",
        id: "access",
        regex: "^(?P<method>\\w+) (?P<path>\\S+) (?P<status>\\d+)$",
        severity: { parse_from: "attributes.status", mapping: { error: "5xx", info: "2xx" } },
        output: "tag",
      },
      { type: "add", id: "tag", field: "attributes.seen", value: "EXPR(body + '!')" },
    ],
  }, { "a.log": '{"k":"v"}\nGET /x 503\nplain\n' });
  const [j, a, p] = rec.records().map((r) => r.record);
  assert.equal(attr(j!, "k"), "v");
  assert.equal(attr(a!, "method"), "GET");
  assert.equal(attr(a!, "path"), "/x");
  assert.equal(a!.severityNumber, 17);
  assert.equal(attr(p!, "seen"), "plain!");
  assert.equal(attr(j!, "seen"), '{"k":"v"}!');
});

Deno.test("filelog on_error drop drops lines a parser cannot parse", async () => {
  const { rec } = await readOnce({ operators: [{ type: "json_parser", on_error: "drop" }] }, {
    "a.log": 'not json\n{"a":1}\n',
  });
  assert.equal(rec.bodies().length, 1);
});
