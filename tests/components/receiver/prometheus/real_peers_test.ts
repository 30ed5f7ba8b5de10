/**
 * The prometheus receiver against real peers from Debian's packages: `prometheus-node-exporter`
 * and a Prometheus server's own `/metrics`, both started here on free loopback ports. Skipped (by
 * name) when the binaries are missing; CI installs them (`apt-get install prometheus
 * prometheus-node-exporter`).
 */
import assert from "node:assert/strict";
import { parseExposition } from "../../../../lib/prometheus/mod.ts";
import type { Exposition, MetricType } from "../../../../lib/prometheus/types.ts";
import type { HistogramDataPoint, Metric } from "../../../../lib/pdata/types.ts";
import { Capture, freePort, HOST, metricsByName, numberPoint, receiverWith } from "./_helpers.ts";

function findBinary(name: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":").concat(["/usr/bin", "/usr/sbin"])) {
    try {
      const path = `${dir}/${name}`;
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

const NODE_EXPORTER = findBinary("prometheus-node-exporter") ?? findBinary("node_exporter");
const PROMETHEUS = findBinary("prometheus");

async function waitReady(url: string, child: Deno.ChildProcess): Promise<void> {
  const deadline = Date.now() + 20_000;
  let exited = false;
  child.status.then(() => exited = true);
  while (Date.now() < deadline) {
    if (exited) throw new Error(`The peer exited before serving ${url}`);
    try {
      const r = await fetch(url);
      await r.body?.cancel();
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`The peer did not serve ${url} within 20s`);
}

async function stop(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGTERM");
  } catch {
    // already gone
  }
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }, 5000);
  await child.status;
  clearTimeout(timer);
}

async function rawFetch(url: string): Promise<Exposition> {
  const r = await fetch(url, { headers: { Accept: "text/plain;version=0.0.4" } });
  return parseExposition(await r.text(), "text");
}

const EXPECTED: Readonly<Record<MetricType, string>> = {
  counter: "sum",
  gauge: "gauge",
  unknown: "gauge",
  histogram: "histogram",
  summary: "summary",
  info: "sum",
  stateset: "sum",
  gaugehistogram: "gauge",
};

/** Checks every family of a text exposition arrived, typed as the Collector types it. */
function assertAllFamilies(raw: Exposition, got: Map<string, Metric>): number {
  let checked = 0;
  for (const [family, meta] of raw.metadata) {
    const sampled = raw.samples.some((s) => s.name === family || s.name.startsWith(`${family}_`));
    if (!sampled) continue;
    const metric = got.get(family);
    assert.ok(metric !== undefined, `family ${family} (${meta.type}) arrived`);
    assert.equal(metric.data?.type, EXPECTED[meta.type], `type of ${family}`);
    if (meta.type === "counter") {
      assert.ok(metric.data?.type === "sum" && metric.data.isMonotonic, `${family} is monotonic`);
    }
    assert.equal(metric.description, meta.help, `help of ${family}`);
    checked++;
  }
  return checked;
}

function serverTargets(receiverConfig: { targets: string[]; job: string }) {
  return {
    config: {
      scrape_configs: [{
        job_name: receiverConfig.job,
        scrape_interval: "1s",
        static_configs: [{ targets: receiverConfig.targets }],
      }],
    },
  };
}

Deno.test({
  name: NODE_EXPORTER === undefined
    ? "prometheus receiver scrapes prometheus-node-exporter (skipped: prometheus-node-exporter is not installed)"
    : "prometheus receiver scrapes prometheus-node-exporter: every family, typed, up 1",
  ignore: NODE_EXPORTER === undefined,
  async fn() {
    const port = freePort();
    const child = new Deno.Command(NODE_EXPORTER!, {
      args: [`--web.listen-address=127.0.0.1:${port}`],
      stdout: "null",
      stderr: "null",
    }).spawn();
    const capture = new Capture();
    const receiver = receiverWith(
      serverTargets({ job: "node", targets: [`127.0.0.1:${port}`] }),
      capture,
    );
    try {
      await waitReady(`http://127.0.0.1:${port}/metrics`, child);
      await receiver.start(HOST);
      const [data] = await capture.waitFor(1, 15_000);
      const raw = await rawFetch(`http://127.0.0.1:${port}/metrics`);
      const got = metricsByName(data!);
      assert.equal(numberPoint(got.get("up")).value, 1);
      const checked = assertAllFamilies(raw, got);
      assert.ok(checked > 50, `only ${checked} families`);
      const resource = Object.fromEntries(
        data!.resourceMetrics[0]!.resource.attributes.map((a) => [a.key, a.value]),
      );
      assert.equal(resource["service.name"], "node");
      assert.equal(resource["service.instance.id"], `127.0.0.1:${port}`);
      // A counter with labels: node_cpu_seconds_total per cpu and mode, started at first sight.
      const cpu = got.get("node_cpu_seconds_total");
      if (cpu !== undefined) {
        assert.ok(cpu.data?.type === "sum");
        const p = cpu.data.dataPoints[0]!;
        assert.ok(p.attributes.some((a) => a.key === "cpu"));
        assert.ok(p.attributes.some((a) => a.key === "mode"));
        assert.ok(!p.attributes.some((a) => a.key === "job" || a.key === "instance"));
        assert.equal(p.startTimeUnixNano, p.timeUnixNano);
      }
    } finally {
      await receiver.shutdown();
      await stop(child);
    }
  },
});

