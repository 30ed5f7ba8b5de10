import assert from "node:assert/strict";
import { join } from "node:path";
import type { CreateSettings, Host } from "../../../../components/component.ts";
import {
  type ApikeyauthConfig,
  apikeyauthConfigSchema,
} from "../../../../components/extension/apikeyauth/config.ts";
import { apikeyauthFactory } from "../../../../components/extension/apikeyauth/factory.ts";
import { constantTimeEqual, sha256 } from "../../../../components/extension/apikeyauth/_keys.ts";
import { AuthError, serverAuthenticatorOf } from "../../../../lib/net/auth.ts";
import { createLogger } from "../../../../lib/telemetry/logger.ts";
import { MetricRegistry } from "../../../../lib/telemetry/metrics.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

const SECRET_A = "tfs_alpha_0123456789abcdef";
const SECRET_B = "tfs_bravo_fedcba9876543210";
const KEY_A = {
  id: "tfk_alpha",
  secret: SECRET_A,
  workspace_id: "ws-1",
  tenant_id: "acme",
  name: "agent a",
};

const HOST: Host = { getExtension: () => undefined, status: () => "running" };

function settings(
  config: unknown,
  lines: string[] = [],
): CreateSettings<ApikeyauthConfig> {
  return {
    id: "apikeyauth",
    config: apikeyauthConfigSchema.parse(config),
    logger: createLogger({ level: "debug", write: (l) => lines.push(l) }),
    meter: new MetricRegistry().meter(),
    buildInfo: { command: "tfo", version: "test" },
  };
}

/** A started authenticator over `config`, and the log lines it wrote. */
async function started(config: unknown, lines: string[] = []) {
  const extension = apikeyauthFactory.create(settings(config, lines));
  await extension.start(HOST);
  const host: Host = { getExtension: () => extension, status: () => "running" };
  return { extension, auth: serverAuthenticatorOf(host, "apikeyauth") };
}

function headers(h: Record<string, string | string[]>): Map<string, string[]> {
  return new Map(
    Object.entries(h).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v : [v]]),
  );
}

const tfHeaders = (id: string, secret: string) =>
  headers({ "X-TelemetryFlow-Key-ID": id, "X-TelemetryFlow-Key-Secret": secret });

async function refused(promise: Promise<unknown>, message: string | RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof AuthError, `an AuthError, got ${error}`);
    if (typeof message === "string") assert.equal(error.message, message);
    else assert.match(error.message, message);
    return true;
  });
}

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "tfo_apikeyauth_" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

Deno.test("apikeyauth config defaults to the TelemetryFlow headers and needs a key source", () => {
  const config = apikeyauthConfigSchema.parse({ keys: [KEY_A] });
  assert.deepEqual(config.headers, {
    key_id: "X-TelemetryFlow-Key-ID",
    key_secret: "X-TelemetryFlow-Key-Secret",
  });
  assert.equal(config.accept_api_key_headers, true);
  assert.equal(config.accept_bearer, true);

  const messages = (value: unknown) => {
    const r = apikeyauthConfigSchema.safeParse(value);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
  };
  assert.deepEqual(messages({}), ["keys: must list at least one key unless keys_file is set"]);
  assert.deepEqual(messages({ keys_file: "/etc/keys.yaml" }), []);
  assert.deepEqual(messages({ keys: [{ ...KEY_A, secret: undefined }] }), [
    "keys.0.secret: exactly one of secret and secret_sha256 is required",
  ]);
  assert.deepEqual(
    messages({ keys: [{ ...KEY_A, secret_sha256: "ab".repeat(32) }] }),
    ["keys.0.secret: exactly one of secret and secret_sha256 is required"],
  );
  assert.deepEqual(messages({ keys: [{ ...KEY_A, secret: undefined, secret_sha256: "xyz" }] }), [
    "keys.0.secret_sha256: must be 64 hex digits (a SHA-256 digest)",
  ]);
  assert.deepEqual(messages({ keys: [{ ...KEY_A, secret: "" }] }), [
    "keys.0.secret: must not be empty",
  ]);
  assert.deepEqual(messages({ keys: [KEY_A, { ...KEY_A, secret: SECRET_B }] }), [
    'keys.1.id: key ID "tfk_alpha" is defined more than once',
  ]);
  assert.equal(messages({ keys: [{ ...KEY_A, tenant_id: undefined }] }).length, 1);
  assert.equal(messages({ keys: [KEY_A], headers: { key_id: "bad header" } }).length, 1);
  assert.equal(messages({ keys: [KEY_A], typo: 1 }).length, 1);
});

