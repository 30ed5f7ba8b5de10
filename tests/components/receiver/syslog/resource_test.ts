import assert from "node:assert/strict";
import type { CreateSettings } from "../../../../components/component.ts";
import { syslogReceiverFactory } from "../../../../components/receiver/syslog/factory.ts";
import {
  type SyslogConfig,
  syslogConfigSchema,
} from "../../../../components/receiver/syslog/config.ts";
import type { LogsData } from "../../../../lib/pdata/types.ts";
import { newEntry } from "../../../../lib/stanza/entry.ts";
import { entriesToLogsData } from "../../../../lib/stanza/logs_data.ts";
import { NOOP_LOGGER } from "../../../../lib/telemetry/logger.ts";
import { MetricRegistry } from "../../../../lib/telemetry/metrics.ts";
import { freePort, waitFor } from "../../../fixtures/interop/services.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

/** Each resource as `key=value,…` of its attributes, with the messages of its records. */
function byResource(data: readonly LogsData[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const d of data) {
    for (const rl of d.resourceLogs) {
      const key = rl.resource.attributes.map((a) => `${a.key}=${String(a.value)}`).join(",");
      const messages = rl.scopeLogs.flatMap((sl) =>
        sl.logRecords.map((r) => String(r.attributes.find((a) => a.key === "message")?.value))
      );
      out.set(key, [...(out.get(key) ?? []), ...messages]);
    }
  }
  return out;
}

Deno.test("syslog keeps resource attributes set by operators, one resource per host", async () => {
  const port = freePort();
  const received: LogsData[] = [];
  const settings: CreateSettings<SyslogConfig> = {
    id: "syslog",
    config: syslogConfigSchema.parse({
      protocol: "rfc5424",
      tcp: { listen_address: `127.0.0.1:${port}` },
      operators: [{ type: "move", from: "attributes.hostname", to: 'resource["host.name"]' }],
    }),
    logger: NOOP_LOGGER,
    meter: new MetricRegistry().meter({ receiver: "syslog" }),
    buildInfo: { command: "tfo", version: "test" },
  };
  const receiver = syslogReceiverFactory.create(settings, {
    logs: {
      mutatesData: false,
      consume(payload) {
        received.push(payload.read());
        return Promise.resolve();
      },
    },
  });
  await receiver.start({ getExtension: () => undefined, status: () => "running" });
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    // One write, so the three messages are read (and delivered) together.
    await conn.write(
      new TextEncoder().encode(
        "<14>1 2026-01-01T00:00:00Z alpha app - - - one\n" +
          "<14>1 2026-01-01T00:00:01Z beta app - - - two\n" +
          "<14>1 2026-01-01T00:00:02Z alpha app - - - three\n",
      ),
    );
    conn.close();
    await waitFor(
      "three records",
      () => {
        return [...byResource(received).values()].flat().length === 3 ? true : undefined;
      },
      10_000,
      20,
    );
    const groups = byResource(received);
    assert.deepEqual(groups.get("host.name=alpha"), ["one", "three"]);
    assert.deepEqual(groups.get("host.name=beta"), ["two"]);
    assert.equal(groups.size, 2);
    // The attribute was moved, not copied.
    for (const d of received) {
      for (const rl of d.resourceLogs) {
        for (const sl of rl.scopeLogs) {
          for (const r of sl.logRecords) {
            assert.equal(r.attributes.some((a) => a.key === "hostname"), false);
          }
        }
      }
    }
  } finally {
    await receiver.shutdown();
  }
});

Deno.test("entriesToLogsData groups equal resources in any attribute order and keeps record order", () => {
  const entry = (body: string, resource: Record<string, unknown>) => {
    const e = newEntry(body, 1n);
    e.resource = resource;
    return e;
  };
  const data = entriesToLogsData([
    entry("a", { "host.name": "h", "service.name": "s" }),
    entry("b", {}),
    entry("c", { "service.name": "s", "host.name": "h" }),
    entry("d", { "host.name": "h", "service.name": "s", n: 1n }),
    entry("e", {}),
  ]);
  const shape = data.resourceLogs.map((rl) => [
    rl.resource.attributes.map((a) => a.key).join(","),
    rl.scopeLogs[0]!.logRecords.map((r) => r.body).join(""),
  ]);
  assert.deepEqual(shape, [
    ["host.name,service.name", "ac"],
    ["", "be"],
    ["host.name,service.name,n", "d"],
  ]);
});
