/**
 * Runs sampling cases through one `otelcol-contrib` v0.161.0 (built by `bench/peers.sh`): each case
 * gets its own pipeline (OTLP/HTTP receiver → the case's processor → a file exporter), its
 * requests are posted as OTLP/JSON, and what reached the file is read back decoded.
 */
import {
  decodeLogsJson,
  decodeTracesJson,
  encodeLogsJson,
  encodeTracesJson,
} from "../../../../lib/otlp/json.ts";
import type { LogsData, TracesData } from "../../../../lib/pdata/types.ts";
import {
  executableExists,
  PEERS_BIN,
  TextCollector,
  waitFor,
  waitForPort,
} from "../../../fixtures/interop/services.ts";
import { freePort } from "../../../fixtures/interop/services.ts";

/** The contrib Collector binary. */
export const OTELCOL_CONTRIB = `${PEERS_BIN}/otelcol-contrib`;
/** True when the peer is built. */
export const HAS_CONTRIB = executableExists(OTELCOL_CONTRIB);

/** One case: a processor config and the requests it gets. */
export interface ContribCase {
  signal: "traces" | "logs";
  /** The processor type, e.g. `tail_sampling`. */
  processor: string;
  config: unknown;
  requests: (TracesData | LogsData)[];
  /** How long to wait after sending before reading (tail sampling waits for decisions). */
  settleMs?: number;
  /** Real time between this case's requests (for late spans after a decision). */
  gapMs?: number;
  /** Extra Collector command-line arguments (feature gates). */
  args?: string[];
}

/** What each case's exporter wrote, decoded, one request per entry. */
export async function runContrib(
  cases: readonly ContribCase[],
): Promise<(TracesData | LogsData)[][]> {
  const dir = await Deno.makeTempDir({ prefix: "tfo-sampling-diff-" });
  const ports = cases.map(() => freePort());
  const yaml = [
    "receivers:",
    ...cases.map((_, i) =>
      `  otlp/c${i}: { protocols: { http: { endpoint: 127.0.0.1:${ports[i]} } } }`
    ),
    "processors:",
    ...cases.map((c, i) => `  ${c.processor}/c${i}: ${JSON.stringify(c.config)}`),
    "exporters:",
    ...cases.map((_, i) =>
      `  file/c${i}: { path: ${
        JSON.stringify(`${dir}/c${i}.json`)
      }, format: json, flush_interval: 100ms }`
    ),
    "service:",
    "  telemetry: { logs: { level: error }, metrics: { level: none } }",
    "  pipelines:",
    ...cases.map((c, i) =>
      `    ${c.signal}/c${i}: { receivers: [otlp/c${i}], processors: [${c.processor}/c${i}], exporters: [file/c${i}] }`
    ),
  ].join("\n");
  await Deno.writeTextFile(`${dir}/config.yaml`, yaml);
  const args = [...new Set(cases.flatMap((c) => c.args ?? []))];
  const child = new Deno.Command(OTELCOL_CONTRIB, {
    args: ["--config", `${dir}/config.yaml`, ...args],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new TextCollector(child.stderr);
  try {
    const exited = child.status.then((s) => {
      throw new Error(`otelcol-contrib exited with ${s.code}:\n${stderr.text}`);
    });
    exited.catch(() => {});
    await Promise.race([Promise.all(ports.map((p) => waitForPort(p, 30_000))), exited]);
    const maxRequests = Math.max(...cases.map((c) => c.requests.length));
    for (let r = 0; r < maxRequests; r++) {
      if (r > 0) {
        await new Promise((res) => setTimeout(res, Math.max(...cases.map((c) => c.gapMs ?? 0))));
      }
      for (const [i, c] of cases.entries()) {
        const req = c.requests[r];
        if (req === undefined) continue;
        const body = c.signal === "traces"
          ? encodeTracesJson(req as TracesData)
          : encodeLogsJson(req as LogsData);
        const res = await fetch(`http://127.0.0.1:${ports[i]}/v1/${c.signal}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
        });
        await res.body?.cancel();
        if (!res.ok) throw new Error(`case ${i}: the Collector answered ${res.status}`);
      }
    }
    const settle = Math.max(500, ...cases.map((c) => c.settleMs ?? 0));
    await new Promise((r) => setTimeout(r, settle));
    const read = async (i: number) => {
      let text = "";
      try {
        text = await Deno.readTextFile(`${dir}/c${i}.json`);
      } catch {
        return [];
      }
      return text.split("\n").filter((l) => l.trim() !== "").map((l) =>
        cases[i]!.signal === "traces" ? decodeTracesJson(l) : decodeLogsJson(l)
      );
    };
    // The file exporter flushes every 100 ms; wait until two reads agree.
    let last = "";
    await waitFor(
      "stable Collector output",
      async () => {
        const now = JSON.stringify(
          await Promise.all(cases.map((_, i) => read(i))),
          (_k, v) =>
            typeof v === "bigint" ? String(v) : v instanceof Uint8Array ? Array.from(v) : v,
        );
        const same = now === last;
        last = now;
        return same;
      },
      30_000,
      300,
    );
    return await Promise.all(cases.map((_, i) => read(i)));
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
}
