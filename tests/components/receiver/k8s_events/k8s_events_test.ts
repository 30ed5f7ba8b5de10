/**
 * The k8s_events receiver against the fake Kubernetes API server (tests/fixtures/k8s_api.ts, list
 * and watch as the real one serves them): events become the Collector's log records, only those
 * not older than the start, each change once — also across a 410 Gone relist —, only the
 * configured namespaces; a refused RBAC permission and a missing cluster are logged retries.
 */
import assert from "node:assert/strict";
import { createK8sEventsReceiver } from "../../../../components/receiver/k8s_events/factory.ts";
import { k8sEventsConfigSchema } from "../../../../components/receiver/k8s_events/config.ts";
import { eventToLogs, goTimeString } from "../../../../components/receiver/k8s_events/logs.ts";
import type { Consumer } from "../../../../lib/consumer/consumer.ts";
import type { LogsData, ResourceLogs } from "../../../../lib/pdata/types.ts";
import { settingsFor } from "../../exporter/otlp/_kit.ts";
import { startFakeK8sApi, type StoredObject } from "../../../fixtures/k8s_api.ts";
import { waitFor } from "../../../fixtures/interop/services.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

const api = await startFakeK8sApi();
if (api === undefined) console.log("k8s_events_test: skipped: openssl is not installed");

const HOST = { getExtension: () => undefined, status: () => "running" } as never;
const START = Date.parse("2026-12-02T06:00:00Z");
const at = (seconds: number) => new Date(START + seconds * 1000).toISOString().replace(".000", "");

/** A core/v1 Event as the API server serves it (a kubelet's BackOff warning, say). */
function event(
  uid: string,
  namespace: string,
  seconds: number,
  more: Partial<Record<string, unknown>> = {},
): StoredObject {
  return {
    metadata: {
      name: `web-1.${uid}`,
      namespace,
      uid,
      creationTimestamp: at(seconds),
    },
    involvedObject: {
      kind: "Pod",
      namespace,
      name: "web-1",
      uid: "5b0f0c52-pod",
      apiVersion: "v1",
      resourceVersion: "40213",
      fieldPath: "spec.containers{app}",
    },
    reason: "BackOff",
    message: "Back-off restarting failed container app in pod web-1",
    source: { component: "kubelet", host: "node-a" },
    firstTimestamp: at(seconds),
    lastTimestamp: at(seconds),
    count: 1,
    type: "Warning",
    eventTime: null,
    reportingComponent: "kubelet",
    reportingInstance: "node-a",
    ...more,
  };
}

function attributesOf(rl: ResourceLogs) {
  const record = rl.scopeLogs[0]!.logRecords[0]!;
  return {
    resource: Object.fromEntries(rl.resource.attributes.map((kv) => [kv.key, kv.value])),
    attributes: Object.fromEntries(record.attributes.map((kv) => [kv.key, kv.value])),
    record,
  };
}

Deno.test("k8s_events: an event as the Collector's log record", () => {
  const rl = eventToLogs(event("e-1", "shop", 5) as never, "test", 1n);
  const { resource, attributes, record } = attributesOf(rl);
  assert.deepEqual(resource, {
    "k8s.node.name": "node-a",
    "k8s.object.kind": "Pod",
    "k8s.object.name": "web-1",
    "k8s.object.uid": "5b0f0c52-pod",
    "k8s.object.fieldpath": "spec.containers{app}",
    "k8s.object.api_version": "v1",
    "k8s.object.resource_version": "40213",
  });
  assert.deepEqual(attributes, {
    "k8s.event.reason": "BackOff",
    "k8s.event.action": "",
    "k8s.event.start_time": "2026-12-02 06:00:05 +0000 UTC",
    "k8s.event.name": "web-1.e-1",
    "k8s.event.uid": "e-1",
    "k8s.namespace.name": "shop",
    "k8s.event.count": 1n,
  });
  assert.equal(record.body, "Back-off restarting failed container app in pod web-1");
  assert.equal(record.severityNumber, 13);
  assert.equal(record.severityText, "Warning");
  assert.equal(record.timeUnixNano, BigInt(START + 5000) * 1_000_000n);
  const normal = eventToLogs(
    event("e-2", "shop", 1, { type: "Normal", count: 0, lastTimestamp: null }) as never,
    "t",
    1n,
  );
  const n = attributesOf(normal);
  assert.equal(n.record.severityNumber, 9);
  assert.equal(n.attributes["k8s.event.count"], undefined, "a count of 0 is left out");
  assert.equal(n.record.timeUnixNano, BigInt(START + 1000) * 1_000_000n, "firstTimestamp");
  const series = eventToLogs(
    event("e-3", "shop", 0, {
      type: "Custom",
      firstTimestamp: null,
      lastTimestamp: null,
      eventTime: "2026-12-02T06:00:07.250000Z",
    }) as never,
    "t",
    1n,
  );
  const s = attributesOf(series);
  assert.equal(s.record.timeUnixNano, BigInt(START + 7250) * 1_000_000n, "eventTime");
  assert.equal(s.record.severityNumber, 0);
  assert.equal(s.record.severityText, "Custom");
  assert.equal(goTimeString("2026-12-02T06:00:07.250Z"), "2026-12-02 06:00:07.25 +0000 UTC");
});