Deno.test("apikeyauth accepts the right key and reports key, workspace and tenant", async () => {
  const { auth } = await started({ keys: [KEY_A] });
  const result = await auth.authenticate(tfHeaders("tfk_alpha", SECRET_A));
  assert.deepEqual(
    [...result.auth],
    [["key.id", "tfk_alpha"], ["workspace.id", "ws-1"], ["tenant.id", "acme"], [
      "key.name",
      "agent a",
    ]],
  );
});

Deno.test("apikeyauth refuses a wrong secret and an unknown ID with the same message", async () => {
  const lines: string[] = [];
  const { auth } = await started({ keys: [KEY_A] }, lines);
  await refused(auth.authenticate(tfHeaders("tfk_alpha", SECRET_B)), "Invalid API key");
  await refused(auth.authenticate(tfHeaders("tfk_nobody", SECRET_A)), "Invalid API key");
  await refused(auth.authenticate(tfHeaders("tfk_alpha", `${SECRET_A}x`)), "Invalid API key");
  await refused(
    auth.authenticate(tfHeaders("tfk_alpha", SECRET_A.slice(0, -1))),
    "Invalid API key",
  );
  // The key ID is case-sensitive.
  await refused(auth.authenticate(tfHeaders("TFK_ALPHA", SECRET_A)), "Invalid API key");
  const logged = lines.join("\n");
  assert.ok(!logged.includes(SECRET_A) && !logged.includes(SECRET_B), "no secret in the logs");
  assert.ok(!logged.includes("tfk_nobody"), "an unknown key ID is not echoed");
});

Deno.test("apikeyauth refuses a request without a key, or with half of one", async () => {
  const { auth } = await started({ keys: [KEY_A] });
  const missing =
    "Missing API key: send the X-TelemetryFlow-Key-ID and X-TelemetryFlow-Key-Secret headers";
  await refused(auth.authenticate(new Map()), missing);
  await refused(auth.authenticate(headers({ "content-type": "application/json" })), missing);
  await refused(
    auth.authenticate(headers({ "X-TelemetryFlow-Key-ID": "tfk_alpha" })),
    /^Invalid API key: X-TelemetryFlow-Key-ID and X-TelemetryFlow-Key-Secret are both required/i,
  );
  await refused(
    auth.authenticate(headers({ "X-TelemetryFlow-Key-ID": "", "X-TelemetryFlow-Key-Secret": "s" })),
    /both required/,
  );
  await refused(
    auth.authenticate(headers({
      "X-TelemetryFlow-Key-ID": ["tfk_alpha", "tfk_other"],
      "X-TelemetryFlow-Key-Secret": SECRET_A,
    })),
    "Invalid API key: the key headers must be sent once",
  );
  // A secret alone says nothing about which key it is.
  await refused(auth.authenticate(headers({ "X-TelemetryFlow-Key-Secret": SECRET_A })), missing);
});

