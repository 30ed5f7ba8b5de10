/**
 * The kubelet_stats receiver against a fake kubelet (tests/fixtures/kubelet.ts) that serves a
 * recorded, real-shaped `/stats/summary` and `/pods` over TLS and checks the bearer token: the
 * Collector's metric names, units, types, values and resource attributes; extra metadata labels;
 * 401 and 403 answered with a clear logged error and recovered from; an unreachable kubelet a
 * logged retry, not a start failure; and the config refusing what tfo does not implement.
 */
import assert from "node:assert/strict";
import {
  createKubeletStatsReceiver,
  kubeletStatsReceiverFactory,
} from "../../../../components/receiver/kubelet_stats/factory.ts";
import {
  type KubeletStatsConfig,
  kubeletStatsConfigSchema,
} from "../../../../components/receiver/kubelet_stats/config.ts";
import { kubeletBaseUrl } from "../../../../components/receiver/kubelet_stats/client.ts";
import { summaryMetrics } from "../../../../components/receiver/kubelet_stats/metrics.ts";
import { PodMetadataReader } from "../../../../components/receiver/kubelet_stats/metadata.ts";
import { asSummary } from "../../../../components/receiver/kubelet_stats/summary.ts";
import type { Consumer } from "../../../../lib/consumer/consumer.ts";
import type { Metric, MetricsData, NumberDataPoint } from "../../../../lib/pdata/types.ts";
import { settingsFor } from "../../exporter/otlp/_kit.ts";
import {
  recordedPods,
  recordedSummary,
  startFakeKubelet,
  startFakeTlsKubelet,
} from "../../../fixtures/kubelet.ts";
import { waitFor } from "../../../fixtures/interop/services.ts";
import { startFakeK8sApi } from "../../../fixtures/k8s_api.ts";
import { testCertificates } from "../../exporter/otlp/_kit.ts";
import { K8sClient, k8sConnection } from "../../../../lib/k8s/client.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

const kubelet = await startFakeKubelet();
if (kubelet === undefined) console.log("kubelet_stats_test: skipped: openssl is not installed");

const HOST = { getExtension: () => undefined, status: () => "running" } as never;
const NOW = BigInt(Date.parse("2026-12-02T06:00:10Z")) * 1_000_000n;

function config(extra: Record<string, unknown> = {}): KubeletStatsConfig {
  return kubeletStatsConfigSchema.parse({ auth_type: "serviceAccount", ...extra });
}

/** `<resource key> <metric> <point attributes>` → the point, over all resources. */
function index(data: MetricsData): Map<string, { metric: Metric; value: number | bigint }> {
  const out = new Map<string, { metric: Metric; value: number | bigint }>();
  for (const rm of data.resourceMetrics) {
    const a = Object.fromEntries(rm.resource.attributes.map((kv) => [kv.key, kv.value]));
    const who = [
      a["k8s.node.name"],
      a["k8s.pod.name"],
      a["k8s.container.name"],
      a["k8s.volume.name"],
    ]
      .filter((x) => x !== undefined).join("/");
    for (const m of rm.scopeMetrics.flatMap((s) => s.metrics)) {
      for (const p of m.data!.dataPoints as NumberDataPoint[]) {
        const attrs = p.attributes.map((kv) => kv.value);
        out.set([who, m.name, ...attrs].join(" "), { metric: m, value: p.value! });
      }
    }
  }
  return out;
}

function resourceOf(data: MetricsData, key: string, value: string): Record<string, unknown> {
  const rm = data.resourceMetrics.find((r) =>
    r.resource.attributes.some((kv) => kv.key === key && kv.value === value)
  );
  assert.ok(rm, `a resource with ${key}=${value}`);
  return Object.fromEntries(rm.resource.attributes.map((kv) => [kv.key, kv.value]));
}

