/**
 * Differential tests: the same OTLP requests through tfo's `transform`/`filter` processors and
 * through the OpenTelemetry Collector contrib v0.161.0 (`otelcol-contrib`, built by
 * `bench/peers.sh`) with the same processor config, compared after decoding. One Collector runs
 * every case, each in its own pipeline: an OTLP/HTTP receiver, the processor, a file exporter.
 * Skipped, by name, when the peer binary is absent.
 */
import assert from "node:assert/strict";
import { filterConfigSchema } from "../../../../components/processor/filter/config.ts";
import { createFilterProcessor } from "../../../../components/processor/filter/factory.ts";
import { transformConfigSchema } from "../../../../components/processor/transform/config.ts";
import { createTransformProcessor } from "../../../../components/processor/transform/factory.ts";
import {
  decodeLogsJson,
  decodeMetricsJson,
  decodeTracesJson,
  encodeLogsJson,
  encodeMetricsJson,
  encodeTracesJson,
} from "../../../../lib/otlp/json.ts";
import { OTLP_SIGNALS, type OtlpSignal } from "../../../../lib/otlp/signals.ts";
import { cloneData } from "../../../../lib/pdata/clone.ts";
import { Payload } from "../../../../lib/pdata/payload.ts";
import type { Signal, SignalData } from "../../../../lib/pdata/types.ts";
import { NOOP_LOGGER } from "../../../../lib/telemetry/logger.ts";
import {
  executableExists,
  normalize,
  PEERS_BIN,
  TextCollector,
  waitFor,
  waitForPort,
} from "../../../fixtures/interop/services.ts";
import { CASES, type DiffCase } from "./_diff_cases.ts";
import { logs, metrics, traces } from "./_diff_data.ts";
import { freePort } from "../../../fixtures/interop/services.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

const OTELCOL_CONTRIB = `${PEERS_BIN}/otelcol-contrib`;
const HAS_PEER = executableExists(OTELCOL_CONTRIB);

const INPUT: { [S in Signal]: () => SignalData[S] } = { traces, metrics, logs };
const encode = (s: Signal, d: SignalData[Signal]): string =>
  s === "traces"
    ? encodeTracesJson(d as SignalData["traces"])
    : s === "metrics"
    ? encodeMetricsJson(d as SignalData["metrics"])
    : encodeLogsJson(d as SignalData["logs"]);
const decode = (s: Signal, text: string): SignalData[Signal] =>
  s === "traces"
    ? decodeTracesJson(text)
    : s === "metrics"
    ? decodeMetricsJson(text)
    : decodeLogsJson(text);
const top = (s: Signal, d: SignalData[Signal]): unknown[] =>
  s === "traces"
    ? (d as SignalData["traces"]).resourceSpans
    : s === "metrics"
    ? (d as SignalData["metrics"]).resourceMetrics
    : (d as SignalData["logs"]).resourceLogs;

/**
 * tfo's output for one case: the resource entries that reached the next consumer. With `proto`
 * the input arrives as protobuf, decoded ahead as the otlp receiver does (only the item fields the
 * processor declared), and the output is taken as an exporter takes it (encoded, copying what no
 * processor touched), then decoded again.
 */
async function runTfo(c: DiffCase, proto = false): Promise<unknown[]> {
  const out: unknown[] = [];
  const codec = OTLP_SIGNALS[c.signal] as OtlpSignal<Signal>;
  const next = {
    mutatesData: false,
    consume: (p: Payload<Signal>) => {
      const data = proto ? codec.proto.decode(p.toProto(codec.encodeProto)) : p.read();
      out.push(...top(c.signal, data));
      return Promise.resolve();
    },
  };
  const data = cloneData(c.signal, INPUT[c.signal]());
  const processor = c.processor === "transform"
    ? createTransformProcessor(transformConfigSchema.parse(c.config), c.signal, next, {
      logger: NOOP_LOGGER,
    })
    : createFilterProcessor(filterConfigSchema.parse(c.config), c.signal, next, {
      logger: NOOP_LOGGER,
    });
  let payload = Payload.of(c.signal, data);
  if (proto) {
    payload = Payload.fromProto(c.signal, codec.encodeProto(data), codec.proto);
    payload.read(processor.needs!.fields, processor.needs!.keys);
  }
  try {
    await processor.consume(payload);
  } catch {
    // A failed payload sends nothing on, as in the Collector (propagate).
  }
  return out;
}

function normalized(s: Signal, resources: unknown[]): unknown {
  const wrapper = s === "traces"
    ? { resourceSpans: resources }
    : s === "metrics"
    ? { resourceMetrics: resources }
    : { resourceLogs: resources };
  // Through tfo's own JSON codec on both sides, so only content differences remain.
  return normalize(top(s, decode(s, encode(s, wrapper as SignalData[Signal]))));
}

/** The same data with every attribute list in key order. */
function sortAttributes(v: unknown): unknown {
  if (Array.isArray(v)) {
    const items = v.map(sortAttributes);
    return items.every((x) => x !== null && typeof x === "object" && "key" in x)
      ? items.sort((a, b) => (a as { key: string }).key < (b as { key: string }).key ? -1 : 1)
      : items;
  }
  if (v === null || typeof v !== "object") return v;
  const out: Record<string, unknown> = {};
  for (const [k, y] of Object.entries(v)) out[k] = sortAttributes(y);
  return out;
}

