import assert from "node:assert/strict";
import { resourceDetectionConfigSchema } from "../../../../components/processor/resourcedetection/config.ts";
import {
  applyDetected,
  createResourceDetectionProcessor,
  type DetectorOverrides,
  detectResource,
  resourceDetectionFactory,
} from "../../../../components/processor/resourcedetection/factory.ts";
import type { KeyValue, Signal } from "../../../../lib/pdata/types.ts";
import { NOTHING } from "../../../../lib/pdata/fields.ts";
import { Payload } from "../../../../lib/pdata/payload.ts";
import { warmUpSample } from "../../../../lib/pdata/sample.ts";
import { OTLP_SIGNALS, type OtlpSignal } from "../../../../lib/otlp/signals.ts";
import { forEachResource } from "../../../../lib/processing/walk.ts";
import { createLogger, type Logger, NOOP_LOGGER } from "../../../../lib/telemetry/logger.ts";
import { MetricRegistry } from "../../../../lib/telemetry/metrics.ts";
import {
  ALL_SIGNALS,
  dataOf,
  payloadOf,
  record,
  resourceAttributes,
  sink,
} from "../attributes/_data.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

const HOST = { getExtension: () => undefined, status: () => "running" as const };

function config(input: Record<string, unknown>) {
  return resourceDetectionConfigSchema.parse(input);
}

function envOf(vars: Record<string, string>): NonNullable<DetectorOverrides["env"]> {
  return (name) => vars[name];
}

function filesOf(files: Record<string, string>): NonNullable<DetectorOverrides["readTextFile"]> {
  return (path) =>
    path in files
      ? Promise.resolve(files[path]!)
      : Promise.reject(new Deno.errors.NotFound(`No fake file ${path}`));
}

function recordingLogger(): { logger: Logger; lines: { level: string; msg: string }[] } {
  const lines: { level: string; msg: string }[] = [];
  const logger = createLogger({
    level: "debug",
    write: (line) => lines.push(JSON.parse(line)),
  });
  return { logger, lines };
}

async function detect(input: Record<string, unknown>, overrides: DetectorOverrides = {}) {
  return record(await detectResource(config(input), NOOP_LOGGER, overrides));
}

/** A fake metadata service on loopback that records requests. */
function fakeServer(handler: (req: Request) => Response | Promise<Response>) {
  const requests: { method: string; path: string; headers: Headers }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const url = new URL(req.url);
    requests.push({ method: req.method, path: url.pathname + url.search, headers: req.headers });
    return handler(req);
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    close: () => server.shutdown(),
  };
}

Deno.test("resourcedetection config has the Collector's defaults and rejects unknown keys", () => {
  const c = config({});
  assert.deepEqual(c.detectors, ["env"]);
  assert.equal(c.override, true);
  assert.equal(c.timeout, 2000);
  assert.deepEqual(c.system.hostname_sources, ["dns", "os"]);
  assert.equal(c.system.resource_attributes["host.name"]!.enabled, true);
  assert.equal(c.system.resource_attributes["os.type"]!.enabled, true);
  assert.equal(c.system.resource_attributes["host.id"]!.enabled, false);
  assert.equal(c.ec2.resource_attributes["host.name"]!.enabled, true);
  assert.equal(c.docker.resource_attributes["container.id"]!.enabled, true);
  for (
    const bad of [
      { detectors: ["heroku"] },
      { detectors: ["env", "env"] },
      { system: { resource_attributes: { "host.nmae": { enabled: true } } } },
      { ec2: { endpoint: "not a url" } },
      { timeout: "soon" },
      { overide: false },
    ]
  ) {
    assert.equal(resourceDetectionConfigSchema.safeParse(bad).success, false, JSON.stringify(bad));
  }
  assert.equal(resourceDetectionFactory.type, "resourcedetection");
});

Deno.test("env detector reads OTEL_RESOURCE_ATTRIBUTES with percent-decoding", async () => {
  const env = envOf({
    OTEL_RESOURCE_ATTRIBUTES: " service.name = shop ,team=a%2Cb,  note=x%20y+z, ",
    OTEL_RESOURCE: "ignored=1",
  });
  assert.deepEqual(await detect({ detectors: ["env"] }, { env }), {
    "service.name": "shop",
    team: "a,b",
    note: "x y+z",
  });
  assert.deepEqual(await detect({}, { env: envOf({ OTEL_RESOURCE: "old=1" }) }), { old: "1" });
  const { logger, lines } = recordingLogger();
  const bad = await detectResource(config({}), logger, {
    env: envOf({ OTEL_RESOURCE_ATTRIBUTES: "a=1,broken" }),
  });
  assert.deepEqual(bad, []);
  assert.ok(lines.some((l) => l.level === "warn" && l.msg === "Detector failed"));
});

