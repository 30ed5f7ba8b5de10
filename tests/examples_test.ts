/** Every shipped config must validate: the examples and the one inside the Kubernetes manifest. */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { main } from "../main.ts";

const root = fileURLToPath(new URL("..", import.meta.url));

async function validate(path: string): Promise<{ code: number; err: string }> {
  const err: string[] = [];
  const code = await main(["validate", "--config", path], {
    io: { out: () => {}, err: (t) => err.push(t) },
  });
  return { code, err: err.join("\n") };
}

for await (const entry of Deno.readDir(`${root}/examples`)) {
  if (!entry.name.endsWith(".yaml")) continue;
  Deno.test(`examples/${entry.name} is a valid config`, async () => {
    const { code, err } = await validate(`${root}/examples/${entry.name}`);
    assert.equal(code, 0, err);
  });
}

Deno.test("the Kubernetes collector manifest carries a valid config", async () => {
  const docs = parseAllDocuments(
    await Deno.readTextFile(`${root}/deploy/kubernetes/collector.yaml`),
  );
  const configMap = docs.map((d) => d.toJS()).find((d) => d?.kind === "ConfigMap");
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/config.yaml`, configMap.data["config.yaml"]);
    const { code, err } = await validate(`${dir}/config.yaml`);
    assert.equal(code, 0, err);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