/** The same data with every metric's data points in attribute order. */
function sortPoints(v: unknown): unknown {
  const text = (x: unknown) => JSON.stringify(x, (_k, y) => typeof y === "bigint" ? `${y}` : y);
  const walk = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(walk);
    if (x === null || typeof x !== "object") return x;
    const out: Record<string, unknown> = {};
    for (const [k, y] of Object.entries(x)) {
      out[k] = k === "dataPoints" && Array.isArray(y)
        ? [...y].sort((a, b) => text(a.attributes) < text(b.attributes) ? -1 : 1)
        : walk(y);
    }
    return out;
  };
  return walk(v);
}

Deno.test({
  name: "OTTL processors give the Collector's output for every differential case",
  ignore: !HAS_PEER,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "tfo-ottl-diff-" });
    const ports = CASES.map(() => freePort());
    const key = (i: number) => `${CASES[i]!.processor}/c${i}`;
    const yaml = [
      "receivers:",
      ...CASES.map((_, i) =>
        `  otlp/c${i}: { protocols: { http: { endpoint: 127.0.0.1:${ports[i]} } } }`
      ),
      "processors:",
      ...CASES.map((c, i) => `  ${key(i)}: ${JSON.stringify(c.config)}`),
      "exporters:",
      ...CASES.map((_, i) =>
        `  file/c${i}: { path: ${
          JSON.stringify(`${dir}/c${i}.json`)
        }, format: json, flush_interval: 100ms }`
      ),
      "service:",
      "  telemetry: { logs: { level: error }, metrics: { level: none } }",
      "  pipelines:",
      ...CASES.map((c, i) =>
        `    ${c.signal}/c${i}: { receivers: [otlp/c${i}], processors: [${
          key(i)
        }], exporters: [file/c${i}] }`
      ),
    ].join("\n");
    await Deno.writeTextFile(`${dir}/config.yaml`, yaml);
    const child = new Deno.Command(OTELCOL_CONTRIB, {
      args: ["--config", `${dir}/config.yaml`],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const stderr = new TextCollector(child.stderr);
    try {
      const exited = child.status.then((s) => {
        throw new Error(`otelcol-contrib exited with ${s.code}:\n${stderr.text}`);
      });
      await Promise.race([Promise.all(ports.map((p) => waitForPort(p, 30_000))), exited]);
      exited.catch(() => {});
      const expected: unknown[][] = [];
      const expectedProto: unknown[][] = [];
      for (const [i, c] of CASES.entries()) {
        const body = encode(c.signal, INPUT[c.signal]());
        const res = await fetch(`http://127.0.0.1:${ports[i]}/v1/${c.signal}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
        });
        await res.body?.cancel();
        expected.push(await runTfo(c));
        expectedProto.push(await runTfo(c, true));
      }
      const read = async (i: number): Promise<unknown[]> => {
        let text = "";
        try {
          text = await Deno.readTextFile(`${dir}/c${i}.json`);
        } catch {
          return [];
        }
        return text.split("\n").filter((line) => line.trim() !== "").flatMap((line) =>
          top(CASES[i]!.signal, decode(CASES[i]!.signal, line))
        );
      };
      // Wait until every case that tfo says has output has it on the Collector's side too,
      // then a little longer for the flush of any output tfo did not expect.
      await waitFor(
        "the Collector's file exports",
        async () => {
          for (const i of CASES.keys()) {
            if (expected[i]!.length > 0 && (await read(i)).length === 0) return false;
          }
          return true;
        },
        30_000,
        100,
      ).catch(() => {});
      await new Promise((r) => setTimeout(r, 500));
      let failed = 0;
      for (const [i, c] of CASES.entries()) {
        const ok = await t.step(`${c.processor} ${c.signal}: ${c.name}`, async () => {
          let theirs = normalized(c.signal, await read(i));
          let ours = normalized(c.signal, expected[i]!);
          let oursProto = normalized(c.signal, expectedProto[i]!);
          if (/^(Parse|Extract|merge_maps)/.test(c.name)) {
            // Parsers and map literals build Go maps: their key order is random.
            theirs = sortAttributes(theirs);
            ours = sortAttributes(ours);
            oursProto = sortAttributes(oursProto);
          }
          if (c.name.startsWith("aggregate")) {
            // The Collector groups points in a Go map: their order is random.
            theirs = sortPoints(theirs);
            ours = sortPoints(ours);
            oursProto = sortPoints(oursProto);
          }
          assert.deepStrictEqual(ours, theirs);
          assert.deepStrictEqual(oursProto, theirs, "through protobuf, decoded partially");
        });
        if (!ok) failed++;
      }
      assert.ok(CASES.length >= 40, `at least 40 cases (have ${CASES.length})`);
      assert.equal(failed, 0, `${failed} of ${CASES.length} cases differ`);
    } finally {
      try {
        child.kill("SIGTERM");
      } catch {
        // already exited
      }
      await child.status;
      await stderr.done;
      await Deno.remove(dir, { recursive: true });
    }
  },
});