Deno.test({
  name: "k8s_events: new and changed events are logged once each, also across 410 Gone; old " +
    "ones and other namespaces are not",
  ignore: api === undefined,
}, async () => {
  api!.upsert("events", event("old-1", "shop", -600)); // before the start: not logged
  api!.upsert("events", event("e-10", "shop", 1));
  api!.upsert("events", event("other-1", "kube-system", 2)); // not a watched namespace
  const { settings, lines } = settingsFor(
    "k8s_events",
    k8sEventsConfigSchema.parse({ auth_type: "kubeConfig", namespaces: ["shop", "staging"] }),
  );
  const batches: LogsData[] = [];
  const sink: Consumer<"logs"> = {
    mutatesData: false,
    consume(payload) {
      batches.push(payload.read());
      return Promise.resolve();
    },
  };
  const receiver = createK8sEventsReceiver(settings, { logs: sink }, {
    kubeconfig: api!.kubeconfig,
    startMs: START,
  });
  const logged = () =>
    batches.flatMap((b) => b.resourceLogs).map((rl) => {
      const a = attributesOf(rl);
      return `${a.attributes["k8s.event.uid"]}#${a.attributes["k8s.event.count"] ?? 0}`;
    });
  await receiver.start(HOST);
  try {
    await waitFor("the listed event", () => logged().length >= 1);
    api!.upsert("events", event("e-11", "staging", 3, { type: "Normal", reason: "Scheduled" }));
    api!.upsert("events", event("e-10", "shop", 1, { count: 2, lastTimestamp: at(9) }));
    await waitFor("the watched events", () => logged().length >= 3);
    assert.deepEqual(logged().sort(), ["e-10#1", "e-10#2", "e-11#1"]);

    // The watch expires (etcd compaction); the relist must not log the same versions again, but
    // must log what changed meanwhile.
    const lists = api!.requests.lists;
    api!.compact();
    api!.upsert("events", event("e-10", "shop", 1, { count: 3, lastTimestamp: at(12) }));
    await waitFor("a relist", () => api!.requests.lists > lists + 1 && logged().length >= 4);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(logged().sort(), ["e-10#1", "e-10#2", "e-10#3", "e-11#1"]);
    assert.ok(api!.requests.expired >= 1, "the watch got 410 Gone");

    api!.forbidden = true;
    api!.compact();
    const refused = await waitFor(
      "a logged 403",
      () => lines.find((l) => l.level === "error" && String(l.error).includes("403")),
    );
    assert.match(String(refused.error), /cannot (list|watch) resource "events"/);
    api!.forbidden = false;
  } finally {
    await receiver.shutdown();
  }
});

Deno.test({
  name: "k8s_events: exclude_namespaces leaves a namespace's events out",
  ignore: api === undefined,
}, async () => {
  const { settings } = settingsFor(
    "k8s_events",
    k8sEventsConfigSchema.parse({ auth_type: "kubeConfig", exclude_namespaces: ["kube-system"] }),
  );
  const uids: unknown[] = [];
  const receiver = createK8sEventsReceiver(settings, {
    logs: {
      mutatesData: false,
      consume(payload) {
        for (const rl of payload.read().resourceLogs) {
          uids.push(attributesOf(rl).attributes["k8s.event.uid"]);
        }
        return Promise.resolve();
      },
    },
  }, { kubeconfig: api!.kubeconfig, startMs: START });
  await receiver.start(HOST);
  try {
    api!.upsert("events", event("x-1", "kube-system", 20));
    api!.upsert("events", event("x-2", "shop", 21));
    await waitFor("the shop event", () => uids.includes("x-2"));
    assert.ok(!uids.includes("x-1"), "kube-system is excluded");
  } finally {
    await receiver.shutdown();
  }
});

Deno.test("k8s_events: no cluster is a logged retry, not a start failure", async () => {
  const { settings, lines } = settingsFor(
    "k8s_events",
    k8sEventsConfigSchema.parse({ auth_type: "kubeConfig" }),
  );
  const receiver = createK8sEventsReceiver(settings, { logs: undefined as never }, {
    kubeconfig: "/nonexistent/kubeconfig",
  });
  await receiver.start(HOST);
  try {
    const line = await waitFor("a logged failure", () => lines.find((l) => l.level === "error"));
    assert.match(String(line.error), /kubeconfig/);
  } finally {
    await receiver.shutdown();
  }
});

Deno.test("k8s_events: config", () => {
  const c = k8sEventsConfigSchema.parse({});
  assert.equal(c.auth_type, "serviceAccount");
  assert.deepEqual(c.namespaces, []);
  assert.equal(k8sEventsConfigSchema.safeParse({ k8s_leader_elector: "x" }).success, false);
  assert.equal(k8sEventsConfigSchema.safeParse({ auth_type: "tls" }).success, false);
});

Deno.test({ name: "k8s_events: close the fake API", ignore: api === undefined }, async () => {
  await api!.close();
});
