/**
 * The `file` exporter: what it writes reads back exactly (OTLP/JSON lines; length-prefixed
 * protobuf; zstd per message), rotation by size with backups named and pruned as the Collector's
 * writer does, `group_by` files (path `*` replaced, escapes kept inside the directory, resources
 * without the attribute dropped and counted), and disk faults: a full tmpfs and a read-only path
 * give retryable errors, no partial record is left behind, and a queued request is written once
 * space is back.
 */
import assert from "node:assert/strict";
import { zstdDecompressSync } from "node:zlib";
import { createFileExporter } from "../../../../components/exporter/file/factory.ts";
import {
  type FileExporterConfig,
  fileExporterConfigSchema,
} from "../../../../components/exporter/file/config.ts";
import { isPermanent } from "../../../../lib/consumer/consumer.ts";
import {
  decodeLogsJson,
  decodeMetricsJson,
  decodeTracesJson,
  decodeTracesRequest,
  encodeTracesRequest,
  TRACES_PROTO,
} from "../../../../lib/otlp/mod.ts";
import { Payload } from "../../../../lib/pdata/payload.ts";
import type { Exporter } from "../../../../components/component.ts";
import type { Signal, TracesData } from "../../../../lib/pdata/types.ts";
import { newResource, newScope, newSpan } from "../../../../lib/pdata/new.ts";
import { logsPayload, metricsPayload, settingsFor } from "../otlp/_kit.ts";
import { normalize, waitFor } from "../../../fixtures/interop/services.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

const HOST = { getExtension: () => undefined, status: () => "running" as const };

function config(extra: Record<string, unknown>): FileExporterConfig {
  return fileExporterConfigSchema.parse({
    sending_queue: { enabled: false },
    retry_on_failure: { enabled: false },
    ...extra,
  });
}

async function started(c: FileExporterConfig, signals: Signal[] = ["traces", "metrics", "logs"]) {
  const kit = settingsFor("file", c);
  const exporter = createFileExporter(kit.settings, signals);
  await exporter.start(HOST);
  return { exporter, kit };
}

function traces(name: string, attrs: Record<string, string> = {}, bytes = 0): TracesData {
  return {
    resourceSpans: [{
      resource: newResource({
        attributes: Object.entries(attrs).map(([key, value]) => ({ key, value })),
      }),
      schemaUrl: "",
      scopeSpans: [{
        scope: newScope({ name: "t" }),
        schemaUrl: "",
        spans: [newSpan({
          name,
          traceId: new Uint8Array(16).fill(1),
          spanId: new Uint8Array(8).fill(2),
          startTimeUnixNano: 1700000000123456789n,
          endTimeUnixNano: 1700000000223456789n,
          attributes: bytes > 0 ? [{ key: "pad", value: "x".repeat(bytes) }] : [],
        })],
      }],
    }],
  };
}

function send(exporter: Exporter, data: TracesData): Promise<void> {
  return exporter.consumers.traces!.consume(Payload.of("traces", data));
}

