/**
 * The k8s_cluster receiver against a fake Kubernetes API server that lists and watches as the real
 * one does (tests/fixtures/k8s_api.ts): pods, nodes, workloads and namespaces become the
 * Collector's cluster metrics with the right resources and values, changes show up in the next
 * collection, excluded namespaces are left out; and Kubernetes quantities parse as the API means
 * them.
 */
import assert from "node:assert/strict";
import { k8sClusterReceiverFactory } from "../../../../components/receiver/k8s_cluster/factory.ts";
import { k8sClusterConfigSchema } from "../../../../components/receiver/k8s_cluster/config.ts";
import { parseQuantity } from "../../../../components/receiver/k8s_cluster/metrics.ts";
import type { Consumer } from "../../../../lib/consumer/consumer.ts";
import type { MetricsData } from "../../../../lib/pdata/types.ts";
import { NOOP_LOGGER } from "../../../../lib/telemetry/logger.ts";
import { MetricRegistry } from "../../../../lib/telemetry/metrics.ts";
import { startFakeK8sApi } from "../../../fixtures/k8s_api.ts";
import { waitFor } from "../../../fixtures/interop/services.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

const api = await startFakeK8sApi();
if (api === undefined) console.log("k8s_cluster_test: skipped: openssl is not installed");

/** metric name → resource key → value, of the last collection. */
function flatten(data: MetricsData): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const rm of data.resourceMetrics) {
    const attrs = Object.fromEntries(rm.resource.attributes.map((kv) => [kv.key, kv.value]));
    const who = String(
      attrs["k8s.pod.name"] ?? attrs["k8s.node.name"] ?? attrs["k8s.deployment.name"] ??
        attrs["k8s.replicaset.name"] ?? attrs["k8s.daemonset.name"] ??
        attrs["k8s.statefulset.name"] ?? attrs["k8s.namespace.name"],
    );
    for (const sm of rm.scopeMetrics) {
      for (const m of sm.metrics) {
        for (
          const p of m.data!.dataPoints as {
            value: number | bigint;
            attributes: { key: string; value: unknown }[];
          }[]
        ) {
          const container = p.attributes.find((a) => a.key === "k8s.container.name")?.value;
          const key = container === undefined ? who : `${who}/${container}`;
          let series = out.get(m.name);
          if (series === undefined) out.set(m.name, series = new Map());
          series.set(key, Number(p.value));
        }
      }
    }
  }
  return out;
}

