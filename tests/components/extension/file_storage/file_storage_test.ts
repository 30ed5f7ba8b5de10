import assert from "node:assert/strict";
import { join } from "node:path";
import type { CreateSettings, Extension, Host } from "../../../../components/component.ts";
import {
  type FileStorageConfig,
  fileStorageConfigSchema,
} from "../../../../components/extension/file_storage/config.ts";
import {
  type FileStorageExtension,
  fileStorageFactory,
} from "../../../../components/extension/file_storage/factory.ts";
import { getStorageClient } from "../../../../lib/storage/provider.ts";
import { NOOP_LOGGER } from "../../../../lib/telemetry/logger.ts";
import { MetricRegistry } from "../../../../lib/telemetry/metrics.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

function settings(config: unknown, id = "file_storage"): CreateSettings<FileStorageConfig> {
  return {
    id,
    config: fileStorageConfigSchema.parse(config),
    logger: NOOP_LOGGER,
    meter: new MetricRegistry().meter(),
    buildInfo: { command: "tfo", version: "test" },
  };
}

function hostWith(extensions: Record<string, Extension>): Host {
  return { getExtension: (id) => extensions[id], status: () => "running" };
}

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "tfo_file_storage_" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("file_storage defaults are the Collector's, plus tfo's 8 MiB reserve", () => {
  assert.deepEqual(fileStorageConfigSchema.parse({}), {
    directory: "/var/lib/otelcol/file_storage",
    timeout: 1000,
    fsync: false,
    create_directory: false,
    directory_permissions: "0750",
    reserve_mib: 8,
    compaction: {
      on_start: false,
      on_rebound: false,
      max_transaction_size: 65_536,
      rebound_needed_threshold_mib: 100,
      rebound_trigger_threshold_mib: 10,
      check_interval: 5000,
      cleanup_on_start: false,
    },
  });
});

Deno.test("file_storage accepts a full Collector config and rejects unknown keys", () => {
  const config = fileStorageConfigSchema.parse({
    directory: "/var/lib/otelcol/mydir",
    timeout: "1s",
    compaction: { on_start: true, directory: "/tmp/", max_transaction_size: 65_536 },
    fsync: false,
  });
  assert.equal(config.compaction.directory, "/tmp/");
  assert.equal(fileStorageConfigSchema.safeParse({ directry: "/x" }).success, false);
  assert.equal(
    fileStorageConfigSchema.safeParse({ compaction: { on_strat: true } }).success,
    false,
  );
  assert.equal(fileStorageConfigSchema.safeParse({ directory_permissions: "rwx" }).success, false);
});

Deno.test("file_storage hands each component a client under its own prefix", async () => {
  await withDir(async (dir) => {
    const ext = fileStorageFactory.create(
      settings({ directory: dir, compaction: { on_start: true } }),
    );
    const host = hostWith({ file_storage: ext });
    await ext.start(host);
    const traces = getStorageClient(host, "file_storage", "exporter", "otlp", "traces");
    const logs = getStorageClient(host, "file_storage", "exporter", "otlp", "logs");
    const offsets = getStorageClient(host, "file_storage", "receiver", "filelog");
    assert.deepEqual(traces.prefix, ["exporter", "otlp", "traces"]);
    assert.deepEqual(offsets.prefix, ["receiver", "filelog", ""]);
    await traces.set(["k"], 1);
    await logs.set(["k"], 2);
    assert.equal(await traces.get(["k"]), 1);
    assert.equal(await logs.get(["k"]), 2);
    assert.throws(
      () => getStorageClient(host, "file_storage", "exporter", "otlp", "traces"),
      /Cannot get a storage client from extension "file_storage": exporter "otlp" \(traces\) already holds one/,
    );
    await traces.close();
    getStorageClient(host, "file_storage", "exporter", "otlp", "traces"); // free again
    await ext.shutdown();
    assert.equal(offsets.closed, true);
    await ext.shutdown();
    assert.throws(() => (ext as FileStorageExtension).getClient("exporter", "otlp"), /not running/);
  });
});

Deno.test("file_storage keeps data across a restart", async () => {
  await withDir(async (dir) => {
    for (const expected of [undefined, "kept"]) {
      const ext = fileStorageFactory.create(settings({ directory: dir }));
      const host = hostWith({ file_storage: ext });
      await ext.start(host);
      const client = getStorageClient(host, "file_storage", "extension", "agent");
      assert.equal(await client.get(["id"]), expected);
      await client.set(["id"], "kept");
      await ext.shutdown();
    }
  });
});

Deno.test("file_storage start fails clearly on a missing directory, a lock held, or no storage", async () => {
  await withDir(async (dir) => {
    const missing = join(dir, "nope");
    const ext = fileStorageFactory.create(settings({ directory: missing }));
    await assert.rejects(
      ext.start(hostWith({})),
      new RegExp(`Cannot open storage directory "${missing}": it does not exist`),
    );
    await ext.shutdown();

    const created = fileStorageFactory.create(
      settings({ directory: missing, create_directory: true, timeout: "100ms" }),
    );
    await created.start(hostWith({}));
    const twin = fileStorageFactory.create(
      settings({ directory: missing, timeout: "100ms" }, "file_storage/2"),
    );
    await assert.rejects(twin.start(hostWith({})), /it is locked by another process/);
    await twin.shutdown();

    const host = hostWith({ created, other: { start: async () => {}, shutdown: async () => {} } });
    assert.throws(
      () => getStorageClient(host, "absent", "exporter", "otlp", "traces"),
      /Cannot use storage "absent" for exporter "otlp": no such extension/,
    );
    assert.throws(
      () => getStorageClient(host, "other", "exporter", "otlp", "traces"),
      /Cannot use storage "other" for exporter "otlp": the extension offers no storage/,
    );
    await created.shutdown();
  });
});

Deno.test("file_storage stops without having started", async () => {
  await fileStorageFactory.create(settings({})).shutdown();
});
