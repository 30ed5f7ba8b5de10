/**
 * The TFO-Agent's `collectors.kubernetes` translated to tfo's Kubernetes receivers: the resource
 * collectors to k8s_cluster (turned-off parts as turned-off metrics), events to k8s_events, the
 * kubelet keys to kubelet_stats, the cluster's name and provider onto every resource, and every
 * key tfo cannot honour an error with its reason, at its position.
 */
import assert from "node:assert/strict";
import { formatDiagnostic, loadConfig, type LoadResult, toPlain } from "../../pipelines/config.ts";
import { validateConfig } from "../../pipelines/validate.ts";
import { TFO_AGENT_FACTORIES } from "../fixtures/tfo_agent_factories.ts";
import { K8S_CLUSTER_METRICS } from "../../pipelines/tfo_agent/_kubernetes.ts";
import { CLUSTER_METRICS } from "../../components/receiver/k8s_cluster/config.ts";

const ENV = {
  TELEMETRYFLOW_API_KEY_ID: "tfk_test",
  TELEMETRYFLOW_API_KEY_SECRET: "tfs_test_secret",
};

const BASE = `
telemetryflow:
  endpoint: http://127.0.0.1:4318
agent:
  name: k8s-collector
`;

async function load(text: string, env: Record<string, string> = ENV): Promise<LoadResult> {
  return await loadConfig({
    files: ["agent.yaml"],
    set: [],
    env,
    readFile: () => Promise.resolve(text),
  });
}

const errors = (r: LoadResult) =>
  r.diagnostics.filter((d) => d.severity === "error").map(formatDiagnostic);
const warnings = (r: LoadResult) =>
  r.diagnostics.filter((d) => d.severity === "warning").map(formatDiagnostic);

// deno-lint-ignore no-explicit-any
type Plain = any;

async function translate(text: string, env: Record<string, string> = ENV) {
  const loaded = await load(text, env);
  assert.ok(loaded.raw !== undefined, loaded.diagnostics.map(formatDiagnostic).join("\n"));
  const validated = validateConfig(loaded.raw, TFO_AGENT_FACTORIES);
  assert.ok(
    validated.config !== undefined,
    [...loaded.diagnostics, ...validated.diagnostics].map(formatDiagnostic).join("\n"),
  );
  return { loaded, plain: toPlain(loaded.raw.root) as Plain };
}

Deno.test("collectors.kubernetes becomes k8s_cluster and k8s_events, with the cluster on every resource", async () => {
  const { plain, loaded } = await translate(`${BASE}
collectors:
  system:
    enabled: false
  kubernetes:
    enabled: true
    interval: 20s
    cluster_name: production
    cluster_provider: eks
    exclude_namespaces: [kube-system, kube-public]
    workloads: false
`);
  const cluster = plain.receivers.k8s_cluster;
  assert.equal(cluster.auth_type, "serviceAccount");
  assert.equal(cluster.collection_interval, "20s");
  assert.deepEqual(cluster.exclude_namespaces, ["kube-system", "kube-public"]);
  assert.deepEqual(
    Object.keys(cluster.metrics).sort(),
    [
      "k8s.daemonset.current_scheduled_nodes",
      "k8s.daemonset.desired_scheduled_nodes",
      "k8s.daemonset.misscheduled_nodes",
      "k8s.daemonset.ready_nodes",
      "k8s.replicaset.available",
      "k8s.replicaset.desired",
      "k8s.statefulset.current_pods",
      "k8s.statefulset.desired_pods",
      "k8s.statefulset.ready_pods",
      "k8s.statefulset.updated_pods",
    ],
    "workloads: false turns the workloads' metrics off",
  );
  assert.equal(cluster.metrics["k8s.replicaset.desired"].enabled, false);
  assert.deepEqual(plain.receivers.k8s_events, {
    auth_type: "serviceAccount",
    exclude_namespaces: ["kube-system", "kube-public"],
  });
  assert.equal(plain.receivers.kubelet_stats, undefined, "no kubelet key asked for it");
  assert.deepEqual(plain.service.pipelines.metrics.receivers, ["k8s_cluster"]);
  assert.deepEqual(plain.service.pipelines.logs.receivers, ["k8s_events"]);
  const actions = plain.processors["resource/agent"].attributes;
  const value = (key: string) => actions.find((a: Plain) => a.key === key)?.value;
  assert.equal(value("k8s.cluster.name"), "production");
  assert.equal(value("cloud.provider"), "aws");
  assert.equal(value("cloud.platform"), "aws_eks");
  assert.ok(plain.extensions.telemetryflow.capabilities.includes("kubernetes"));
  assert.deepEqual(errors(loaded), []);
});

