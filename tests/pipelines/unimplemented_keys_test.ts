/**
 * `tfo validate` refuses, with its position, every key a schema knows but tfo cannot do, so
 * `tfo run` never fails at start on a config that validated.
 */
import assert from "node:assert/strict";
import { BUILTIN_FACTORIES } from "../../components/builtin_factories.ts";
import { loadAndValidateConfig } from "../../pipelines/validate.ts";
import { formatDiagnostic } from "../../pipelines/diagnostics.ts";

async function errors(text: string): Promise<string[]> {
  const { config, diagnostics } = await loadAndValidateConfig(
    { files: [], texts: [{ name: "c.yaml", text }], env: {} },
    BUILTIN_FACTORIES,
  );
  const lines = diagnostics.filter((d) => d.severity === "error").map(formatDiagnostic);
  assert.equal(config, undefined, "the config must not validate");
  return lines;
}

const service = (receiver: string, exporter = "debug") => `
exporters:
  debug: {}
service:
  pipelines:
    metrics: {receivers: [${receiver}], exporters: [${exporter}]}
`;

for (const protocol of ["http", "grpc"]) {
  Deno.test(`otlp receiver ${protocol} tls.client_ca_file is a validation error with its position`, async () => {
    const lines = await errors(`receivers:
  otlp:
    protocols:
      ${protocol}:
        endpoint: 127.0.0.1:0
        tls:
          cert_file: c.pem
          key_file: k.pem
          client_ca_file: ca.pem
${service("otlp")}`);
    assert.deepEqual(lines, [
      `c.yaml:9:27  receivers.otlp.protocols.${protocol}.tls.client_ca_file: is not supported ` +
      "(Deno's TLS server cannot request client certificates); terminate mTLS in front of tfo, " +
      "or authenticate clients with an authenticator extension",
    ]);
  });
}

Deno.test("prometheus kubernetes discovery of a role tfo lacks, a glob in a file_sd directory and unverifiable TLS settings are validation errors", async () => {
  const lines = await errors(`receivers:
  prometheus:
    config:
      scrape_configs:
        - job_name: k8s
          kubernetes_sd_configs: [{role: endpoints}]
          file_sd_configs: [{files: [dir*/a.json]}]
          tls_config:
            insecure_skip_verify: true
            server_name: other
            min_version: TLS13
${service("prometheus")}`);
  const at = (l: string) => l.split("  ")[0];
  assert.deepEqual(lines.map(at), [
    "c.yaml:6:42",
    "c.yaml:7:38",
    "c.yaml:9:35",
    "c.yaml:10:26",
    "c.yaml:11:26",
  ], lines.join("\n"));
  assert.match(lines[0]!, /kubernetes_sd_configs\[0\]\.role: must be pod, node or service/);
  assert.match(lines[1]!, /file_sd_configs\[0\]\.files\[0\]: may use \* only in the file name/);
  assert.match(lines[2]!, /insecure_skip_verify: is not supported by tfo/);
  assert.match(lines[4]!, /min_version: must be TLS10, TLS11 or TLS12/);
});

Deno.test("otlp_http compression lz4 is a validation error", async () => {
  const lines = await errors(`receivers:
  otlp: {protocols: {http: {endpoint: "127.0.0.1:0"}}}
exporters:
  debug: {}
  otlp_http: {endpoint: "http://127.0.0.1:1", compression: lz4}
service:
  pipelines:
    metrics: {receivers: [otlp], exporters: [otlp_http]}
`);
  assert.equal(lines.length, 1, lines.join("\n"));
  assert.match(lines[0]!, /^c\.yaml:5:60 +exporters\.otlp_http\.compression: must be one of/);
});

Deno.test("an authenticator or storage naming a missing or disabled extension is a validation error", async () => {
  const lines = await errors(`receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:0
        auth: {authenticator: apikeyauth}
extensions:
  file_storage: {directory: /tmp/x}
exporters:
  debug: {}
  otlp_http:
    endpoint: http://127.0.0.1:1
    sending_queue: {storage: file_storage}
  otlp_grpc/unused:
    endpoint: 127.0.0.1:1
    sending_queue: {storage: nowhere}
service:
  pipelines:
    metrics: {receivers: [otlp], exporters: [otlp_http]}
`);
  assert.deepEqual(
    lines.filter((l) => !/warning/.test(l)),
    [
      'c.yaml:6:31  receivers.otlp.protocols.http.auth.authenticator: names extension "apikeyauth", ' +
      "which is not defined (defined: file_storage)",
      'c.yaml:13:30  exporters.otlp_http.sending_queue.storage: names extension "file_storage", ' +
      "which is not listed in service.extensions",
    ],
    "the unused exporter is not checked: it never starts",
  );
});
