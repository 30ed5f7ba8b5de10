/**
 * kubernetes_sd_configs against a fake Kubernetes API server that lists and watches as the real
 * one does (tests/fixtures/k8s_api.ts): pods annotated for scraping become targets with
 * `__meta_kubernetes_*` labels that relabeling turns into sample labels, follow the pods' changes
 * and deletion, and the pod, node and service roles build the addresses Prometheus builds.
 */
import assert from "node:assert/strict";
import { Capture, freePort, HOST, metricsByName, receiverWith } from "./_helpers.ts";
import { waitFor } from "../../../fixtures/interop/services.ts";
import { startFakeK8sApi, type StoredObject } from "../../../fixtures/k8s_api.ts";
import {
  nodeGroups,
  podGroups,
  sanitize,
  serviceGroups,
} from "../../../../components/receiver/prometheus/_kubernetes_sd.ts";

const api = await startFakeK8sApi();
if (api === undefined) console.log("kubernetes_sd_test: skipped: openssl is not installed");

function exporter(name: string) {
  const port = freePort();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port, onListen() {} },
    () =>
      new Response(`# TYPE ${name} gauge\n${name} 1\n`, {
        headers: { "content-type": "text/plain" },
      }),
  );
  return { port, close: () => server.shutdown() };
}

function pod(name: string, uid: string, port: number, scrape: boolean): StoredObject {
  return {
    metadata: {
      name,
      uid,
      namespace: "shop",
      labels: { "app.kubernetes.io/name": name },
      annotations: { "prometheus.io/scrape": String(scrape) },
    },
    spec: {
      nodeName: "node-a",
      containers: [{
        name: "main",
        image: "shop:1",
        ports: [{ name: "metrics", containerPort: port }],
      }],
    },
    status: {
      podIP: "127.0.0.1",
      hostIP: "10.0.0.1",
      phase: "Running",
      conditions: [{ type: "Ready", status: "True" }],
    },
  };
}

Deno.test({
  name: "kubernetes_sd_configs: annotated pods are scraped, relabeled, and follow the pods",
  ignore: api === undefined,
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const [a, b] = [exporter("from_a"), exporter("from_b")];
  api!.upsert("pods", pod("alpha", "p-1", a.port, true));
  api!.upsert("pods", pod("beta", "p-2", b.port, false));
  const capture = new Capture();
  const receiver = receiverWith({
    config: {
      scrape_configs: [{
        job_name: "kubernetes-pods",
        scrape_interval: "200ms",
        kubernetes_sd_configs: [{
          role: "pod",
          kubeconfig_file: api!.kubeconfig,
          namespaces: { names: ["shop"] },
        }],
        relabel_configs: [
          {
            source_labels: ["__meta_kubernetes_pod_annotation_prometheus_io_scrape"],
            action: "keep",
            regex: "true",
          },
          { source_labels: ["__meta_kubernetes_pod_name"], target_label: "pod" },
          { source_labels: ["__meta_kubernetes_namespace"], target_label: "namespace" },
        ],
      }],
    },
  }, capture);
  try {
    await receiver.start(HOST);
    assert.deepEqual(receiver.targets, [`http://127.0.0.1:${a.port}/metrics`]);
    const [first] = await capture.waitFor(1);
    const attrs = metricsByName(first!).get("from_a")!.data!.dataPoints[0]!.attributes;
    const labels = Object.fromEntries(attrs.map((kv) => [kv.key, kv.value]));
    assert.equal(labels.pod, "alpha");
    assert.equal(labels.namespace, "shop");
    // beta is annotated for scraping: it joins; alpha is deleted: it leaves.
    api!.upsert("pods", pod("beta", "p-2", b.port, true));
    await waitFor("beta to join", () => receiver.targets.length === 2, 10_000, 50);
    api!.remove("pods", "p-1");
    await waitFor("alpha to leave", () => receiver.targets.length === 1, 10_000, 50);
    assert.deepEqual(receiver.targets, [`http://127.0.0.1:${b.port}/metrics`]);
  } finally {
    await receiver.shutdown();
    await a.close();
    await b.close();
    api!.remove("pods", "p-2");
  }
});

Deno.test({
  name:
    "kubernetes_sd_configs: pod, node and service roles build Prometheus's addresses and labels",
  ignore: api === undefined,
}, () => {
  const pods = podGroups({
    metadata: {
      name: "web-1",
      uid: "u",
      namespace: "ns",
      labels: { "app.kubernetes.io/name": "web" },
    },
    spec: {
      containers: [{ name: "c", ports: [{ containerPort: 8080, name: "http" }] }, {
        name: "sidecar",
      }],
    },
    status: { podIP: "10.1.2.3", phase: "Running" },
  } as never);
  assert.deepEqual(pods.map((g) => g.targets[0]), ["10.1.2.3:8080", "10.1.2.3"]);
  assert.equal(pods[0]!.labels.__meta_kubernetes_pod_label_app_kubernetes_io_name, "web");
  assert.equal(pods[0]!.labels.__meta_kubernetes_pod_container_port_name, "http");
  assert.equal(pods[1]!.labels.__meta_kubernetes_pod_container_name, "sidecar");
  const nodes = nodeGroups({
    metadata: { name: "n1", uid: "n" },
    status: {
      addresses: [{ type: "Hostname", address: "n1" }, { type: "InternalIP", address: "10.0.0.7" }],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
    },
  } as never);
  assert.deepEqual(nodes[0]!.targets, ["10.0.0.7:10250"]);
  assert.equal(nodes[0]!.labels.__meta_kubernetes_node_address_Hostname, "n1");
  const services = serviceGroups({
    metadata: { name: "api", uid: "s", namespace: "prod" },
    spec: { clusterIP: "10.96.0.10", ports: [{ name: "metrics", port: 9090 }] },
  } as never);
  assert.deepEqual(services[0]!.targets, ["api.prod.svc:9090"]);
  assert.equal(services[0]!.labels.__meta_kubernetes_service_port_name, "metrics");
  assert.equal(sanitize("prometheus.io/scrape"), "prometheus_io_scrape");
});

Deno.test(
  { name: "kubernetes_sd_configs: the fake API server stops", ignore: api === undefined },
  async () => {
    await api!.close();
  },
);