Deno.test("system detector matches this machine's hostname and machine ID", async () => {
  const hostname = (await Deno.readTextFile("/proc/sys/kernel/hostname")).trim();
  const machineId = (await Deno.readTextFile("/etc/machine-id")).trim();
  const attrs = await detect({
    detectors: ["system"],
    system: {
      hostname_sources: ["os"],
      resource_attributes: { "host.id": { enabled: true }, "host.arch": { enabled: true } },
    },
  });
  assert.deepEqual(attrs, {
    "host.name": hostname,
    "os.type": "linux",
    "host.id": machineId,
    "host.arch": Deno.build.arch === "x86_64" ? "amd64" : "arm64",
  });
  const defaults = await detect({ detectors: ["system"], system: { hostname_sources: ["os"] } });
  assert.deepEqual(Object.keys(defaults), ["host.name", "os.type"], "Collector defaults");
});

Deno.test("system detector takes the FQDN from /etc/hosts and builds os.description", async () => {
  const attrs = await detect({
    detectors: ["system"],
    system: {
      resource_attributes: {
        "os.type": { enabled: false },
        "host.id": { enabled: true },
        "os.description": { enabled: true },
        "host.cpu.vendor.id": { enabled: true },
        "host.cpu.cache.l2.size": { enabled: true },
      },
    },
  }, {
    hostname: () => "node1",
    readTextFile: filesOf({
      "/etc/hosts":
        "127.0.0.1 localhost\n# 10.0.0.9 node1.wrong node1\n10.0.0.5 node1.example.com node1\n",
      "/var/lib/dbus/machine-id": "abc123\n",
      "/etc/os-release": 'NAME="Debian"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n',
      "/proc/sys/kernel/ostype": "Linux\n",
      "/proc/sys/kernel/hostname": "node1\n",
      "/proc/sys/kernel/osrelease": "6.1.0\n",
      "/proc/sys/kernel/version": "#1 SMP\n",
      "/proc/cpuinfo":
        "processor\t: 0\nvendor_id\t: GenuineIntel\ncache size\t: 512 KB\n\nprocessor\t: 1\n",
    }),
  });
  assert.deepEqual(attrs, {
    "host.name": "node1.example.com",
    "host.id": "abc123",
    "os.description":
      `Debian GNU/Linux 12 (bookworm) (Linux node1 6.1.0 #1 SMP ${Deno.build.arch})`,
    "host.cpu.vendor.id": "GenuineIntel",
    "host.cpu.cache.l2.size": 524288n,
  });
});

Deno.test("docker detector reads the container ID from cgroup v1 and from mountinfo", async () => {
  const id = "3f4e8a1b".repeat(8);
  const withRuntime = {
    detectors: ["docker"],
    docker: { resource_attributes: { "container.runtime": { enabled: true } } },
  };
  assert.deepEqual(
    await detect(withRuntime, {
      readTextFile: filesOf({
        "/proc/self/cgroup": `12:pids:/docker/${id}\n11:memory:/docker/${id}\n`,
      }),
    }),
    { "container.id": id, "container.runtime": "docker" },
  );
  assert.deepEqual(
    await detect(withRuntime, {
      readTextFile: filesOf({
        "/proc/self/cgroup": `0::/kubepods.slice/kubepods-pod1.slice/cri-containerd-${id}.scope\n`,
      }),
    }),
    { "container.id": id, "container.runtime": "containerd" },
  );
  const mountinfo = [
    "600 500 0:50 / / rw,relatime - overlay overlay rw",
    `612 600 8:1 /var/lib/docker/containers/${id}/hostname /etc/hostname rw,relatime - ext4 /dev/sda1 rw`,
  ].join("\n");
  assert.deepEqual(
    await detect({ detectors: ["docker"] }, {
      readTextFile: filesOf({ "/proc/self/cgroup": "0::/\n", "/proc/self/mountinfo": mountinfo }),
    }),
    { "container.id": id },
  );
  assert.deepEqual(
    await detect({ detectors: ["docker"] }, {
      readTextFile: filesOf({ "/proc/self/cgroup": "0::/\n", "/proc/self/mountinfo": "" }),
    }),
    {},
  );
});