Deno.test("kubelet_stats: a recorded summary becomes the Collector's metrics", () => {
  const data = summaryMetrics(
    config({ metric_groups: ["node", "pod", "container", "volume"] }),
    asSummary(recordedSummary()),
    NOW,
    "test",
    undefined,
  );
  const m = index(data);
  const node = m.get("kind-worker k8s.node.cpu.usage")!;
  assert.equal(node.value, 0.118562337);
  assert.equal(node.metric.unit, "{cpu}");
  assert.equal(node.metric.data!.type, "gauge");
  const time = m.get("kind-worker k8s.node.cpu.time")!;
  assert.equal(time.value, 19874.52039);
  assert.equal(time.metric.unit, "s");
  assert.equal(time.metric.data!.type, "sum");
  assert.deepEqual(
    [
      (time.metric.data as { isMonotonic: boolean }).isMonotonic,
      (time.metric.data as { aggregationTemporality: number }).aggregationTemporality,
    ],
    [true, 2],
  );
  assert.equal(
    time.metric.data!.dataPoints[0]!.startTimeUnixNano,
    BigInt(Date.parse("2026-11-30T08:12:30Z")) * 1_000_000n,
    "cumulative points start at the node's start time",
  );
  assert.equal(m.get("kind-worker k8s.node.memory.working_set")!.value, 1728745472n);
  assert.equal(m.get("kind-worker k8s.node.memory.working_set")!.metric.unit, "By");
  assert.equal(m.get("kind-worker k8s.node.memory.page_faults")!.metric.unit, "1");
  assert.equal(m.get("kind-worker k8s.node.filesystem.available")!.value, 41178927104n);
  assert.equal(m.get("kind-worker k8s.node.network.io eth0 receive")!.value, 1923340118n);
  assert.equal(m.get("kind-worker k8s.node.network.errors eth0 transmit")!.value, 0n);
  assert.equal(
    m.get("kind-worker k8s.node.network.io veth3f1c2a9e transmit"),
    undefined,
    "only the default interface unless collect_all_network_interfaces",
  );
  assert.equal(m.get("kind-worker k8s.node.uptime"), undefined, "uptime is off by default");

  const pod = "checkout-7d9c8f6b5d-x2lqp";
  assert.equal(m.get(`${pod} k8s.pod.cpu.time`)!.value, 430.776);
  assert.equal(m.get(`${pod} k8s.pod.memory.rss`)!.value, 90996736n);
  assert.equal(m.get(`${pod} k8s.pod.filesystem.usage`)!.value, 1290240n, "ephemeral-storage");
  assert.equal(m.get(`${pod} k8s.pod.network.errors eth0 transmit`)!.value, 2n);
  assert.equal(m.get(`${pod}/app container.memory.rss`)!.value, 60915712n);
  assert.equal(m.get(`${pod}/app container.cpu.usage`)!.value, 0.004812004);
  assert.equal(m.get(`${pod}/app container.filesystem.usage`)!.value, 53248n, "rootfs");
  assert.equal(
    m.get(`${pod}/envoy container.memory.available`),
    undefined,
    "a value the kubelet did not report emits no point",
  );
  assert.equal(m.get(`${pod}/data k8s.volume.available`)!.value, 9822195712n);
  assert.equal(m.get(`${pod}/data k8s.volume.inodes.used`)!.value, 83n);
  assert.deepEqual(resourceOf(data, "k8s.container.name", "envoy"), {
    "k8s.pod.uid": "8f2b1d3e-5c7a-4e19-9b0d-2a6f4c8e1b73",
    "k8s.pod.name": pod,
    "k8s.namespace.name": "shop",
    "k8s.container.name": "envoy",
  });
  assert.deepEqual(resourceOf(data, "k8s.node.name", "kind-worker"), {
    "k8s.node.name": "kind-worker",
  });
  assert.equal(
    data.resourceMetrics[0]!.scopeMetrics[0]!.scope.name.endsWith("kubeletstatsreceiver"),
    true,
  );
  // 1 node + 2 pods + 3 containers + 5 volumes
  assert.equal(data.resourceMetrics.length, 11);
});

Deno.test("kubelet_stats: metric groups, metric toggles, all interfaces and uptime", () => {
  const data = summaryMetrics(
    config({
      metric_groups: ["node"],
      collect_all_network_interfaces: { node: true },
      metrics: { "k8s.node.uptime": { enabled: true }, "k8s.node.memory.rss": { enabled: false } },
    }),
    asSummary(recordedSummary()),
    NOW,
    "test",
    undefined,
  );
  assert.equal(data.resourceMetrics.length, 1, "only the node");
  const m = index(data);
  assert.equal(m.get("kind-worker k8s.node.network.io veth3f1c2a9e transmit")!.value, 118823104n);
  assert.equal(m.get("kind-worker k8s.node.network.errors veth3f1c2a9e transmit")!.value, 2n);
  assert.equal(m.get("kind-worker k8s.node.memory.rss"), undefined);
  const uptime = m.get("kind-worker k8s.node.uptime")!;
  assert.equal(
    uptime.value,
    BigInt(Date.parse("2026-12-02T06:00:10Z") - Date.parse("2026-11-30T08:12:30Z")) / 1000n,
  );
  assert.equal(uptime.metric.data!.type, "sum");
});

