/**
 * The `headers_setter` extension: a client authenticator (`auth: {authenticator: headers_setter}`
 * on `otlp`, `otlphttp`, `loki`, `opensearch`, `prometheusremotewrite` and `loadbalancing`'s
 * `protocol.otlp`) that sets request headers per outgoing request from the request context of the
 * data in it, so each request to a multi-tenant backend names the tenant of its data. See
 * `_headers.ts` for the rules.
 *
 * For `from_context` to see a tenant, the receiver needs `include_metadata: true` and a `batch`
 * processor (or `sending_queue.batch`) needs the key in its `metadata_keys` (`partition`), so that
 * batches never mix tenants; as in the Collector, batching keeps only those metadata keys and no
 * authenticator attributes, so `from_attribute` sees nothing behind a batch.
 *
 * @module
 */
import type { ExtensionFactory } from "../../component.ts";
import { CLIENT_AUTH, type ClientAuthenticator } from "../../../lib/net/auth.ts";
import { NO_CLIENT } from "../../../lib/pdata/payload.ts";
import { type HeadersSetterConfig, headersSetterConfigSchema } from "./config.ts";
import { compileHeaders } from "./_headers.ts";

/** The `headers_setter` extension factory. */
export const headersSetterFactory: ExtensionFactory<HeadersSetterConfig> = {
  kind: "extension",
  type: "headers_setter",
  configSchema: headersSetterConfigSchema,
  // Exporters in every worker use it.
  placement: "stateless",
  stability: "alpha",
  create(settings) {
    const edit = compileHeaders(settings.config.headers);
    const authenticator: ClientAuthenticator = {
      headers: (client = NO_CLIENT) => edit({}, client),
      apply: (base, client) => edit(base, client),
    };
    return {
      capabilities: Object.freeze({ [CLIENT_AUTH]: authenticator }),
      start: () => Promise.resolve(),
      shutdown: () => Promise.resolve(),
    };
  },
};