Deno.test("k8snode detector reads the downward-API variables", async () => {
  assert.deepEqual(
    await detect({ detectors: ["k8snode"] }, {
      env: envOf({ K8S_NODE_NAME: "node-a", K8S_NODE_UID: "uid-1" }),
    }),
    { "k8s.node.name": "node-a", "k8s.node.uid": "uid-1" },
  );
  assert.deepEqual(
    await detect({
      detectors: ["k8snode"],
      k8snode: {
        node_from_env_var: "MY_NODE",
        resource_attributes: { "k8s.node.uid": { enabled: false } },
      },
    }, { env: envOf({ MY_NODE: "node-b", K8S_NODE_UID: "uid-2" }) }),
    { "k8s.node.name": "node-b" },
  );
  assert.deepEqual(await detect({ detectors: ["k8snode"] }, { env: envOf({}) }), {});
});

Deno.test("ec2 detector speaks IMDSv2 to a local fake", async () => {
  const fake = fakeServer((req) => {
    const path = new URL(req.url).pathname;
    if (path === "/latest/api/token" && req.method === "PUT") return new Response("tok-1");
    if (req.headers.get("x-aws-ec2-metadata-token") !== "tok-1") {
      return new Response("", { status: 401 });
    }
    if (path === "/latest/dynamic/instance-identity/document") {
      return Response.json({
        accountId: "123456789012",
        availabilityZone: "eu-west-1b",
        imageId: "ami-0abc",
        instanceId: "i-0123",
        instanceType: "t3.small",
        region: "eu-west-1",
      });
    }
    if (path === "/latest/meta-data/hostname") return new Response("ip-10-0-0-1.ec2.internal");
    return new Response("", { status: 404 });
  });
  try {
    assert.deepEqual(await detect({ detectors: ["ec2"], ec2: { endpoint: fake.url } }), {
      "cloud.provider": "aws",
      "cloud.platform": "aws_ec2",
      "cloud.region": "eu-west-1",
      "cloud.availability_zone": "eu-west-1b",
      "cloud.account.id": "123456789012",
      "host.id": "i-0123",
      "host.image.id": "ami-0abc",
      "host.type": "t3.small",
      "host.name": "ip-10-0-0-1.ec2.internal",
    });
    const token = fake.requests[0]!;
    assert.equal(token.method, "PUT");
    assert.equal(token.headers.get("x-aws-ec2-metadata-token-ttl-seconds"), "21600");
    // The endpoint may also come from the AWS SDK's variable.
    const viaEnv = await detect({
      detectors: ["ec2"],
      ec2: {
        resource_attributes: { "host.name": { enabled: false }, "host.type": { enabled: false } },
      },
    }, { env: envOf({ AWS_EC2_METADATA_SERVICE_ENDPOINT: fake.url + "/" }) });
    assert.equal(viaEnv["host.id"], "i-0123");
    assert.equal(viaEnv["host.name"], undefined);
    assert.equal(viaEnv["host.type"], undefined);
  } finally {
    await fake.close();
  }
});