/** Splits a length-prefixed file into its messages. */
function frames(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at < bytes.length) {
    const n = view.getUint32(at, false);
    assert.ok(at + 4 + n <= bytes.length, "no partial frame");
    out.push(bytes.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  return out;
}

const enc = new TextEncoder();

Deno.test("json: one OTLP/JSON request per line, every signal, exact round trip", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/out.json`;
  const { exporter } = await started(config({ path }));
  const spans = traces("a");
  await send(exporter, spans);
  const metrics = metricsPayload("m", 3);
  await exporter.consumers.metrics!.consume(metrics);
  const logs = logsPayload("hello", "world");
  await exporter.consumers.logs!.consume(logs);
  await exporter.shutdown();
  const lines = (await Deno.readTextFile(path)).split("\n");
  assert.equal(lines.length, 4);
  assert.equal(lines[3], "");
  assert.deepEqual(normalize(decodeTracesJson(enc.encode(lines[0]!))), normalize(spans));
  assert.deepEqual(normalize(decodeMetricsJson(enc.encode(lines[1]!))), normalize(metrics.read()));
  assert.deepEqual(normalize(decodeLogsJson(enc.encode(lines[2]!))), normalize(logs.read()));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("proto: length-prefixed messages; encoded data is written as it arrived", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/out.pb`;
  const { exporter } = await started(config({ path, format: "proto" }));
  const bytes = encodeTracesRequest(traces("p1"));
  await exporter.consumers.traces!.consume(
    Payload.fromProto("traces", bytes, {
      decode: decodeTracesRequest,
      countItems: TRACES_PROTO.countItems,
    }),
  );
  await send(exporter, traces("p2"));
  await exporter.shutdown();
  const got = frames(await Deno.readFile(path));
  assert.equal(got.length, 2);
  assert.deepEqual(got[0], bytes);
  assert.deepEqual(normalize(decodeTracesRequest(got[1]!)), normalize(traces("p2")));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("zstd: each message compressed on its own and length-prefixed, json and proto", async () => {
  const dir = await Deno.makeTempDir();
  for (const format of ["json", "proto"] as const) {
    const path = `${dir}/out.${format}.zst`;
    const { exporter } = await started(config({ path, format, compression: "zstd" }));
    await send(exporter, traces("z1", {}, 5000));
    await send(exporter, traces("z2"));
    await exporter.shutdown();
    const file = await Deno.readFile(path);
    const got = frames(file).map((f) => new Uint8Array(zstdDecompressSync(f)));
    assert.equal(got.length, 2);
    assert.ok(file.length < 5000, "compressed");
    const decode = format === "json" ? decodeTracesJson : decodeTracesRequest;
    assert.deepEqual(normalize(decode(got[0]!)), normalize(traces("z1", {}, 5000)));
    assert.deepEqual(normalize(decode(got[1]!)), normalize(traces("z2")));
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("the file is truncated at start unless append", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/out.json`;
  await Deno.writeTextFile(path, "old line\n");
  let { exporter } = await started(config({ path, append: true }));
  await send(exporter, traces("x"));
  await exporter.shutdown();
  assert.equal((await Deno.readTextFile(path)).split("\n")[0], "old line");
  ({ exporter } = await started(config({ path })));
  await send(exporter, traces("y"));
  await exporter.shutdown();
  const lines = (await Deno.readTextFile(path)).trim().split("\n");
  assert.equal(lines.length, 1);
  assert.equal(
    decodeTracesJson(enc.encode(lines[0]!)).resourceSpans[0]!.scopeSpans[0]!.spans[0]!
      .name,
    "y",
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("rotation: backups named <name>-<time>-size<ext>, max_backups kept, nothing lost", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/spans.json`;
  const { exporter } = await started(
    config({ path, rotation: { max_megabytes: 1, max_backups: 2 } }),
  );
  const names: string[] = [];
  for (let i = 0; i < 12; i++) {
    names.push(`s${i}`);
    await send(exporter, traces(`s${i}`, {}, 300_000));
  }
  await exporter.shutdown();
  const files: string[] = [];
  for await (const e of Deno.readDir(dir)) files.push(e.name);
  const backups = files.filter((f) => f !== "spans.json").sort();
  assert.equal(backups.length, 2, `max_backups: ${files.join(", ")}`);
  for (const b of backups) {
    assert.match(b, /^spans-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}\.\d{3}-size\.json$/);
  }
  const seen: string[] = [];
  for (const f of [...backups, "spans.json"]) {
    const text = await Deno.readTextFile(`${dir}/${f}`);
    assert.ok(text.length <= 1024 * 1024, `${f} within max_megabytes`);
    for (const line of text.trim().split("\n")) {
      seen.push(decodeTracesJson(enc.encode(line)).resourceSpans[0]!.scopeSpans[0]!.spans[0]!.name);
    }
  }
  // 3 records fit in a MiB: 4 files were written, the oldest backup was removed.
  assert.deepEqual(seen, names.slice(3));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("group_by: one file per resource attribute, escapes kept inside, missing ones counted", async () => {
  const dir = await Deno.makeTempDir();
  const c = config({
    path: `${dir}/tenants/*/spans.json`,
    group_by: { enabled: true, resource_attribute: "tenant", max_open_files: 1 },
  });
  const { exporter, kit } = await started(c);
  const data: TracesData = {
    resourceSpans: [
      ...traces("a1", { tenant: "a" }).resourceSpans,
      ...traces("b1", { tenant: "b" }).resourceSpans,
      ...traces("a2", { tenant: "a" }).resourceSpans,
      ...traces("evil", { tenant: "../../../etc/x" }).resourceSpans,
      ...traces("none").resourceSpans,
    ],
  };
  await send(exporter, data);
  await send(exporter, traces("b2", { tenant: "b" })); // b was closed for room and reopened
  await exporter.shutdown();
  const read = async (p: string) =>
    (await Deno.readTextFile(p)).trim().split("\n").map((l) =>
      decodeTracesJson(enc.encode(l)).resourceSpans.map((r) => r.scopeSpans[0]!.spans[0]!.name)
    );
  assert.deepEqual(await read(`${dir}/tenants/a/spans.json`), [["a1", "a2"]]);
  assert.deepEqual(await read(`${dir}/tenants/b/spans.json`), [["b1"], ["b2"]]);
  assert.deepEqual(await read(`${dir}/tenants/etc/x/spans.json`), [["evil"]]);
  assert.match(
    kit.registry.render(),
    /tfo_exporter_file_dropped_resources\{exporter="file"\} 1/,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a full disk gives a retryable error, leaves no partial record, and loses nothing", async (t) => {
  const mount = await Deno.makeTempDir({ prefix: "tfo-file-tmpfs-" });
  const mounted = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", "size=256k", "tmpfs", mount],
    stdout: "null",
    stderr: "null",
  }).output().then((o) => o.success, () => false);
  if (!mounted) {
    console.warn("skipped: cannot mount a tmpfs here (needs root)");
    await Deno.remove(mount);
    return;
  }
  try {
    const filler = `${mount}/filler`;
    await t.step("without a queue the write rejects, retryable", async () => {
      const path = `${mount}/out.pb`;
      const { exporter } = await started(config({ path, format: "proto" }));
      await send(exporter, traces("first"));
      await Deno.writeFile(filler, new Uint8Array(400 * 1024)).catch(() => {}); // fills the disk
      const error = await send(exporter, traces("big", {}, 64 * 1024)).then(
        () => undefined,
        (e) => e,
      );
      assert.ok(error instanceof Error, "the write failed");
      assert.ok(!isPermanent(error), `retryable: ${error}`);
      await Deno.remove(filler);
      await send(exporter, traces("big", {}, 64 * 1024)); // the retry, with room again
      await exporter.shutdown();
      const got = frames(await Deno.readFile(path)).map((f) =>
        decodeTracesRequest(f).resourceSpans[0]!.scopeSpans[0]!.spans[0]!.name
      );
      assert.deepEqual(got, ["first", "big"]);
      await Deno.remove(path);
    });
    await t.step(
      "with the sending queue the data waits and is written once there is room",
      async () => {
        const path = `${mount}/queued.json`;
        const c = fileExporterConfigSchema.parse({
          path,
          retry_on_failure: { initial_interval: "50ms", max_interval: "100ms" },
        });
        const { exporter } = await started(c);
        await Deno.writeFile(filler, new Uint8Array(400 * 1024)).catch(() => {});
        await send(exporter, traces("queued", {}, 64 * 1024)); // accepted into the queue
        await new Promise((r) => setTimeout(r, 300));
        await Deno.remove(filler);
        await waitFor("the queued record on disk", async () => {
          const text = await Deno.readTextFile(path).catch(() => "");
          return text.endsWith("\n") && text.includes('"queued"');
        });
        await exporter.shutdown();
        const lines = (await Deno.readTextFile(path)).trim().split("\n");
        assert.equal(lines.length, 1, "written once, whole");
      },
    );
  } finally {
    await new Deno.Command("umount", { args: [mount] }).output();
    await Deno.remove(mount, { recursive: true });
  }
});

Deno.test("an unwritable path does not stop the service; writes fail retryably", async () => {
  const { exporter, kit } = await started(config({ path: "/proc/tfo-file-exporter-test.json" }));
  const error = await send(exporter, traces("x")).then(() => undefined, (e) => e);
  assert.ok(error instanceof Error);
  assert.ok(!isPermanent(error));
  assert.ok(kit.lines.some((l) => l.level === "error"), "the start logged the problem");
  await exporter.shutdown();
});

Deno.test("the config is the Collector's, strictly", () => {
  const bad = (c: Record<string, unknown>) => !fileExporterConfigSchema.safeParse(c).success;
  assert.ok(bad({}));
  assert.ok(bad({ path: "x", append: true, rotation: {} }));
  assert.ok(bad({ path: "x", format: "xml" }));
  assert.ok(bad({ path: "x", compression: "gzip" }));
  assert.ok(bad({ path: "x", encoding: "otlp_json" }));
  assert.ok(bad({ path: "a/*/b/*", group_by: { enabled: true } }));
  assert.ok(bad({ path: "*/b", group_by: { enabled: true } }));
  assert.ok(bad({ path: "x", directory_permissions: "0755" }));
  const c = fileExporterConfigSchema.parse({ path: "x", rotation: {} });
  assert.deepEqual(c.rotation, {
    max_megabytes: 100,
    max_days: 0,
    max_backups: 100,
    localtime: false,
  });
  assert.equal(c.flush_interval, 1000);
  assert.equal(c.group_by.resource_attribute, "fileexporter.path_segment");
  assert.equal(c.group_by.max_open_files, 100);
});
