import assert from "node:assert/strict";
import { Capture, freePort, HOST, metricsByName, receiverWith } from "./_helpers.ts";
import { waitFor } from "../../../fixtures/interop/services.ts";

function exporter(name: string) {
  const port = freePort();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port, onListen() {} },
    () =>
      new Response(`# TYPE ${name} gauge\n${name} 1\n`, {
        headers: { "content-type": "text/plain" },
      }),
  );
  return { address: `127.0.0.1:${port}`, close: () => server.shutdown() };
}

Deno.test("file_sd_configs: targets come from JSON and YAML files, follow their changes, and keep the last good state", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tfo-file-sd-" });
  const [a, b] = [exporter("from_a"), exporter("from_b")];
  const capture = new Capture();
  await Deno.writeTextFile(
    `${dir}/one.json`,
    JSON.stringify([{ targets: [a.address], labels: { team: "x" } }]),
  );
  const receiver = receiverWith({
    config: {
      scrape_configs: [{
        job_name: "files",
        scrape_interval: "200ms",
        file_sd_configs: [{
          files: [`${dir}/*.json`, `${dir}/extra.yaml`],
          refresh_interval: "500ms",
        }],
        relabel_configs: [{ source_labels: ["__meta_filepath"], target_label: "sd_file" }],
      }],
    },
  }, capture);
  try {
    await receiver.start(HOST);
    assert.deepEqual(receiver.targets, [`http://${a.address}/metrics`]);
    const [first] = await capture.waitFor(1);
    const labels = Object.fromEntries(
      first!.resourceMetrics[0]!.resource.attributes.map((kv) => [kv.key, kv.value]),
    );
    assert.equal(labels["service.name"], "files");
    const point = metricsByName(first!).get("from_a")!;
    assert.ok(point !== undefined);
    const attrs = point.data!.dataPoints[0]!.attributes;
    assert.ok(
      attrs.some((kv) => kv.key === "sd_file" && kv.value === `${dir}/one.json`),
      JSON.stringify(attrs),
    );
    assert.ok(attrs.some((kv) => kv.key === "team" && kv.value === "x"));

    // A second file (YAML) adds its target; the first file changing drops the old one.
    await Deno.writeTextFile(`${dir}/extra.yaml`, `- targets: ["${b.address}"]\n`);
    await waitFor("b added", () => receiver.targets.length === 2 ? true : undefined, 10_000, 50);
    await Deno.writeTextFile(`${dir}/one.json`, "[]");
    await waitFor("a removed", () => receiver.targets.length === 1 ? true : undefined, 10_000, 50);
    assert.deepEqual(receiver.targets, [`http://${b.address}/metrics`]);

    // A broken file keeps the targets it gave last time.
    await Deno.writeTextFile(`${dir}/extra.yaml`, "- targets: [not closed\n");
    await new Promise((r) => setTimeout(r, 1200));
    assert.deepEqual(receiver.targets, [`http://${b.address}/metrics`]);
    // A deleted file takes its targets with it.
    await Deno.remove(`${dir}/extra.yaml`);
    await waitFor("b removed", () => receiver.targets.length === 0 ? true : undefined, 10_000, 50);
  } finally {
    await receiver.shutdown();
    await a.close();
    await b.close();
    await Deno.remove(dir, { recursive: true });
  }
});
