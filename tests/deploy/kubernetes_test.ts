/**
 * The Kubernetes manifests' configs (deploy/kubernetes): each validates as shipped, and the node
 * DaemonSet's and the cluster receiver's run — against the fake API server, whose node proxy
 * stands in for the node's kubelet (tests/fixtures/k8s_api.ts) — with only what a cluster would
 * provide swapped: kubeconfig credentials instead of the pod's service account, a recorder instead
 * of the central collector, shorter intervals.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { parse, parseAllDocuments, stringify } from "yaml";
import { main } from "../../main.ts";
import { startFakeK8sApi } from "../fixtures/k8s_api.ts";
import { recordedPods, recordedSummary } from "../fixtures/kubelet.ts";
import { recorded, startService, waitFor } from "../fixtures/interop/services.ts";
import type { LogsData, MetricsData } from "../../lib/pdata/types.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));

function configOf(manifest: string): string {
  const docs = parseAllDocuments(Deno.readTextFileSync(`${root}/deploy/kubernetes/${manifest}`));
  const configMap = docs.map((d) => d.toJS()).find((d) => d?.kind === "ConfigMap");
  return configMap.data["config.yaml"];
}

for (const manifest of ["agent-daemonset.yaml", "cluster-receiver.yaml"]) {
  Deno.test(`deploy/kubernetes/${manifest} carries a valid config`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(`${dir}/config.yaml`, configOf(manifest));
      const err: string[] = [];
      const code = await main(["validate", "--config", `${dir}/config.yaml`], {
        io: { out: () => {}, err: (t) => err.push(t) },
      });
      assert.equal(code, 0, err.join("\n"));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

const api = await startFakeK8sApi();
if (api === undefined) console.log("deploy kubernetes_test: skipped running: no openssl");

// deno-lint-ignore no-explicit-any
type Any = any;

/** The shipped config with the cluster's parts swapped for the test's. */
function forTest(manifest: string, edit: (c: Any) => void): string {
  const c = parse(configOf(manifest));
  for (const id of Object.keys(c.exporters)) delete c.exporters[id];
  c.exporters.recorder = {};
  for (const p of Object.values(c.service.pipelines) as Any[]) p.exporters = ["recorder"];
  delete c.extensions; // health_check's fixed port
  delete c.service.extensions;
  delete c.service.telemetry; // its fixed port
  edit(c);
  return stringify(c);
}

function resources(batches: MetricsData[]): Record<string, unknown>[] {
  return batches.flatMap((b) =>
    b.resourceMetrics.map((rm) =>
      Object.fromEntries(rm.resource.attributes.map((kv) => [kv.key, kv.value]))
    )
  );
}

Deno.test({
  name: "the node DaemonSet's config scrapes its kubelet and adds the pods' owners and labels",
  ignore: api === undefined,
}, async () => {
  for (const pod of (recordedPods() as Any).items) api!.upsert("pods", pod);
  api!.nodeProxy = (node, path) => {
    if (node !== "kind-worker") return new Response("not found", { status: 404 });
    if (path === "/stats/summary") return Response.json(recordedSummary());
    if (path === "/pods") return Response.json(recordedPods());
    return new Response("404 page not found", { status: 404 });
  };
  Deno.env.set("KUBECONFIG", api!.kubeconfig);
  Deno.env.set("K8S_NODE_NAME", "kind-worker");
  const yaml = forTest("agent-daemonset.yaml", (c) => {
    // Through the API server's node proxy with the kubeconfig (no service account here).
    c.receivers.kubelet_stats.auth_type = "kubeConfig";
    c.receivers.kubelet_stats.endpoint = "kind-worker";
    c.receivers.kubelet_stats.collection_interval = "200ms";
    c.receivers.kubelet_stats.initial_delay = "0s";
    c.processors.k8s_attributes.auth_type = "kubeConfig";
  });
  await using running = await startService(yaml);
  const checkout = await waitFor(
    "kubelet metrics with the pods' metadata",
    () => {
      const all = resources(recorded<"metrics">(running.kit, "recorder", "metrics"));
      const found = all.find((r) =>
        r["k8s.container.name"] === "app" && r["k8s.deployment.name"] === "checkout"
      );
      return found === undefined ? undefined : { found, all };
    },
    20_000,
    100,
  );
  assert.equal(checkout.found["app"], "checkout", "the pod's label");
  assert.equal(checkout.found["k8s.node.name"], "kind-worker");
  assert.equal(
    checkout.found["container.id"],
    "6b2f0c9e8d7a1b3c5e4f6a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d",
  );
  assert.ok(
    checkout.all.some((r) =>
      r["k8s.volume.name"] === "data" && r["k8s.volume.type"] === "persistentVolumeClaim"
    ),
    "volume metrics with their type",
  );
  assert.ok(checkout.all.some((r) => r["k8s.node.name"] === "kind-worker" && !r["k8s.pod.uid"]));
});

Deno.test({
  name: "the cluster receiver's config reports the cluster's objects and its events",
  ignore: api === undefined,
}, async () => {
  Deno.env.set("KUBECONFIG", api!.kubeconfig);
  api!.upsert("nodes", {
    metadata: { name: "kind-worker", uid: "node-uid-1" },
    status: {
      conditions: [{ type: "Ready", status: "True" }],
      allocatable: { cpu: "4", memory: "8Gi" },
    },
  });
  const yaml = forTest("cluster-receiver.yaml", (c) => {
    c.receivers.k8s_cluster.auth_type = "kubeConfig";
    c.receivers.k8s_cluster.collection_interval = "200ms";
    c.receivers.k8s_events.auth_type = "kubeConfig";
  });
  await using running = await startService(yaml);
  await waitFor(
    "cluster metrics",
    () =>
      resources(recorded<"metrics">(running.kit, "recorder", "metrics")).some((r) =>
        r["k8s.pod.name"] === "checkout-7d9c8f6b5d-x2lqp"
      ),
    20_000,
    100,
  );
  const now = new Date(Date.now() + 1000).toISOString();
  api!.upsert("events", {
    metadata: { name: "checkout.1", namespace: "shop", uid: "ev-1", creationTimestamp: now },
    involvedObject: { kind: "Pod", namespace: "shop", name: "checkout-7d9c8f6b5d-x2lqp" },
    reason: "Pulled",
    message: 'Container image "registry.example/checkout:1.42.0" already present on machine',
    source: { component: "kubelet", host: "kind-worker" },
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
    type: "Normal",
  });
  const logs = await waitFor(
    "the event as a log",
    () => {
      const all = recorded<"logs">(running.kit, "recorder", "logs") as LogsData[];
      return all.length > 0 ? all : undefined;
    },
    20_000,
    100,
  );
  const record = logs[0]!.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!;
  assert.match(String(record.body), /already present/);
  assert.equal(record.severityText, "Normal");
});

Deno.test({ name: "close the fake API", ignore: api === undefined }, async () => {
  await api!.close();
});