Deno.test({
  name:
    "k8s_cluster: the cluster's objects become the Collector's cluster metrics, and follow changes",
  ignore: api === undefined,
}, async () => {
  api!.upsert("namespaces", {
    metadata: { name: "shop", uid: "ns-1" },
    status: { phase: "Active" },
  });
  api!.upsert("namespaces", {
    metadata: { name: "kube-system", uid: "ns-2" },
    status: { phase: "Active" },
  });
  api!.upsert("nodes", {
    metadata: { name: "node-a", uid: "n-1" },
    status: {
      conditions: [{ type: "Ready", status: "True" }, { type: "MemoryPressure", status: "False" }],
      allocatable: { cpu: "3500m", memory: "16Gi" },
    },
  });
  api!.upsert("pods", {
    metadata: { name: "web-1", uid: "p-1", namespace: "shop" },
    spec: {
      nodeName: "node-a",
      containers: [{
        name: "app",
        resources: { requests: { cpu: "250m", memory: "128Mi" }, limits: { cpu: "1" } },
      }],
    },
    status: {
      phase: "Running",
      containerStatuses: [{ name: "app", ready: true, restartCount: 3 }],
    },
  });
  api!.upsert("pods", {
    metadata: { name: "dns-1", uid: "p-2", namespace: "kube-system" },
    spec: { containers: [{ name: "dns" }] },
    status: { phase: "Running" },
  });
  api!.upsert("deployments", {
    metadata: { name: "web", uid: "d-1", namespace: "shop" },
    spec: { replicas: 3 },
    status: { availableReplicas: 2 },
  });
  api!.upsert("daemonsets", {
    metadata: { name: "agent", uid: "ds-1", namespace: "shop" },
    status: {
      currentNumberScheduled: 4,
      desiredNumberScheduled: 5,
      numberMisscheduled: 1,
      numberReady: 3,
    },
  });
  api!.upsert("statefulsets", {
    metadata: { name: "db", uid: "ss-1", namespace: "shop" },
    spec: { replicas: 2 },
    status: { readyReplicas: 1, currentReplicas: 2, updatedReplicas: 1 },
  });
  Deno.env.set("KUBECONFIG", api!.kubeconfig);
  const batches: MetricsData[] = [];
  const sink: Consumer<"metrics"> = {
    mutatesData: false,
    consume(payload) {
      batches.push(payload.read());
      return Promise.resolve();
    },
  };
  const receiver = k8sClusterReceiverFactory.create({
    id: "k8s_cluster",
    config: k8sClusterConfigSchema.parse({
      auth_type: "kubeConfig",
      collection_interval: "200ms",
      node_conditions_to_report: ["Ready", "MemoryPressure"],
      allocatable_types_to_report: ["cpu", "memory"],
      exclude_namespaces: ["kube-system"],
    }),
    logger: NOOP_LOGGER,
    meter: new MetricRegistry().meter(),
    buildInfo: { command: "tfo", version: "test" },
  }, { metrics: sink });
  await receiver.start({ getExtension: () => undefined, status: () => "running" } as never);
  try {
    const m = await waitFor(
      "a full collection",
      () => {
        const last = batches.at(-1);
        if (last === undefined) return undefined;
        const f = flatten(last);
        return f.has("k8s.statefulset.desired_pods") && f.has("k8s.pod.phase") ? f : undefined;
      },
      10_000,
      50,
    );
    assert.deepEqual(
      Object.fromEntries(m.get("k8s.pod.phase")!),
      { "web-1": 2 },
      "kube-system excluded",
    );
    assert.equal(m.get("k8s.container.ready")!.get("web-1/app"), 1);
    assert.equal(m.get("k8s.container.restarts")!.get("web-1/app"), 3);
    assert.equal(m.get("k8s.container.cpu_request")!.get("web-1/app"), 0.25);
    assert.equal(m.get("k8s.container.memory_request")!.get("web-1/app"), 128 * 2 ** 20);
    assert.equal(m.get("k8s.container.cpu_limit")!.get("web-1/app"), 1);
    assert.equal(m.get("k8s.node.condition_ready")!.get("node-a"), 1);
    assert.equal(m.get("k8s.node.condition_memory_pressure")!.get("node-a"), 0);
    assert.equal(m.get("k8s.node.allocatable_cpu")!.get("node-a"), 3.5);
    assert.equal(m.get("k8s.node.allocatable_memory")!.get("node-a"), 16 * 2 ** 30);
    assert.equal(m.get("k8s.deployment.desired")!.get("web"), 3);
    assert.equal(m.get("k8s.deployment.available")!.get("web"), 2);
    assert.equal(m.get("k8s.daemonset.misscheduled_nodes")!.get("agent"), 1);
    assert.equal(m.get("k8s.statefulset.ready_pods")!.get("db"), 1);
    assert.deepEqual(Object.fromEntries(m.get("k8s.namespace.phase")!), { shop: 1 });
    // The pod fails and restarts once more; the deployment scales up.
    api!.upsert("pods", {
      metadata: { name: "web-1", uid: "p-1", namespace: "shop" },
      spec: { nodeName: "node-a", containers: [{ name: "app" }] },
      status: {
        phase: "Failed",
        containerStatuses: [{ name: "app", ready: false, restartCount: 4 }],
      },
    });
    api!.upsert("deployments", {
      metadata: { name: "web", uid: "d-1", namespace: "shop" },
      spec: { replicas: 5 },
      status: { availableReplicas: 2 },
    });
    await waitFor(
      "the changes in a collection",
      () => {
        const f = flatten(batches.at(-1)!);
        return f.get("k8s.pod.phase")?.get("web-1") === 4 &&
          f.get("k8s.deployment.desired")?.get("web") === 5;
      },
      10_000,
      50,
    );
    assert.equal(flatten(batches.at(-1)!).get("k8s.container.restarts")!.get("web-1/app"), 4);
  } finally {
    await receiver.shutdown();
    await api!.close();
  }
});

Deno.test("k8s_cluster: Kubernetes quantities", () => {
  assert.equal(parseQuantity("500m"), 0.5);
  assert.equal(parseQuantity("2"), 2);
  assert.equal(parseQuantity("1Ki"), 1024);
  assert.equal(parseQuantity("1G"), 1e9);
  assert.equal(parseQuantity("1e3"), 1000);
  assert.equal(parseQuantity("12Qi"), undefined);
  assert.equal(k8sClusterConfigSchema.safeParse({ distribution: "openshift" }).success, false);
  assert.equal(k8sClusterConfigSchema.safeParse({ metadata_exporters: [] }).success, false);
});
