/**
 * The k8sattributes processor against a fake Kubernetes API server that lists and watches as the
 * real one does (tests/fixtures/k8s_api.ts; no real API server can be had here): pods found by
 * `k8s.pod.ip`, UID and the connection's address get their metadata, labels and namespace labels;
 * metadata stays right through a pod restart (new UID, new IP, an old IP handed to another pod) and
 * through a watch that expires (410: relist); the cache holds what the cluster holds; a refused
 * RBAC permission is reported and data passes unchanged.
 */
import assert from "node:assert/strict";
import { k8sattributesFactory } from "../../../../components/processor/k8sattributes/factory.ts";
import { k8sattributesConfigSchema } from "../../../../components/processor/k8sattributes/config.ts";
import { startPodCache } from "../../../../components/processor/k8sattributes/pods.ts";
import { K8sClient, k8sConnection } from "../../../../lib/k8s/client.ts";
import type { Consumer } from "../../../../lib/consumer/consumer.ts";
import { newResource, newScope, newSpan } from "../../../../lib/pdata/new.ts";
import { type ClientInfo, Payload } from "../../../../lib/pdata/payload.ts";
import type { KeyValue, TracesData } from "../../../../lib/pdata/types.ts";
import { createLogger } from "../../../../lib/telemetry/logger.ts";
import { MetricRegistry } from "../../../../lib/telemetry/metrics.ts";
import { type FakeK8sApi, startFakeK8sApi, type StoredObject } from "../../../fixtures/k8s_api.ts";
import { waitFor } from "../../../fixtures/interop/services.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

const api = await startFakeK8sApi();
if (api === undefined) console.log("k8sattributes_test: skipped: openssl is not installed");

function pod(
  name: string,
  uid: string,
  ip: string,
  extra: { node?: string; labels?: Record<string, string>; hostNetwork?: boolean } = {},
): StoredObject {
  return {
    metadata: {
      name,
      uid,
      namespace: "shop",
      labels: { "pod-template-hash": "7d9f8c6b5", app: name.split("-")[0]!, ...extra.labels },
      creationTimestamp: "2026-12-01T10:00:00Z",
      ownerReferences: [{
        kind: "ReplicaSet",
        name: `${name.split("-")[0]}-7d9f8c6b5`,
        uid: `rs-${uid}`,
      }],
    },
    spec: { nodeName: extra.node ?? "node-a", hostNetwork: extra.hostNetwork ?? false },
    status: { podIP: ip, podIPs: [{ ip }], startTime: "2026-12-01T10:00:05Z" },
  };
}

function traces(attributes: KeyValue[]): TracesData {
  return {
    resourceSpans: [{
      resource: newResource({ attributes }),
      schemaUrl: "",
      scopeSpans: [{ scope: newScope(), schemaUrl: "", spans: [newSpan({ name: "s" })] }],
    }],
  };
}

interface Harness {
  send(attributes: KeyValue[], address?: string): Promise<Record<string, unknown>>;
  logs: string[];
  shutdown(): Promise<void>;
}

async function startProcessor(fake: FakeK8sApi, config: Record<string, unknown>): Promise<Harness> {
  Deno.env.set("KUBECONFIG", fake.kubeconfig);
  const logs: string[] = [];
  let last: TracesData | undefined;
  const sink: Consumer<"traces"> = {
    mutatesData: false,
    consume(payload) {
      last = payload.read();
      return Promise.resolve();
    },
  };
  const processor = k8sattributesFactory.create(
    {
      id: "k8sattributes",
      config: k8sattributesConfigSchema.parse({ auth_type: "kubeConfig", ...config }),
      logger: createLogger({ level: "debug", write: (line) => logs.push(line) }),
      meter: new MetricRegistry().meter(),
      buildInfo: { command: "tfo", version: "test" },
    },
    "traces",
    sink,
  );
  await processor.start({ getExtension: () => undefined, status: () => "running" } as never);
  return {
    logs,
    async send(attributes, address) {
      const client: ClientInfo = {
        metadata: new Map(),
        auth: new Map(),
        ...(address === undefined ? {} : { address }),
      };
      await processor.consume(Payload.of("traces", traces(attributes), client));
      return Object.fromEntries(
        last!.resourceSpans[0]!.resource.attributes.map((kv) => [kv.key, kv.value]),
      );
    },
    shutdown: () => processor.shutdown(),
  };
}

