/**
 * A resolved config survives the trip from the validating child to the running process
 * (`pipelines/resolved_transport.ts`): every shipped example config and every component folder's
 * example, resolved in process and sent through the bytes, compare deeply equal (factories by
 * kind and type; prototypes compared too, so a class instance that arrives as a plain object
 * fails), and the sender finds what would not survive.
 */
import assert from "node:assert/strict";
import { isDeepStrictEqual } from "node:util";
import { fileURLToPath } from "node:url";
import { BUILTIN_COMPONENTS } from "../../components/registry.ts";
import { BUILTIN_FACTORIES } from "../../components/builtin_factories.ts";
import type { Factory, Kind } from "../../components/component.ts";
import {
  type ComponentConfig,
  formatDiagnostic,
  loadConfig,
  type RawConfig,
  type ResolvedConfig,
} from "../../pipelines/config.ts";
import { validateWith } from "../../pipelines/validate.ts";
import { parseNode } from "../../pipelines/_schema_issues.ts";
import { SECTIONS } from "../../pipelines/factories.ts";
import {
  decodeResolution,
  encodeResolution,
  TransportError,
  UnclonableConfigError,
  unclonablePath,
  withFactoryRefs,
} from "../../pipelines/resolved_transport.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));

/** Every `.yaml` under `dir`, recursively, sorted. */
function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) out.push(...yamlFiles(path));
    else if (entry.name.endsWith(".yaml")) out.push(path);
  }
  return out.sort();
}

/** The config with factories as `kind/type`, for a comparison that sees every other value. */
function comparable(config: ResolvedConfig): unknown {
  return withFactoryRefs(config);
}

async function roundTrip(config: ResolvedConfig, diagnostics: string[]) {
  const bytes = encodeResolution({ diagnostics, config });
  return await decodeResolution(bytes, BUILTIN_COMPONENTS);
}

function assertSurvives(config: ResolvedConfig, back: ResolvedConfig | undefined, what: string) {
  assert.ok(back !== undefined, what);
  const before = comparable(config);
  const after = comparable(back);
  assert.equal(unclonablePath(before), undefined, what);
  assert.ok(isDeepStrictEqual(after, before), `${what}: the config changed on the way`);
  for (const section of ["receivers", "processors", "exporters", "connectors"] as const) {
    for (const [id, c] of back[section] as Map<string, ComponentConfig>) {
      const original: ComponentConfig = config[section].get(id)!;
      // The same factory object the registry gives, with its create functions.
      assert.equal(c.factory, original.factory, `${what}: ${section}.${id}`);
    }
  }
}

/** What the examples' comments ask to set. */
const EXAMPLE_ENV = {
  TELEMETRYFLOW_API_KEY_ID: "tfk_transport_test",
  TELEMETRYFLOW_API_KEY_SECRET: "tfs_transport_test",
  TELEMETRYFLOW_WORKSPACE_ID: "workspace-1",
  TELEMETRYFLOW_TENANT_ID: "tenant-1",
};

const exampleConfigs = yamlFiles(`${root}examples`);
assert.ok(exampleConfigs.length >= 5);

for (const path of exampleConfigs) {
  const name = path.slice(root.length);
  Deno.test(`${name} survives the trip from the validating child`, async () => {
    // As `tfo run` resolves it, with the variables the examples expect set.
    const loaded = await loadConfig({
      files: [path],
      env: { ...Deno.env.toObject(), ...EXAMPLE_ENV },
    });
    assert.ok(loaded.raw !== undefined, loaded.diagnostics.map(formatDiagnostic).join("\n"));
    const validated = await validateWith(loaded.raw, BUILTIN_COMPONENTS);
    const diagnostics = [...loaded.diagnostics, ...validated.diagnostics];
    const config = validated.config;
    const lines = diagnostics.map(formatDiagnostic);
    assert.ok(config !== undefined, lines.join("\n"));
    const back = await roundTrip(config, lines);
    assert.deepEqual(back.diagnostics, lines);
    assertSurvives(config, back.config, name);
  });
}

const componentsDir = `${root}components`;
const componentExamples = yamlFiles(componentsDir).filter((p) => p.endsWith("/example.yaml"));
assert.ok(componentExamples.length >= 40);

Deno.test("every component folder's example config survives the trip", async () => {
  const exampleDir = await Deno.makeTempDir({ prefix: "tfo-transport-" });
  await Deno.mkdir(`${exampleDir}/logs`);
  const failures: string[] = [];
  let components = 0;
  try {
    for (const path of componentExamples) {
      const name = path.slice(root.length);
      const loaded = await loadConfig({ files: [path], env: { TFO_EXAMPLE_DIR: exampleDir } });
      assert.ok(loaded.raw !== undefined, name);
      const resolved = componentsOf(loaded.raw, name);
      components += resolved.receivers.size + resolved.processors.size +
        resolved.exporters.size + resolved.connectors.size + resolved.extensions.size;
      const back = await roundTrip(resolved, []).catch((error: unknown) => error);
      if (back instanceof UnclonableConfigError) {
        failures.push(`${name}: ${back.path}`);
      } else if (back instanceof Error) {
        throw back;
      } else if (
        !isDeepStrictEqual(
          comparable((back as { config: ResolvedConfig }).config),
          comparable(resolved),
        )
      ) {
        failures.push(`${name}: changed on the way`);
      }
    }
  } finally {
    await Deno.remove(exampleDir, { recursive: true });
  }
  assert.deepEqual(failures, []);
  assert.ok(components > 50, `only ${components} components resolved`);
});