function histogramsOf(
  raw: Exposition,
): Map<string, { buckets: Map<string, number>; sum: number; count: number }> {
  const out = new Map<string, { buckets: Map<string, number>; sum: number; count: number }>();
  for (const [family, meta] of raw.metadata) {
    if (meta.type !== "histogram") continue;
    for (const s of raw.samples) {
      if (!s.name.startsWith(`${family}_`)) continue;
      const suffix = s.name.slice(family.length);
      const rest = s.labels.filter((l) => l.name !== "le").map((l) => `${l.name}=${l.value}`).join(
        ",",
      );
      const key = `${family}{${rest}}`;
      let h = out.get(key);
      if (h === undefined) out.set(key, h = { buckets: new Map(), sum: NaN, count: NaN });
      if (suffix === "_bucket") {
        h.buckets.set(s.labels.find((l) => l.name === "le")!.value, s.value);
      } else if (suffix === "_sum") h.sum = s.value;
      else if (suffix === "_count") h.count = s.value;
    }
  }
  return out;
}

function pointKey(name: string, p: HistogramDataPoint): string {
  return `${name}{${p.attributes.map((a) => `${a.key}=${a.value}`).join(",")}}`;
}

Deno.test({
  name: PROMETHEUS === undefined
    ? "prometheus receiver scrapes a Prometheus server (skipped: prometheus is not installed)"
    : "prometheus receiver scrapes a Prometheus server: every family typed, histograms match the exposition",
  ignore: PROMETHEUS === undefined,
  async fn() {
    const port = freePort();
    const dir = await Deno.makeTempDir();
    const configFile = `${dir}/prometheus.yml`;
    await Deno.writeTextFile(configFile, "global:\n  scrape_interval: 1h\nscrape_configs: []\n");
    const child = new Deno.Command(PROMETHEUS!, {
      args: [
        `--config.file=${configFile}`,
        `--web.listen-address=127.0.0.1:${port}`,
        `--storage.tsdb.path=${dir}/data`,
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
    const capture = new Capture();
    const receiver = receiverWith(
      serverTargets({ job: "prometheus", targets: [`127.0.0.1:${port}`] }),
      capture,
    );
    try {
      const url = `http://127.0.0.1:${port}/metrics`;
      await waitReady(`http://127.0.0.1:${port}/-/ready`, child);
      const before = await rawFetch(url);
      await receiver.start(HOST);
      const [data] = await capture.waitFor(1, 15_000);
      const after = await rawFetch(url);
      const got = metricsByName(data!);
      assert.equal(numberPoint(got.get("up")).value, 1);
      assert.ok(assertAllFamilies(after, got) > 50);

      // Histograms that did not move between the two raw fetches must match what was scraped.
      const rawBefore = histogramsOf(before);
      const rawAfter = histogramsOf(after);
      const scraped = new Map<string, HistogramDataPoint>();
      for (const rm of data!.resourceMetrics) {
        for (const sm of rm.scopeMetrics) {
          for (const m of sm.metrics) {
            if (m.data?.type !== "histogram") continue;
            for (const p of m.data.dataPoints) scraped.set(pointKey(m.name, p), p);
          }
        }
      }
      let compared = 0;
      for (const [key, h] of rawAfter) {
        const b = rawBefore.get(key);
        if (b === undefined || b.count !== h.count || b.sum !== h.sum) continue;
        const p = scraped.get(key);
        assert.ok(p !== undefined, `histogram ${key} arrived`);
        assert.equal(Number(p.count), h.count, `count of ${key}`);
        assert.equal(p.sum, h.sum, `sum of ${key}`);
        const bounds = [...h.buckets.keys()].filter((le) => le !== "+Inf").map(Number);
        assert.deepEqual(p.explicitBounds, bounds, `bounds of ${key}`);
        let cumulative = 0;
        const les = [...h.buckets.keys()];
        p.bucketCounts.forEach((c, i) => {
          cumulative += Number(c);
          assert.equal(cumulative, h.buckets.get(les[i]!), `bucket le=${les[i]} of ${key}`);
        });
        assert.equal(cumulative, h.count);
        compared++;
      }
      assert.ok(compared >= 3, `only ${compared} stable histograms compared`);
      // Internal consistency of every histogram scraped.
      for (const [key, p] of scraped) {
        assert.equal(p.bucketCounts.length, p.explicitBounds.length + 1, key);
        assert.equal(p.bucketCounts.reduce((a, c) => a + c, 0n), p.count, key);
      }
    } finally {
      await receiver.shutdown();
      await stop(child);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
