import assert from "node:assert/strict";
import type { Extension, Host } from "../../../../components/component.ts";
import {
  resolveClientAuth,
  withAuthHeaders,
} from "../../../../components/exporter/otlp/client_auth.ts";
import { isPermanent } from "../../../../lib/consumer/consumer.ts";
import { CLIENT_AUTH, type ClientAuthenticator } from "../../../../lib/net/auth.ts";

const hostWith = (extensions: Record<string, Extension>): Host => ({
  getExtension: (id) => extensions[id],
  status: () => "running",
});

const noop = { start: () => Promise.resolve(), shutdown: () => Promise.resolve() };

Deno.test("client auth headers replace static headers of the same name, case-insensitively", () => {
  const auth: ClientAuthenticator = { headers: () => ({ "x-key-id": "new", "X-Extra": "1" }) };
  assert.deepEqual(
    withAuthHeaders({ "X-Key-ID": "old", "User-Agent": "tfo" }, auth, "ctx"),
    { "User-Agent": "tfo", "x-key-id": "new", "X-Extra": "1" },
  );
  const base = { a: "1" };
  assert.equal(withAuthHeaders(base, undefined, "ctx"), base);
  assert.equal(withAuthHeaders(base, { headers: () => ({}) }, "ctx"), base);
});

Deno.test("a failing client authenticator is a retryable export error", () => {
  const auth: ClientAuthenticator = {
    headers() {
      throw new Error("no credentials yet");
    },
  };
  assert.throws(
    () => withAuthHeaders({}, auth, "Cannot export traces to x"),
    (error: Error) => {
      assert.equal(
        error.message,
        "Cannot export traces to x: the client authenticator failed: no credentials yet",
      );
      assert.equal(isPermanent(error), false);
      return true;
    },
  );
});

Deno.test("client auth resolves the named extension or says why it cannot", () => {
  const auth: ClientAuthenticator = { headers: () => ({}) };
  const host = hostWith({ good: { ...noop, capabilities: { [CLIENT_AUTH]: auth } }, plain: noop });
  assert.equal(resolveClientAuth(host, undefined), undefined);
  assert.equal(resolveClientAuth(host, { authenticator: "good" }), auth);
  assert.throws(
    () => resolveClientAuth(host, { authenticator: "plain" }),
    new Error(
      'Cannot use auth.authenticator "plain": the extension "plain" is not a client authenticator',
    ),
  );
  assert.throws(
    () => resolveClientAuth(host, { authenticator: "absent" }),
    new Error(
      'Cannot use auth.authenticator "absent": the authenticator "absent" is not a started extension',
    ),
  );
});