/**
 * The components of an example (a fragment such as `receivers: {otlp: …}`, maybe with a
 * `service` section) as a resolved config: each parsed by its factory's schema as validation
 * parses it.
 */
function componentsOf(raw: RawConfig, name: string): ResolvedConfig {
  const config = configWith();
  for (const [section, entry] of raw.root.entries) {
    if (section === "service" || entry.value.kind !== "map") continue;
    const kind = KIND_OF.get(section);
    assert.ok(kind !== undefined, `${name}: "${section}" is not a section`);
    for (const [id, component] of entry.value.entries) {
      const factory = LOADED.get(`${kind}/${id.split("/")[0]}`);
      assert.ok(factory !== undefined, `${name}: no ${kind} "${id}"`);
      const parsed = parseNode(
        factory.configSchema,
        component.value,
        [section, id],
        component.keyPos,
        {
          nullAsEmpty: true,
        },
      );
      assert.ok(parsed.ok, `${name}: ${JSON.stringify(parsed.diagnostics)}`);
      (config[section as "receivers"] as Map<string, ComponentConfig>).set(id, {
        id,
        type: factory.type,
        kind,
        factory,
        config: parsed.value,
        position: component.keyPos,
      });
    }
  }
  return config;
}

/** Every built-in factory by `kind/name`, current names and older ones. */
const LOADED = new Map(
  BUILTIN_FACTORIES.flatMap((f) =>
    [f.type, ...(f.aliases ?? [])].map((name) => [`${f.kind}/${name}`, f] as const)
  ),
);
const KIND_OF = new Map(
  Object.entries(SECTIONS).map(([kind, section]) => [section, kind as Kind]),
);

function fakeComponent(config: unknown): ComponentConfig {
  const factory = { kind: "processor", type: "batch" } as unknown as Factory;
  return { id: "batch", type: "batch", kind: "processor", factory, config };
}

function configWith(component?: ComponentConfig): ResolvedConfig {
  return {
    receivers: new Map(),
    processors: new Map(component === undefined ? [] : [[component.id, component]]),
    exporters: new Map(),
    connectors: new Map(),
    extensions: new Map(),
    service: {
      extensions: [],
      pipelines: new Map(),
      telemetry: {
        metrics: { level: "normal", readers: [] },
        logs: { level: "info", encoding: "json" },
      },
    },
  };
}

Deno.test("a config holding a function, a class instance or a symbol key is sent as unclonable", async () => {
  class Compiled {
    readonly source = "x";
  }
  const cases: Array<[unknown, string]> = [
    [{ match: () => true }, "processors.batch.config.match"],
    [{ compiled: new Compiled() }, "processors.batch.config.compiled"],
    [{ list: [1, { [Symbol("s")]: 1 }] }, "processors.batch.config.list[1]"],
    [{
      get lazy() {
        return 1;
      },
    }, "processors.batch.config.lazy"],
  ];
  for (const [value, path] of cases) {
    const bytes = encodeResolution({ diagnostics: [], config: configWith(fakeComponent(value)) });
    await assert.rejects(
      decodeResolution(bytes, BUILTIN_COMPONENTS),
      (error: unknown) => error instanceof UnclonableConfigError && error.path === path,
      path,
    );
  }
});

Deno.test("what structured clone keeps arrives equal: Map, Set, Date, RegExp, bytes, nested", async () => {
  const value = {
    map: new Map([["a", { b: [1, 2] }]]),
    set: new Set(["x"]),
    when: new Date(0),
    pattern: /a+b/gi,
    bytes: new Uint8Array([1, 2, 3]),
    big: 12345678901234567890n,
    missing: undefined,
  };
  const config = configWith(fakeComponent(value));
  config.processors.get("batch")!.factory = BUILTIN_COMPONENTS.find((e) =>
    e.kind === "processor" && e.type === "batch"
  ) as unknown as Factory;
  const back = await decodeResolution(
    encodeResolution({ diagnostics: ["a warning"], config }),
    BUILTIN_COMPONENTS,
  );
  assert.deepEqual(back.diagnostics, ["a warning"]);
  assert.ok(isDeepStrictEqual(back.config!.processors.get("batch")!.config, value));
});

Deno.test("an invalid config travels as its diagnostics only", async () => {
  const back = await decodeResolution(
    encodeResolution({ diagnostics: ["f.yaml:1:1  x: bad"], config: undefined }),
    BUILTIN_COMPONENTS,
  );
  assert.deepEqual(back, { diagnostics: ["f.yaml:1:1  x: bad"], config: undefined });
});

Deno.test("bytes that are not a message, or name an unknown factory, are refused", async () => {
  await assert.rejects(
    decodeResolution(new TextEncoder().encode("hello"), BUILTIN_COMPONENTS),
    TransportError,
  );
  const config = configWith(fakeComponent({}));
  config.processors.get("batch")!.factory = { kind: "processor", type: "nope" } as never;
  await assert.rejects(
    decodeResolution(encodeResolution({ diagnostics: [], config }), BUILTIN_COMPONENTS),
    (error: unknown) => error instanceof TransportError && /processor "nope"/.test(error.message),
  );
});
