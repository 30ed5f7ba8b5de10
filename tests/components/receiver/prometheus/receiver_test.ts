/** The prometheus receiver against local Deno.serve targets. */
import assert from "node:assert/strict";
import { Capture, freePort, HOST, metricsByName, numberPoint, receiverWith } from "./_helpers.ts";
import { prometheusReceiverFactory } from "../../../../components/receiver/prometheus/factory.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

interface Seen {
  authorization: string | null;
  accept: string | null;
  timeout: string | null;
  url: string;
}

function serveText(body: () => string, seen: Seen[], contentType = "text/plain; version=0.0.4") {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    seen.push({
      authorization: req.headers.get("authorization"),
      accept: req.headers.get("accept"),
      timeout: req.headers.get("x-prometheus-scrape-timeout-seconds"),
      url: req.url,
    });
    return new Response(body(), { headers: { "content-type": contentType } });
  });
}

Deno.test("prometheus receiver scrapes a target with basic auth, negotiating OpenMetrics", async () => {
  const seen: Seen[] = [];
  const server = serveText(() => "# TYPE app_up gauge\napp_up 1\n", seen);
  const capture = new Capture();
  const receiver = receiverWith({
    config: {
      scrape_configs: [{
        job_name: "web",
        scrape_interval: "300ms",
        metrics_path: "/custom",
        params: { module: ["http_2xx"] },
        basic_auth: { username: "alice", password: "s3cret" },
        static_configs: [{ targets: [`127.0.0.1:${server.addr.port}`], labels: { zone: "eu" } }],
      }],
    },
  }, capture);
  try {
    await receiver.start(HOST);
    const [data] = await capture.waitFor(1);
    assert.equal(seen[0]!.authorization, `Basic ${btoa("alice:s3cret")}`);
    assert.match(seen[0]!.accept!, /^application\/openmetrics-text;version=1\.0\.0;q=0\.5,/);
    assert.match(seen[0]!.accept!, /text\/plain;version=0\.0\.4/);
    assert.equal(seen[0]!.timeout, "0.3");
    assert.equal(new URL(seen[0]!.url).pathname, "/custom");
    assert.equal(new URL(seen[0]!.url).searchParams.get("module"), "http_2xx");
    const m = metricsByName(data!);
    assert.equal(numberPoint(m.get("up")).value, 1);
    assert.equal(numberPoint(m.get("app_up")).value, 1);
    assert.deepEqual(numberPoint(m.get("app_up")).attributes, [{ key: "zone", value: "eu" }]);
    for (
      const name of ["scrape_duration_seconds", "scrape_samples_scraped", "scrape_series_added"]
    ) {
      assert.ok(m.has(name), name);
    }
    assert.equal(numberPoint(m.get("scrape_samples_scraped")).value, 1);
    assert.equal(m.get("scrape_duration_seconds")!.unit, "seconds");
    const attrs = Object.fromEntries(
      data!.resourceMetrics[0]!.resource.attributes.map((a) => [a.key, a.value]),
    );
    assert.equal(attrs["service.name"], "web");
    assert.equal(attrs["service.instance.id"], `127.0.0.1:${server.addr.port}`);
    assert.equal(attrs["server.port"], String(server.addr.port));
    assert.equal(attrs["url.scheme"], "http");
  } finally {
    await receiver.shutdown();
    await server.shutdown();
  }
});

Deno.test("prometheus receiver sends an authorization header from a credentials file", async () => {
  const seen: Seen[] = [];
  const server = serveText(() => "x 1\n", seen);
  const file = await Deno.makeTempFile();
  await Deno.writeTextFile(file, "tok-123\n");
  const capture = new Capture();
  const receiver = receiverWith({
    config: {
      scrape_configs: [{
        job_name: "api",
        scrape_interval: "300ms",
        authorization: { credentials_file: file },
        static_configs: [{ targets: [`127.0.0.1:${server.addr.port}`] }],
      }],
    },
  }, capture);
  try {
    await receiver.start(HOST);
    await capture.waitFor(1);
    assert.equal(seen[0]!.authorization, "Bearer tok-123");
  } finally {
    await receiver.shutdown();
    await server.shutdown();
    await Deno.remove(file);
  }
});