Deno.test("gcp detector reads Compute Engine and GKE metadata from a local fake", async () => {
  const values: Record<string, string> = {
    "project/project-id": "my-project",
    "instance/id": "4520031799277581759",
    "instance/name": "vm-1",
    "instance/zone": "projects/123/zones/us-central1-a",
    "instance/machine-type": "projects/123/machineTypes/e2-medium",
    "instance/attributes/cluster-name": "prod",
    "instance/attributes/cluster-location": "europe-west4",
  };
  const fake = fakeServer((req) => {
    if (req.headers.get("metadata-flavor") !== "Google") return new Response("", { status: 403 });
    const key = new URL(req.url).pathname.replace("/computeMetadata/v1/", "");
    const value = values[key];
    return value === undefined
      ? new Response("", { status: 404 })
      : new Response(value, { headers: { "Metadata-Flavor": "Google" } });
  });
  try {
    assert.deepEqual(await detect({ detectors: ["gcp"], gcp: { endpoint: fake.url } }), {
      "cloud.provider": "gcp",
      "cloud.account.id": "my-project",
      "cloud.platform": "gcp_compute_engine",
      "cloud.availability_zone": "us-central1-a",
      "cloud.region": "us-central1",
      "host.type": "e2-medium",
      "host.id": "4520031799277581759",
      "host.name": "vm-1",
    });
    const host = fake.url.replace("http://", "");
    assert.deepEqual(
      await detect({ detectors: ["gcp"] }, {
        env: envOf({ GCE_METADATA_HOST: host, KUBERNETES_SERVICE_HOST: "10.0.0.1" }),
      }),
      {
        "cloud.provider": "gcp",
        "cloud.account.id": "my-project",
        "cloud.platform": "gcp_kubernetes_engine",
        "cloud.region": "europe-west4",
        "k8s.cluster.name": "prod",
        "host.id": "4520031799277581759",
        "host.name": "vm-1",
      },
    );
  } finally {
    await fake.close();
  }
});

Deno.test("azure detector reads the instance metadata service from a local fake", async () => {
  const fake = fakeServer((req) => {
    if (req.headers.get("metadata") !== "true") return new Response("", { status: 400 });
    return Response.json({
      location: "westeurope",
      name: "vm-az",
      vmId: "02aab8a4-74ef-476e-8182-f6d2ba4166a6",
      vmSize: "Standard_D2s_v3",
      subscriptionId: "sub-1",
      resourceGroupName: "rg-1",
      vmScaleSetName: "",
    });
  });
  try {
    assert.deepEqual(await detect({ detectors: ["azure"], azure: { endpoint: fake.url } }), {
      "cloud.provider": "azure",
      "cloud.platform": "azure_vm",
      "host.name": "vm-az",
      "cloud.region": "westeurope",
      "host.id": "02aab8a4-74ef-476e-8182-f6d2ba4166a6",
      "cloud.account.id": "sub-1",
      "azure.vm.name": "vm-az",
      "azure.vm.size": "Standard_D2s_v3",
      "azure.resourcegroup.name": "rg-1",
    });
    assert.equal(
      fake.requests[0]!.path,
      "/metadata/instance/compute?api-version=2020-09-01&format=json",
    );
  } finally {
    await fake.close();
  }
});

Deno.test("cloud detectors with nothing listening give up quietly at debug level", async () => {
  const { logger, lines } = recordingLogger();
  const closed = "http://127.0.0.1:1";
  const started = Date.now();
  const found = await detectResource(
    config({
      detectors: ["ec2", "gcp", "azure", "env"],
      ec2: { endpoint: closed },
      gcp: { endpoint: closed },
      azure: { endpoint: closed },
    }),
    logger,
    { env: envOf({ OTEL_RESOURCE_ATTRIBUTES: "a=1" }) },
  );
  assert.deepEqual(record(found), { a: "1" });
  assert.ok(Date.now() - started < 1500);
  const nothing = lines.filter((l) => l.msg === "Detector found nothing");
  assert.equal(nothing.length, 3);
  assert.ok(nothing.every((l) => l.level === "debug"));
  assert.ok(!lines.some((l) => l.level === "warn" || l.level === "error"));
});

Deno.test("a slow metadata service is cut off by the detector's and the processor's timeout", async () => {
  const stop = new AbortController();
  const fake = fakeServer(() =>
    new Promise<Response>((resolve) => {
      stop.signal.addEventListener("abort", () => resolve(new Response("late")), { once: true });
    })
  );
  try {
    // The cloud detector's own short timeout.
    const { logger, lines } = recordingLogger();
    let started = Date.now();
    const quick = await detectResource(
      config({ detectors: ["gcp", "env"], gcp: { endpoint: fake.url, timeout: "150ms" } }),
      logger,
      { env: envOf({ OTEL_RESOURCE_ATTRIBUTES: "a=1" }) },
    );
    assert.deepEqual(record(quick), { a: "1" });
    assert.ok(Date.now() - started < 1000, `took ${Date.now() - started}ms`);
    assert.ok(lines.some((l) => l.level === "debug" && l.msg === "Detector found nothing"));

    // The processor's timeout bounds start even when a detector's own timeout is longer.
    const out = sink<"traces">();
    const p = createResourceDetectionProcessor(
      config({
        detectors: ["env", "ec2"],
        timeout: "200ms",
        ec2: { endpoint: fake.url, timeout: "10s" },
      }),
      "traces",
      out,
      NOOP_LOGGER,
      { overrides: { env: envOf({ OTEL_RESOURCE_ATTRIBUTES: "a=1" }) } },
    );
    started = Date.now();
    await p.start(HOST);
    assert.ok(Date.now() - started < 1000, `start took ${Date.now() - started}ms`);
    await p.consume(payloadOf("traces", dataOf("traces", {})));
    assert.deepEqual(resourceAttributes("traces", out.payloads[0]!.read()).map(record), [{
      a: "1",
    }]);
    await p.shutdown();
  } finally {
    stop.abort();
    await fake.close();
  }
});