Deno.test("apikeyauth accepts the REST API headers and a Bearer id:secret, unless disabled", async () => {
  const { auth } = await started({ keys: [KEY_A] });
  const viaApi = await auth.authenticate(
    headers({ "X-API-Key-ID": "tfk_alpha", "X-API-Key-Secret": SECRET_A }),
  );
  assert.equal(viaApi.auth.get("tenant.id"), "acme");
  const viaBearer = await auth.authenticate(
    headers({ Authorization: `Bearer tfk_alpha:${SECRET_A}` }),
  );
  assert.equal(viaBearer.auth.get("key.id"), "tfk_alpha");
  await refused(
    auth.authenticate(headers({ Authorization: `Basic ${btoa(`tfk_alpha:${SECRET_A}`)}` })),
    'Invalid API key: the Authorization header must be "Bearer <key id>:<secret>"',
  );
  await refused(
    auth.authenticate(headers({ Authorization: "Bearer tfk_alpha" })),
    /must be "Bearer <key id>:<secret>"/,
  );
  // The TelemetryFlow headers take precedence over the others when both are sent.
  await refused(
    auth.authenticate(headers({
      "X-TelemetryFlow-Key-ID": "tfk_alpha",
      "X-TelemetryFlow-Key-Secret": SECRET_B,
      Authorization: `Bearer tfk_alpha:${SECRET_A}`,
    })),
    "Invalid API key",
  );

  const strict = await started({
    keys: [KEY_A],
    accept_api_key_headers: false,
    accept_bearer: false,
  });
  await refused(
    strict.auth.authenticate(
      headers({ "X-API-Key-ID": "tfk_alpha", "X-API-Key-Secret": SECRET_A }),
    ),
    /^Missing API key/,
  );
  await refused(
    strict.auth.authenticate(headers({ Authorization: `Bearer tfk_alpha:${SECRET_A}` })),
    /^Missing API key/,
  );
});

Deno.test("apikeyauth reads custom header names", async () => {
  const { auth } = await started({
    keys: [KEY_A],
    headers: { key_id: "X-Org-Key", key_secret: "X-Org-Secret" },
  });
  const result = await auth.authenticate(
    headers({ "x-org-key": "tfk_alpha", "x-org-secret": SECRET_A }),
  );
  assert.equal(result.auth.get("workspace.id"), "ws-1");
  await refused(
    auth.authenticate(new Map()),
    "Missing API key: send the X-Org-Key and X-Org-Secret headers",
  );
});

Deno.test("apikeyauth loads keys from a YAML or JSON file, secrets plain or as SHA-256", async () => {
  await withDir(async (dir) => {
    const yamlFile = join(dir, "keys.yaml");
    await Deno.writeTextFile(
      yamlFile,
      [
        "- id: tfk_bravo",
        `  secret_sha256: ${hex(await sha256(SECRET_B)).toUpperCase()}`,
        "  workspace_id: ws-2",
        "  tenant_id: globex",
        "- id: tfk_charlie",
        "  secret: tfs_charlie",
        "  workspace_id: ws-3",
        "  tenant_id: initech",
      ].join("\n"),
    );
    const { extension, auth } = await started({ keys: [KEY_A], keys_file: yamlFile });
    assert.equal((extension as unknown as { keyCount: number }).keyCount, 3);
    assert.equal(
      (await auth.authenticate(tfHeaders("tfk_alpha", SECRET_A))).auth.get("tenant.id"),
      "acme",
    );
    const bravo = await auth.authenticate(tfHeaders("tfk_bravo", SECRET_B));
    assert.deepEqual([...bravo.auth], [
      ["key.id", "tfk_bravo"],
      ["workspace.id", "ws-2"],
      ["tenant.id", "globex"],
    ]);
    assert.equal(
      (await auth.authenticate(tfHeaders("tfk_charlie", "tfs_charlie"))).auth.get("tenant.id"),
      "initech",
    );
    // The digest is what is stored: sending the digest itself as the secret does not work.
    await refused(
      auth.authenticate(tfHeaders("tfk_bravo", hex(await sha256(SECRET_B)))),
      "Invalid API key",
    );

    const jsonFile = join(dir, "keys.json");
    await Deno.writeTextFile(jsonFile, JSON.stringify([{ ...KEY_A, id: "tfk_json" }]));
    const fromJson = await started({ keys_file: jsonFile });
    assert.equal(
      (await fromJson.auth.authenticate(tfHeaders("tfk_json", SECRET_A))).auth.get("key.id"),
      "tfk_json",
    );
  });
});