Deno.test("a target that is down reports up 0 and the receiver keeps going", async () => {
  const capture = new Capture();
  const receiver = receiverWith({
    config: {
      scrape_configs: [{
        job_name: "gone",
        scrape_interval: "200ms",
        static_configs: [{ targets: [`127.0.0.1:${freePort()}`] }],
      }],
    },
  }, capture);
  try {
    await receiver.start(HOST);
    const scrapes = await capture.waitFor(2);
    for (const data of scrapes) {
      const m = metricsByName(data);
      assert.equal(numberPoint(m.get("up")).value, 0);
      assert.equal(numberPoint(m.get("scrape_samples_scraped")).value, 0);
      assert.equal(data.resourceMetrics[0]!.resource.attributes[0]!.value, "gone");
    }
  } finally {
    await receiver.shutdown();
  }
});

Deno.test("series that disappear, or a failing scrape, produce staleness markers", async () => {
  let round = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
    round++;
    if (round === 3) return new Response("oops", { status: 500 });
    const body = round === 1 ? "# TYPE a_total counter\na_total 1\nb 2\n" : "b 3\n";
    return new Response(body);
  });
  const capture = new Capture();
  const receiver = receiverWith({
    config: {
      scrape_configs: [{
        job_name: "flaky",
        scrape_interval: "200ms",
        static_configs: [{ targets: [`127.0.0.1:${server.addr.port}`] }],
      }],
    },
  }, capture);
  try {
    await receiver.start(HOST);
    const [, second, third] = await capture.waitFor(3);
    const m2 = metricsByName(second!);
    const a = numberPoint(m2.get("a_total"));
    assert.equal(a.flags, 1);
    assert.equal(a.value, undefined);
    assert.equal(numberPoint(m2.get("b")).value, 3);
    const m3 = metricsByName(third!);
    assert.equal(numberPoint(m3.get("up")).value, 0);
    assert.equal(numberPoint(m3.get("b")).flags, 1);
    assert.equal(m3.has("a_total"), false);
  } finally {
    await receiver.shutdown();
    await server.shutdown();
  }
});

Deno.test("honor_labels false renames clashing labels; metric_relabel_configs drop and rewrite", async () => {
  const server = serveText(
    () => 'm{job="inner",keep="x"} 1\ndrop_me 2\nother{instance="i"} 3\n',
    [],
  );
  const capture = new Capture();
  const receiver = receiverWith({
    config: {
      global: { external_labels: { cluster: "c1" } },
      scrape_configs: [{
        job_name: "outer",
        scrape_interval: "300ms",
        static_configs: [{ targets: [`127.0.0.1:${server.addr.port}`] }],
        metric_relabel_configs: [
          { source_labels: ["__name__"], regex: "drop_.*", action: "drop" },
          { source_labels: ["keep"], target_label: "kept", replacement: "was-$1" },
        ],
      }],
    },
  }, capture);
  try {
    await receiver.start(HOST);
    const [data] = await capture.waitFor(1);
    const m = metricsByName(data!);
    assert.equal(m.has("drop_me"), false);
    assert.deepEqual(numberPoint(m.get("m")).attributes, [
      { key: "cluster", value: "c1" },
      { key: "exported_job", value: "inner" },
      { key: "keep", value: "x" },
      { key: "kept", value: "was-x" },
    ]);
    assert.ok(numberPoint(m.get("other")).attributes.some((a) => a.key === "exported_instance"));
    assert.equal(numberPoint(m.get("scrape_samples_scraped")).value, 3);
    assert.equal(numberPoint(m.get("scrape_samples_post_metric_relabeling")).value, 2);
  } finally {
    await receiver.shutdown();
    await server.shutdown();
  }
});