Deno.test("kubelet keys become kubelet_stats of the agent's node, with a warning saying so", async () => {
  const { plain, loaded } = await translate(
    `${BASE}
collectors:
  system:
    enabled: false
  kubernetes:
    enabled: true
    events: false
    namespaces: [shop]
    network: true
    pv_io_stats: true
    kubelet_insecure_skip_verify: true
`,
    { ...ENV, NODE_NAME: "node-a" },
  );
  assert.equal(plain.receivers.k8s_cluster.namespace, "shop");
  assert.equal(plain.receivers.k8s_events, undefined);
  const k = plain.receivers.kubelet_stats;
  assert.equal(k.auth_type, "serviceAccount");
  assert.equal(k.endpoint, "node-a:10250", "${env:NODE_NAME}:10250, expanded");
  assert.equal(k.insecure_skip_verify, true);
  assert.deepEqual(k.metric_groups, ["node", "pod", "volume"]);
  assert.equal(k.collection_interval, "30s");
  assert.ok(
    warnings(loaded).some((w) =>
      /collectors\.kubernetes\.network: .*kubelet of the node tfo runs on/.test(w)
    ),
    warnings(loaded).join("\n"),
  );
});

Deno.test("kubernetes keys tfo cannot honour are errors with the reason, at their position", async () => {
  const r = await load(`${BASE}
collectors:
  kubernetes:
    enabled: true
    kubeconfig: /etc/kube/config
    namespaces: [a, b]
    hpa: true
    pod_logs: true
    sync_to_backend: true
    sync_interval: 60s
    node_logs_tail_lines: 200
    coredns_metrics: true
`);
  const errs = errors(r);
  const expect = [
    /agent\.yaml:10:5 {2}collectors\.kubernetes\.kubeconfig: is not supported/,
    /agent\.yaml:11:5 {2}collectors\.kubernetes\.namespaces: lists several namespaces/,
    /agent\.yaml:12:5 {2}collectors\.kubernetes\.hpa: is on but tfo cannot provide it: .*HorizontalPodAutoscalers/,
    /collectors\.kubernetes\.pod_logs: .*\/var\/log\/pods/,
    /collectors\.kubernetes\.sync_to_backend: .*over OTLP/,
    /collectors\.kubernetes\.coredns_metrics: .*prometheus receiver/,
  ];
  assert.equal(r.raw, undefined);
  for (const re of expect) assert.ok(errs.some((e) => re.test(e)), `${re}\n${errs.join("\n")}`);
  // A key the schema does not know is still reported.
  const unknown = await load(
    `${BASE}collectors:\n  kubernetes:\n    enabled: true\n    bogus: 1\n`,
  );
  assert.ok(
    errors(unknown).some((e) => /collectors\.kubernetes.*bogus/.test(e)),
    errors(unknown).join("\n"),
  );
  const deps = await load(`${BASE}
collectors:
  kubernetes:
    enabled: true
    node_logs_tail_lines: 200
`);
  assert.deepEqual(errors(deps), []);
  assert.ok(
    warnings(deps).some((w) =>
      /collectors\.kubernetes\.node_logs_tail_lines: is ignored: node_logs is off/.test(w)
    ),
  );
});

Deno.test("a disabled kubernetes collector adds nothing and says nothing", async () => {
  const { plain, loaded } = await translate(`${BASE}
collectors:
  system: {}
  kubernetes:
    enabled: false
`);
  assert.equal(plain.receivers.k8s_cluster, undefined);
  assert.deepEqual(warnings(loaded).filter((w) => /kubernetes/.test(w)), []);
});

Deno.test("the translation knows every k8s_cluster metric", () => {
  assert.deepEqual([...K8S_CLUSTER_METRICS], [...CLUSTER_METRICS]);
});