Deno.test("kubelet_stats: extra metadata labels from /pods", async () => {
  const reader = new PodMetadataReader(undefined, () => {});
  const metadata = await reader.read(recordedPods());
  const skipped: unknown[] = [];
  const data = summaryMetrics(
    config({
      metric_groups: ["container", "volume"],
      extra_metadata_labels: ["container.id", "k8s.volume.type"],
      resource_attributes: { "k8s.pod.uid": { enabled: false } },
    }),
    asSummary(recordedSummary()),
    NOW,
    "test",
    metadata,
    skipped as never[],
  );
  assert.deepEqual(resourceOf(data, "k8s.container.name", "app"), {
    "k8s.pod.name": "checkout-7d9c8f6b5d-x2lqp",
    "k8s.namespace.name": "shop",
    "k8s.container.name": "app",
    "container.id": "6b2f0c9e8d7a1b3c5e4f6a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d",
  });
  assert.deepEqual(resourceOf(data, "k8s.volume.name", "data"), {
    "k8s.pod.name": "checkout-7d9c8f6b5d-x2lqp",
    "k8s.namespace.name": "shop",
    "k8s.volume.name": "data",
    "k8s.volume.type": "persistentVolumeClaim",
    "k8s.persistentvolumeclaim.name": "checkout-data",
  });
  assert.equal(
    resourceOf(data, "k8s.volume.name", "config-volume")["k8s.volume.type"],
    "configMap",
  );
  assert.equal(
    resourceOf(data, "k8s.volume.name", "kube-api-access-7zq4m")["k8s.volume.type"],
    undefined,
    "projected volumes get no type, as in the Collector",
  );
  assert.deepEqual(skipped, []);

  // A container /pods does not know yet (the pod list lags the summary) is left out and named.
  const pods = recordedPods() as { items: { status: { containerStatuses: unknown[] } }[] };
  pods.items[0]!.status.containerStatuses.pop();
  const fewer: { container?: string }[] = [];
  const partial = summaryMetrics(
    config({ metric_groups: ["container"], extra_metadata_labels: ["container.id"] }),
    asSummary(recordedSummary()),
    NOW,
    "test",
    await reader.read(pods),
    fewer as never[],
  );
  assert.deepEqual(fewer.map((s) => s.container), ["envoy"]);
  assert.equal(partial.resourceMetrics.length, 2);
});

