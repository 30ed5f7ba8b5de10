/**
 * Helpers for filelog receiver tests: a receiver over a temp dir, a recording consumer, a host.
 *
 * @module
 */
import type { Extension, Host } from "../../../../components/component.ts";
import {
  createFilelogReceiver,
  type FilelogOptions,
  type FilelogReceiver,
} from "../../../../components/receiver/filelog/factory.ts";
import { filelogConfigSchema } from "../../../../components/receiver/filelog/config.ts";
import type { Consumer } from "../../../../lib/consumer/consumer.ts";
import type { Payload } from "../../../../lib/pdata/payload.ts";
import type { LogRecord, ResourceLogs } from "../../../../lib/pdata/types.ts";
import { NOOP_LOGGER } from "../../../../lib/telemetry/logger.ts";
import { MetricRegistry } from "../../../../lib/telemetry/metrics.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

/** A consumer that records every payload, optionally failing on demand. */
export function recorder() {
  const payloads: Payload<"logs">[] = [];
  const state = { fail: false };
  const consumer: Consumer<"logs"> = {
    mutatesData: false,
    consume(payload) {
      if (state.fail) return Promise.reject(new Error("Refused for the test"));
      payloads.push(payload.retain()); // kept past the call: a lease (`Payload.retain`)
      return Promise.resolve();
    },
  };
  const records = (): { record: LogRecord; resource: ResourceLogs["resource"] }[] =>
    payloads.flatMap((p) =>
      p.read().resourceLogs.flatMap((rl) =>
        rl.scopeLogs.flatMap((sl) =>
          sl.logRecords.map((record) => ({ record, resource: rl.resource }))
        )
      )
    );
  const bodies = (): unknown[] => records().map((r) => r.record.body);
  return { payloads, consumer, state, records, bodies };
}

/** A host with these extensions. */
export function hostWith(extensions: Record<string, Extension> = {}): Host {
  return { getExtension: (id) => extensions[id], status: () => "running" };
}

/** Creates a filelog receiver from raw config. */
export function filelog(
  raw: Record<string, unknown>,
  consumer: Consumer<"logs">,
  id = "filelog",
  options: FilelogOptions = {},
): FilelogReceiver {
  const config = filelogConfigSchema.parse(raw);
  return createFilelogReceiver(
    {
      id,
      config,
      logger: NOOP_LOGGER,
      meter: new MetricRegistry().meter(),
      buildInfo: { command: "tfo", version: "test" },
    },
    { logs: consumer },
    options,
  );
}

/** Appends text to a file. */
export async function append(path: string, text: string): Promise<void> {
  await Deno.writeTextFile(path, text, { append: true });
}

/** A value of an attribute of a record. */
export function attr(record: LogRecord, key: string): unknown {
  return record.attributes.find((a) => a.key === key)?.value;
}