Deno.test("relabel_configs can drop targets and rewrite the address", async () => {
  const capture = new Capture();
  const receiver = receiverWith({
    config: {
      scrape_configs: [{
        job_name: "r",
        static_configs: [{ targets: ["a:1", "b:2"], labels: { tier: "x" } }],
        relabel_configs: [
          { source_labels: ["__address__"], regex: "b:.*", action: "drop" },
          {
            source_labels: ["__address__"],
            regex: "(.*):1",
            target_label: "__address__",
            replacement: "${1}:9100",
          },
        ],
      }],
    },
  }, capture);
  try {
    await receiver.start(HOST);
    assert.deepEqual(receiver.targets, ["http://a:9100/metrics"]);
  } finally {
    await receiver.shutdown();
  }
});

Deno.test("kubernetes_sd_configs refuses the roles and keys tfo lacks with a clear error", () => {
  for (const sd of [{ role: "endpoints" }, { role: "pod", api_server: "https://x" }]) {
    const parsed = prometheusReceiverFactory.configSchema.safeParse({
      config: { scrape_configs: [{ job_name: "k8s", kubernetes_sd_configs: [sd] }] },
    });
    assert.equal(parsed.success, false, JSON.stringify(sd));
  }
  const role = prometheusReceiverFactory.configSchema.safeParse({
    config: { scrape_configs: [{ job_name: "k8s", kubernetes_sd_configs: [{ role: "ingress" }] }] },
  });
  assert.match(JSON.stringify(role.error?.issues), /must be pod, node or service/);
});

Deno.test("the config schema applies Prometheus defaults and rejects a timeout over the interval", () => {
  const parsed = prometheusReceiverFactory.configSchema.parse({
    config: { scrape_configs: [{ job_name: "j" }] },
  });
  assert.equal(parsed.config.global.scrape_interval, 60_000);
  assert.equal(parsed.config.global.scrape_timeout, 10_000);
  const job = parsed.config.scrape_configs[0]!;
  assert.equal(job.metrics_path, "/metrics");
  assert.equal(job.scheme, "http");
  assert.equal(job.honor_labels, false);
  assert.equal(job.honor_timestamps, true);
  const bad = prometheusReceiverFactory.configSchema.safeParse({
    config: { scrape_configs: [{ job_name: "j", scrape_interval: "5s", scrape_timeout: "10s" }] },
  });
  assert.equal(bad.success, false);
  const dup = prometheusReceiverFactory.configSchema.safeParse({
    config: { scrape_configs: [{ job_name: "j" }, { job_name: "j" }] },
  });
  assert.match(JSON.stringify(dup.error?.issues), /defined more than once/);
});

Deno.test("an OpenMetrics response is parsed as OpenMetrics: _created start times and exemplars", async () => {
  const body = `# TYPE jobs counter
jobs_total 7 # {trace_id="4bf92f3577b34da6a3ce929d0e0e4736"} 1
jobs_created 1600000000.5
# TYPE lat histogram
lat_bucket{le="1"} 2
lat_bucket{le="+Inf"} 3 # {span_id="00f067aa0ba902b7"} 4.5
lat_sum 6
lat_count 3
lat_created 1600000001
# EOF
`;
  const server = serveText(
    () => body,
    [],
    "application/openmetrics-text; version=1.0.0; charset=utf-8",
  );
  const capture = new Capture();
  const receiver = receiverWith({
    config: {
      scrape_configs: [{
        job_name: "om",
        scrape_interval: "300ms",
        static_configs: [{ targets: [`127.0.0.1:${server.addr.port}`] }],
      }],
    },
  }, capture);
  try {
    await receiver.start(HOST);
    const [data] = await capture.waitFor(1);
    const m = metricsByName(data!);
    const jobs = numberPoint(m.get("jobs_total"));
    assert.equal(jobs.startTimeUnixNano, 1600000000_500_000_000n);
    assert.equal(jobs.exemplars.length, 1);
    assert.equal(m.has("jobs_created"), false);
    const lat = m.get("lat")!;
    assert.ok(lat.data?.type === "histogram");
    assert.equal(lat.data.dataPoints[0]!.startTimeUnixNano, 1600000001_000_000_000n);
    assert.deepEqual(lat.data.dataPoints[0]!.bucketCounts, [2n, 1n]);
    assert.equal(lat.data.dataPoints[0]!.exemplars[0]!.spanId.length, 8);
  } finally {
    await receiver.shutdown();
    await server.shutdown();
  }
});