Deno.test({
  name: "k8sattributes: pods found by IP, UID and connection get their metadata and labels",
  ignore: api === undefined,
}, async () => {
  api!.upsert("namespaces", {
    metadata: { name: "shop", uid: "ns-shop", labels: { team: "payments" } },
  });
  api!.upsert("pods", pod("checkout-abcde", "uid-1", "10.0.0.5"));
  api!.upsert("pods", pod("cart-fghij", "uid-2", "10.0.0.6"));
  api!.upsert("pods", pod("hostnet-x", "uid-3", "192.168.1.10", { hostNetwork: true }));
  const p = await startProcessor(api!, {
    wait_for_metadata: true,
    extract: {
      labels: [{ key: "app" }, { tag_name: "team", key: "team", from: "namespace" }],
    },
  });
  try {
    const expected = {
      "k8s.namespace.name": "shop",
      "k8s.pod.name": "checkout-abcde",
      "k8s.pod.uid": "uid-1",
      "k8s.pod.start_time": "2026-12-01T10:00:05Z",
      "k8s.deployment.name": "checkout",
      "k8s.node.name": "node-a",
      "k8s.pod.labels.app": "checkout",
      "team": "payments",
    };
    assert.deepEqual(await p.send([{ key: "k8s.pod.ip", value: "10.0.0.5" }]), {
      "k8s.pod.ip": "10.0.0.5",
      ...expected,
    });
    assert.deepEqual(await p.send([{ key: "k8s.pod.uid", value: "uid-1" }]), expected);
    const byConnection = await p.send([{ key: "service.name", value: "cart" }], "10.0.0.6:51234");
    assert.equal(byConnection["k8s.pod.name"], "cart-fghij");
    // An attribute the data already has is kept; a host-network pod's IP is the node's, not its.
    const kept = await p.send([
      { key: "k8s.pod.ip", value: "10.0.0.5" },
      { key: "k8s.pod.name", value: "from-sdk" },
    ]);
    assert.equal(kept["k8s.pod.name"], "from-sdk");
    assert.equal(kept["k8s.pod.uid"], "uid-1");
    assert.equal((await p.send([], "192.168.1.10:1"))["k8s.pod.name"], undefined);
    assert.deepEqual(await p.send([], "10.9.9.9:1"), {}, "an unknown peer passes unchanged");
  } finally {
    await p.shutdown();
  }
});

Deno.test({
  name: "k8sattributes: metadata stays right through a pod restart and an expired watch (410)",
  ignore: api === undefined,
}, async () => {
  const p = await startProcessor(api!, { wait_for_metadata: true });
  try {
    assert.equal((await p.send([], "10.0.0.5:1"))["k8s.pod.uid"], "uid-1");
    // The pod restarts: a new pod (new UID) of the same name on a new IP; its old IP goes to cart's
    // replacement.
    api!.remove("pods", "uid-1");
    api!.upsert("pods", pod("checkout-abcde", "uid-1b", "10.0.0.9"));
    api!.remove("pods", "uid-2");
    api!.upsert("pods", pod("cart-klmno", "uid-2b", "10.0.0.5"));
    await waitFor(
      "the restart to be seen",
      async () => (await p.send([], "10.0.0.9:1"))["k8s.pod.uid"] === "uid-1b",
      10_000,
      50,
    );
    assert.equal((await p.send([], "10.0.0.5:1"))["k8s.pod.name"], "cart-klmno");
    assert.equal(
      (await p.send([], "10.0.0.6:1"))["k8s.pod.name"],
      undefined,
      "cart's old IP is free",
    );
    // The watch expires: history compacted, watches ended; a change happens meanwhile.
    const expiredBefore = api!.requests.expired;
    const listsBefore = api!.requests.lists;
    api!.compact();
    api!.upsert("pods", pod("search-pqrst", "uid-4", "10.0.0.20"));
    await waitFor(
      "a relist after 410 Gone",
      () => api!.requests.expired > expiredBefore && api!.requests.lists > listsBefore,
      10_000,
      50,
    );
    await waitFor(
      "the pod added during the expiry",
      async () => (await p.send([], "10.0.0.20:1"))["k8s.pod.name"] === "search-pqrst",
      10_000,
      50,
    );
    assert.equal((await p.send([], "10.0.0.9:1"))["k8s.pod.uid"], "uid-1b");
  } finally {
    await p.shutdown();
  }
});