Deno.test("kubelet_stats: config keys, defaults and refusals", () => {
  const d = kubeletStatsConfigSchema.parse({ auth_type: "serviceAccount" });
  assert.equal(d.collection_interval, 10_000);
  assert.equal(d.initial_delay, 1_000);
  assert.deepEqual(d.metric_groups, ["container", "pod", "node"]);
  assert.equal(d.insecure_skip_verify, false);
  const refused = (input: unknown) => {
    const r = kubeletStatsConfigSchema.safeParse(input);
    assert.equal(r.success, false, JSON.stringify(input));
    return r.error!.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
  };
  assert.match(refused({}), /auth_type tls needs cert_file and key_file/);
  assert.match(
    refused({
      auth_type: "serviceAccount",
      metrics: { "k8s.pod.cpu_limit_utilization": { enabled: true } },
    }),
    /not implemented by tfo/,
  );
  assert.match(
    refused({
      auth_type: "serviceAccount",
      metrics: { "k8s.node.cpu.utilisation": { enabled: true } },
    }),
    /not a kubelet_stats metric/,
  );
  assert.match(refused({ auth_type: "serviceAccount", metric_groups: ["nodes"] }), /metric_groups/);
  assert.match(refused({ auth_type: "kubeConfig", endpoint: "node-1:10250" }), /node's name/);
  assert.match(refused({ auth_type: "serviceAccount", context: "x" }), /context/);
  assert.match(
    refused({ auth_type: "serviceAccount", k8s_api_config: { auth_type: "serviceAccount" } }),
    /extra_metadata_labels/,
  );
  kubeletStatsConfigSchema.parse({
    auth_type: "serviceAccount",
    metrics: { "k8s.pod.cpu_limit_utilization": { enabled: false } },
  });
  assert.equal(
    kubeletBaseUrl({ endpoint: "", auth_type: "serviceAccount" }, () => "n1"),
    "https://n1:10250",
  );
  assert.equal(kubeletBaseUrl({ endpoint: "", auth_type: "none" }, () => "n1"), "http://n1:10255");
  assert.equal(
    kubeletBaseUrl({ endpoint: "10.0.0.4:10250", auth_type: "tls" }),
    "https://10.0.0.4:10250",
  );
  assert.throws(
    () => kubeletBaseUrl({ endpoint: "https://:10250", auth_type: "serviceAccount" }),
    /has no host .*K8S_NODE_NAME/,
  );
  assert.equal(kubeletStatsReceiverFactory.aliases?.[0], "kubeletstats");
});

function sink(batches: MetricsData[]): Consumer<"metrics"> {
  return {
    mutatesData: false,
    consume(payload) {
      batches.push(payload.read());
      return Promise.resolve();
    },
  };
}

Deno.test({
  name: "kubelet_stats: scrapes the fake kubelet with the service account token; 401 and 403 " +
    "are logged clearly and recovered from",
  ignore: kubelet === undefined,
}, async () => {
  const { settings, lines } = settingsFor(
    "kubelet_stats",
    config({
      endpoint: kubelet!.endpoint,
      collection_interval: "100ms",
      initial_delay: "0s",
      extra_metadata_labels: ["container.id"],
    }),
  );
  const batches: MetricsData[] = [];
  const receiver = createKubeletStatsReceiver(settings, { metrics: sink(batches) }, {
    serviceAccountDir: kubelet!.serviceAccountDir,
  });
  await receiver.start(HOST);
  try {
    const first = await waitFor("a scrape", () => batches[0]);
    assert.equal(
      resourceOf(first, "k8s.container.name", "coredns")["container.id"],
      "0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e",
    );
    assert.ok(kubelet!.requests.pods >= 1, "/pods read for container.id");

    kubelet!.forbidden = true;
    const forbidden = await waitFor(
      "a logged 403",
      () => lines.find((l) => l.level === "error" && String(l.error).includes("HTTP 403")),
    );
    assert.equal(forbidden.msg ?? forbidden.message, "Cannot scrape the kubelet");
    // The flag may flip between the scrape's /stats/summary and its /pods.
    assert.match(String(forbidden.error), /subresource=(stats|pods)/);
    assert.match(String(forbidden.error), /needs "get" on "nodes\/stats"/);
    kubelet!.forbidden = false;

    const rotated = kubelet!.rotateToken(); // the file still has the old token: 401
    const unauthorized = await waitFor(
      "a logged 401",
      () => lines.find((l) => l.level === "error" && String(l.error).includes("HTTP 401")),
    );
    assert.match(String(unauthorized.error), /did not accept the credentials/);
    // The token file is read again before every scrape, as a rotated bound token needs.
    const seen = batches.length;
    await Deno.writeTextFile(`${kubelet!.serviceAccountDir}/token`, rotated);
    await waitFor("scrapes after the token was fixed", () => batches.length > seen, 15_000);
  } finally {
    kubelet!.forbidden = false;
    await receiver.shutdown();
  }
});

Deno.test({
  name: "kubelet_stats: an unreachable kubelet is a logged retry, not a start failure",
}, async () => {
  const { settings, lines } = settingsFor(
    "kubelet_stats",
    config({ endpoint: "127.0.0.1:1", collection_interval: "50ms", initial_delay: "0s" }),
  );
  const receiver = createKubeletStatsReceiver(settings, { metrics: sink([]) }, {
    serviceAccountDir: kubelet?.serviceAccountDir ?? "/nonexistent",
  });
  await receiver.start(HOST);
  try {
    const line = await waitFor("a logged failure", () => lines.find((l) => l.level === "error"));
    assert.match(String(line.error), /127\.0\.0\.1:1|service account/);
  } finally {
    await receiver.shutdown();
  }
});

Deno.test({
  name: "kubelet_stats: the kubelet's certificate is verified unless insecure_skip_verify",
  ignore: kubelet === undefined,
}, async () => {
  // A service account whose CA did not sign the kubelet's certificate (a self-signed kubelet).
  const other = await testCertificates();
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/ca.crt`, other!.caPem);
  await Deno.copyFile(`${kubelet!.serviceAccountDir}/token`, `${dir}/token`);
  try {
    for (const insecure of [false, true]) {
      const { settings, lines } = settingsFor(
        "kubelet_stats",
        config({
          endpoint: kubelet!.endpoint,
          collection_interval: "100ms",
          initial_delay: "0s",
          insecure_skip_verify: insecure,
        }),
      );
      const batches: MetricsData[] = [];
      const receiver = createKubeletStatsReceiver(settings, { metrics: sink(batches) }, {
        serviceAccountDir: dir,
      });
      await receiver.start(HOST);
      try {
        if (insecure) {
          await waitFor("a scrape despite the unknown CA", () => batches[0]);
        } else {
          const line = await waitFor(
            "a refused certificate",
            () => lines.find((l) => l.level === "error"),
          );
          assert.match(String(line.error), /certificate/i);
          assert.equal(batches.length, 0);
        }
      } finally {
        await receiver.shutdown();
      }
    }
  } finally {
    await other!.remove();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "kubelet_stats: k8s_api_config resolves a claim to its persistent volume, cached per pod",
  ignore: kubelet === undefined,
}, async () => {
  const api = (await startFakeK8sApi())!;
  const client = new K8sClient(await k8sConnection("kubeConfig", api.kubeconfig));
  try {
    api.upsert("persistentvolumeclaims", {
      metadata: { name: "checkout-data", namespace: "shop", uid: "pvc-1" },
      spec: { volumeName: "pvc-8e1d2f3a", storageClassName: "gp2" },
      status: { phase: "Bound" },
    });
    api.upsert("persistentvolumes", {
      metadata: { name: "pvc-8e1d2f3a", uid: "pv-1" },
      spec: { awsElasticBlockStore: { volumeID: "vol-0a1b2c3d4e5f", fsType: "ext4" } },
    });
    const failures: string[] = [];
    const reader = new PodMetadataReader(
      () => Promise.resolve(client),
      (_error, claim) => failures.push(claim),
    );
    const metadata = await reader.read(recordedPods());
    assert.deepEqual(
      metadata.volumes.get("8f2b1d3e-5c7a-4e19-9b0d-2a6f4c8e1b73/data"),
      [
        { key: "k8s.volume.type", value: "awsElasticBlockStore" },
        { key: "aws.volume.id", value: "vol-0a1b2c3d4e5f" },
        { key: "fs.type", value: "ext4" },
        { key: "partition", value: "0" },
        { key: "k8s.persistentvolumeclaim.name", value: "checkout-data" },
      ],
    );
    const gets = api.requests.gets;
    await reader.read(recordedPods());
    assert.equal(api.requests.gets, gets, "resolved once, then cached");
    assert.equal(reader.cachedClaims, 1);
    await reader.read({ items: [] });
    assert.equal(reader.cachedClaims, 0, "the cache holds only existing pods' volumes");

    // A claim the API does not have keeps the pod spec's labels and is reported.
    api.remove("persistentvolumeclaims", "pvc-1");
    const fallback = await reader.read(recordedPods());
    assert.equal(
      fallback.volumes.get("8f2b1d3e-5c7a-4e19-9b0d-2a6f4c8e1b73/data")![0]!.value,
      "persistentVolumeClaim",
    );
    assert.deepEqual(failures, ["shop/checkout-data"]);
  } finally {
    client.close();
    await api.close();
  }
});

Deno.test(
  { name: "kubelet_stats: close the fake kubelet", ignore: kubelet === undefined },
  async () => {
    await kubelet!.close();
  },
);

Deno.test("kubelet_stats: auth_type tls presents the client certificate", async () => {
  const tlsKubelet = await startFakeTlsKubelet();
  if (tlsKubelet === undefined) return; // no openssl: said at the top
  try {
    const { settings } = settingsFor(
      "kubelet_stats",
      kubeletStatsConfigSchema.parse({
        endpoint: tlsKubelet.endpoint,
        ca_file: tlsKubelet.caFile,
        cert_file: tlsKubelet.certFile,
        key_file: tlsKubelet.keyFile,
        collection_interval: "100ms",
        initial_delay: "0s",
        metric_groups: ["node"],
      }),
    );
    const batches: MetricsData[] = [];
    const receiver = createKubeletStatsReceiver(settings, { metrics: sink(batches) });
    await receiver.start(HOST);
    try {
      const first = await waitFor("a scrape with the client certificate", () => batches[0]);
      assert.equal(
        resourceOf(first, "k8s.node.name", "kind-worker")["k8s.node.name"],
        "kind-worker",
      );
      assert.equal(tlsKubelet.requests.refused, 0);
    } finally {
      await receiver.shutdown();
    }
  } finally {
    await tlsKubelet.close();
  }
});