for (const signal of ALL_SIGNALS) {
  Deno.test(`resourcedetection merges detectors first-wins and honours override on ${signal}`, async () => {
    const overrides: DetectorOverrides = {
      env: envOf({ OTEL_RESOURCE_ATTRIBUTES: "host.name=from-env,team=a", K8S_NODE_NAME: "n1" }),
      hostname: () => "from-system",
      readTextFile: filesOf({}),
    };
    const base = {
      detectors: ["env", "system", "k8snode"],
      system: { hostname_sources: ["os"] },
    };
    const existing: KeyValue[] = [{ key: "host.name", value: "original" }, { key: "x", value: 1n }];
    for (const override of [true, false]) {
      const out = sink<typeof signal>();
      const p = createResourceDetectionProcessor(
        config({ ...base, override }),
        signal,
        out,
        NOOP_LOGGER,
        { overrides },
      );
      assert.equal(p.mutatesData, true);
      await p.start(HOST);
      await p.consume(
        payloadOf(signal, dataOf(signal, { resource: structuredClone(existing) }, {})),
      );
      const [first, second] = resourceAttributes(signal, out.payloads[0]!.read()).map(record);
      const detected = { team: "a", "os.type": "linux", "k8s.node.name": "n1" };
      assert.deepEqual(first, {
        "host.name": override ? "from-env" : "original",
        x: 1n,
        ...detected,
      });
      assert.deepEqual(second, { "host.name": "from-env", ...detected });
      await p.shutdown();
    }
  });
}

Deno.test("resourcedetection factory instance with no detectors starts and shuts down twice", async () => {
  const p = resourceDetectionFactory.create(
    {
      id: "resourcedetection",
      config: config({ detectors: [] }),
      logger: NOOP_LOGGER,
      meter: new MetricRegistry().meter(),
      buildInfo: { command: "tfo", version: "test" },
    },
    "logs",
    sink(),
  );
  await p.start(HOST);
  await p.shutdown();
  await p.shutdown();
});

Deno.test("resourcedetection needs no item field: an encoded request keeps its items' bytes and gets the detected resource", async () => {
  for (const signal of ALL_SIGNALS) {
    const codec = OTLP_SIGNALS[signal] as unknown as OtlpSignal<Signal>;
    const proto = codec.encodeProto(warmUpSample(signal));
    const out = sink<Signal>();
    const p = createResourceDetectionProcessor(
      config({ detectors: ["env"] }),
      signal,
      out,
      NOOP_LOGGER,
      {
        overrides: { env: envOf({ OTEL_RESOURCE_ATTRIBUTES: "host.name=h1,service.name=over" }) },
      },
    );
    // The graph decodes ahead only what its processors declare: nothing of any item here.
    assert.deepEqual(p.needs, NOTHING, signal);
    await p.start(HOST);
    await p.consume(Payload.fromProto(signal, proto, codec.proto));
    const sent = out.payloads[0]!;
    // What a full decode, edit and encode gives, decoded again.
    const expected = Payload.fromProto(signal, proto, codec.proto).edit();
    forEachResource(signal, expected, (r) => {
      applyDetected(r, [
        { key: "host.name", value: "h1" },
        { key: "service.name", value: "over" },
      ], true);
    });
    const got = Payload.fromProto(signal, sent.toProto(codec.encodeProto), codec.proto).read();
    assert.deepEqual(got, expected, signal);
    assert.deepEqual(record(resourceAttributes(signal, got)[0]!)["service.name"], "over", signal);
    await p.shutdown();
  }
});