Deno.test({
  name: "k8sattributes: the cache holds what the cluster holds, filtered by node",
  ignore: api === undefined,
}, async () => {
  Deno.env.set("KUBECONFIG", api!.kubeconfig);
  const client = new K8sClient(await k8sConnection("kubeConfig"));
  const config = k8sattributesConfigSchema.parse({
    auth_type: "kubeConfig",
    filter: { node_from_env_var: "TFO_TEST_NODE" },
  });
  Deno.env.set("TFO_TEST_NODE", "node-b");
  const cache = startPodCache(client, config, (error) => {
    throw error;
  });
  try {
    await cache.synced;
    assert.equal(cache.size(), 0, "no pod on node-b yet");
    for (let i = 0; i < 200; i++) {
      api!.upsert(
        "pods",
        pod(`burst-${i}`, `b-${i}`, `10.1.${i >> 8}.${i & 255}`, { node: "node-b" }),
      );
    }
    api!.upsert("pods", pod("elsewhere-1", "e-1", "10.2.0.1", { node: "node-c" }));
    await waitFor("200 pods cached", () => cache.size() === 200, 10_000, 50);
    for (let i = 0; i < 200; i++) api!.remove("pods", `b-${i}`);
    await waitFor("the cache to empty", () => cache.size() === 0, 10_000, 50);
    assert.equal(cache.byIp("10.1.0.7"), undefined);
  } finally {
    await cache.stop();
    client.close();
  }
});

Deno.test({
  name: "k8sattributes: a refused RBAC permission is reported; data passes unchanged",
  ignore: api === undefined,
}, async () => {
  api!.forbidden = true;
  const p = await startProcessor(api!, {});
  try {
    await waitFor(
      "the error to be logged",
      () => p.logs.some((l) => l.includes("forbidden")),
      10_000,
      50,
    );
    const line = p.logs.find((l) => l.includes("forbidden"))!;
    assert.match(line, /cannot list resource \\"pods\\"/);
    assert.deepEqual(await p.send([{ key: "k8s.pod.ip", value: "10.0.0.9" }]), {
      "k8s.pod.ip": "10.0.0.9",
    });
    api!.forbidden = false;
    await waitFor(
      "metadata once the permission is granted",
      async () =>
        (await p.send([{ key: "k8s.pod.ip", value: "10.0.0.9" }]))["k8s.pod.uid"] === "uid-1b",
      40_000,
      100,
    );
  } finally {
    api!.forbidden = false;
    await p.shutdown();
  }
});

Deno.test({
  name: "k8sattributes: passthrough adds the connection's IP only; the config refuses unknown keys",
  ignore: api === undefined,
}, async () => {
  const p = await startProcessor(api!, { passthrough: true });
  try {
    assert.deepEqual(await p.send([], "10.0.0.9:4000"), { "k8s.pod.ip": "10.0.0.9" });
  } finally {
    await p.shutdown();
  }
  for (
    const bad of [
      { extract: { metadata: ["container.image.name"] } },
      { extract: { labels: [{ key: "a", from: "node" }] } },
      { pod_association: [{ sources: [{ from: "resource_attribute" }] }] },
      { auth_type: "tls" },
      { unknown: 1 },
    ]
  ) {
    assert.equal(k8sattributesConfigSchema.safeParse(bad).success, false, JSON.stringify(bad));
  }
});

Deno.test(
  { name: "k8sattributes: the fake API server stops", ignore: api === undefined },
  async () => {
    await api!.close();
  },
);