Deno.test("apikeyauth fails start clearly on a bad keys file, never echoing a secret", async () => {
  await withDir(async (dir) => {
    const startError = async (config: unknown) => {
      const extension = apikeyauthFactory.create(settings(config));
      try {
        await extension.start(HOST);
      } catch (error) {
        return (error as Error).message;
      } finally {
        await extension.shutdown();
      }
      assert.fail("start should have failed");
    };
    const missing = join(dir, "absent.yaml");
    assert.match(
      await startError({ keys_file: missing }),
      new RegExp(`^Cannot start extension "apikeyauth": cannot load keys_file "${missing}": `),
    );

    const bad = join(dir, "bad.yaml");
    await Deno.writeTextFile(bad, `- id: tfk_x\n  secret: "tfs_leaky\n  workspace_id: [`);
    const badMessage = await startError({ keys_file: bad });
    assert.equal(
      badMessage,
      `Cannot start extension "apikeyauth": cannot load keys_file "${bad}": not valid YAML or JSON`,
    );

    const invalid = join(dir, "invalid.yaml");
    await Deno.writeTextFile(
      invalid,
      JSON.stringify([KEY_A, { id: "tfk_y", secret: "tfs_leaky_2", workspace_id: "w" }]),
    );
    const invalidMessage = await startError({ keys_file: invalid });
    assert.match(invalidMessage, /keys_file ".*": entry 2 field tenant_id: /);
    assert.ok(!invalidMessage.includes("tfs_leaky_2"));

    const duplicate = join(dir, "duplicate.yaml");
    await Deno.writeTextFile(duplicate, JSON.stringify([KEY_A]));
    assert.match(
      await startError({ keys: [KEY_A], keys_file: duplicate }),
      /key ID "tfk_alpha" is also defined in keys$/,
    );

    const empty = join(dir, "empty.yaml");
    await Deno.writeTextFile(empty, "");
    assert.equal(
      await startError({ keys_file: empty }),
      'Cannot start extension "apikeyauth": no API keys are defined: keys and keys_file are empty',
    );

    const notList = join(dir, "object.yaml");
    await Deno.writeTextFile(notList, "keys: []\n");
    assert.match(await startError({ keys_file: notList }), /: the file: /);
  });
});

Deno.test("apikeyauth refuses everything before start and is a server authenticator only", async () => {
  const extension = apikeyauthFactory.create(settings({ keys: [KEY_A] }));
  const host: Host = { getExtension: () => extension, status: () => "running" };
  await refused(
    serverAuthenticatorOf(host, "apikeyauth").authenticate(tfHeaders("tfk_alpha", SECRET_A)),
    "The authenticator is not started",
  );
  assert.equal(extension.capabilities?.["clientAuth"], undefined);
  await extension.shutdown();
  await extension.shutdown();
});

Deno.test("constantTimeEqual compares every byte, with no early exit", () => {
  const a = new Uint8Array(32).fill(7);
  assert.equal(constantTimeEqual(a, a.slice()), true);
  for (const at of [0, 15, 31]) {
    const b = a.slice();
    b[at] = 8;
    assert.equal(constantTimeEqual(a, b), false, `differs at ${at}`);
  }
  assert.equal(constantTimeEqual(a, a.subarray(1)), false);
  assert.equal(constantTimeEqual(new Uint8Array(0), new Uint8Array(0)), true);

  // Count the reads: a difference in the first byte still reads all 32 of both.
  let reads = 0;
  const counting = (bytes: Uint8Array): ArrayLike<number> =>
    new Proxy(bytes, {
      get(target, key) {
        if (typeof key === "string" && /^\d+$/.test(key)) reads++;
        return Reflect.get(target, key);
      },
    });
  const first = a.slice();
  first[0] = 0;
  assert.equal(constantTimeEqual(counting(a), counting(first)), false);
  assert.equal(reads, 64);
});

Deno.test("an unknown key ID costs a digest and a comparison like a known one", async () => {
  const { auth } = await started({ keys: [KEY_A] });
  const digest = crypto.subtle.digest;
  let digests = 0;
  crypto.subtle.digest = function (
    this: SubtleCrypto,
    ...args: Parameters<SubtleCrypto["digest"]>
  ) {
    digests++;
    return digest.apply(this, args);
  } as SubtleCrypto["digest"];
  try {
    await refused(auth.authenticate(tfHeaders("tfk_alpha", SECRET_B)), "Invalid API key");
    assert.equal(digests, 1, "a wrong secret is digested once");
    await refused(auth.authenticate(tfHeaders("tfk_nobody", SECRET_B)), "Invalid API key");
    assert.equal(digests, 2, "so is the secret sent with an unknown ID");
  } finally {
    crypto.subtle.digest = digest;
  }
});
