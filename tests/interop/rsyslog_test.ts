/**
 * rsyslog (Debian's rsyslogd) as the real client of the `syslog` receiver: util-linux `logger`
 * sends RFC 5424 messages with structured data to rsyslog, which forwards each one with `omfwd`
 * to tfo over TCP with octet counting, TCP with newline framing, UDP, TLS (gtls), and in the
 * RFC 3164 format. Every message must arrive on every path with its fields.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { CreateSettings, Receiver } from "../../components/component.ts";
import { syslogReceiverFactory } from "../../components/receiver/syslog/factory.ts";
import { type SyslogConfig, syslogConfigSchema } from "../../components/receiver/syslog/config.ts";
import type { AnyValue, LogRecord } from "../../lib/pdata/types.ts";
import { NOOP_LOGGER } from "../../lib/telemetry/logger.ts";
import { MetricRegistry } from "../../lib/telemetry/metrics.ts";
import { testCertificates } from "../components/exporter/otlp/_kit.ts";
import { freePort, waitFor } from "../fixtures/interop/services.ts";
import { loadConfigLibs } from "../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

const RSYSLOGD = "/usr/sbin/rsyslogd";
const MESSAGES = 20;

const missing = await (async () => {
  if (!await Deno.stat(RSYSLOGD).then(() => true, () => false)) {
    return `${RSYSLOGD} is not installed (apt install rsyslog rsyslog-gnutls)`;
  }
  const logger = await new Deno.Command("logger", { args: ["--help"], stdout: "null" }).output()
    .then((o) => o.success, () => false);
  if (!logger) return "util-linux logger is not installed";
  const gtls = await Deno.stat("/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so").then(
    () => true,
    () => false,
  );
  if (!gtls) return "rsyslog-gnutls is not installed (apt install rsyslog-gnutls)";
  return undefined;
})();

interface Path {
  name: string;
  port: number;
  records: LogRecord[];
  receiver: Receiver;
}

async function startReceiver(name: string, config: Record<string, unknown>): Promise<Path> {
  const records: LogRecord[] = [];
  const parsed = syslogConfigSchema.parse(config);
  const settings: CreateSettings<SyslogConfig> = {
    id: `syslog/${name}`,
    config: parsed,
    logger: NOOP_LOGGER,
    meter: new MetricRegistry().meter({ receiver: `syslog/${name}` }),
    buildInfo: { command: "tfo", version: "test" },
  };
  const receiver = syslogReceiverFactory.create(settings, {
    logs: {
      mutatesData: false,
      consume(payload) {
        for (const rl of payload.read().resourceLogs) {
          for (const sl of rl.scopeLogs) records.push(...sl.logRecords);
        }
        return Promise.resolve();
      },
    },
  });
  await receiver.start({ getExtension: () => undefined, status: () => "running" });
  const address = (parsed.tcp ?? parsed.udp)!.listen_address;
  return { name, port: Number(address.slice(address.lastIndexOf(":") + 1)), records, receiver };
}

function attr(record: LogRecord, key: string): AnyValue {
  return record.attributes.find((a) => a.key === key)?.value;
}

if (missing !== undefined) console.warn(`rsyslog interop test skipped: ${missing}`);

Deno.test({
  name:
    "rsyslog forwards to the syslog receiver over TCP (octet counted and newline framed), UDP, TLS and as RFC 3164",
  ignore: missing !== undefined,
  async fn() {
    const certs = await testCertificates();
    if (certs === undefined) {
      console.warn("skipped: openssl is not installed");
      return;
    }
    const dir = await Deno.makeTempDir({ prefix: "tfo-rsyslog-" });
    const certDir = certs.caFile.slice(0, certs.caFile.lastIndexOf("/"));
    const ports = {
      octet: freePort(),
      newline: freePort(),
      udp: freePort(),
      tls: freePort(),
      bsd: freePort(),
      input: freePort(),
    };
    const at = (port: number) => ({ listen_address: `127.0.0.1:${port}` });
    const paths = [
      await startReceiver("octet", {
        protocol: "rfc5424",
        enable_octet_counting: true,
        tcp: at(ports.octet),
      }),
      await startReceiver("newline", { protocol: "rfc5424", tcp: at(ports.newline) }),
      await startReceiver("udp", { protocol: "rfc5424", udp: at(ports.udp) }),
      await startReceiver("tls", {
        protocol: "rfc5424",
        tcp: {
          ...at(ports.tls),
          tls: { cert_file: `${certDir}/server.crt`, key_file: `${certDir}/server.key` },
        },
      }),
      await startReceiver("bsd", { protocol: "rfc3164", tcp: at(ports.bsd) }),
    ];
    const forward = (port: number, extra: string) =>
      `action(type="omfwd" target="127.0.0.1" port="${port}" ${extra}\n` +
      `       action.resumeRetryCount="-1" action.resumeInterval="1")`;
    const proto23 = 'template="RSYSLOG_SyslogProtocol23Format"';
    await Deno.writeTextFile(
      `${dir}/rsyslog.conf`,
      [
        `global(workDirectory="${dir}" defaultNetstreamDriverCAFile="${certs.caFile}")`,
        'module(load="imtcp")',
        `input(type="imtcp" address="127.0.0.1" port="${ports.input}")`,
        forward(ports.octet, `protocol="tcp" TCP_Framing="octet-counted" ${proto23}`),
        forward(ports.newline, `protocol="tcp" ${proto23}`),
        forward(ports.udp, `protocol="udp" ${proto23}`),
        forward(
          ports.tls,
          `protocol="tcp" ${proto23} StreamDriver="gtls" StreamDriverMode="1" ` +
            'StreamDriverAuthMode="x509/name" StreamDriverPermittedPeers="localhost"',
        ),
        forward(ports.bsd, 'protocol="tcp" template="RSYSLOG_TraditionalForwardFormat"'),
        "",
      ].join("\n"),
    );
    const rsyslog = new Deno.Command(RSYSLOGD, {
      args: ["-n", "-f", `${dir}/rsyslog.conf`, "-i", `${dir}/rsyslogd.pid`],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    try {
      await waitFor("rsyslog's input port", async () => {
        try {
          (await Deno.connect({ hostname: "127.0.0.1", port: ports.input })).close();
          return true;
        } catch {
          return false;
        }
      }, 20_000);
      for (let n = 0; n < MESSAGES; n++) {
        const out = await new Deno.Command("logger", {
          args: [
            "--rfc5424",
            "-T",
            "-n",
            "127.0.0.1",
            "-P",
            String(ports.input),
            "-t",
            "billing",
            "-p",
            "local3.warning",
            "--sd-id",
            "order@32473",
            "--sd-param",
            `id="${n}"`,
            `invoice ${n} was paid`,
          ],
          stderr: "piped",
        }).output();
        assert.ok(out.success, new TextDecoder().decode(out.stderr));
      }
      for (const path of paths) {
        await waitFor(
          `${MESSAGES} messages over ${path.name} (got ${path.records.length})`,
          () => path.records.length >= MESSAGES,
          30_000,
        );
      }
      for (const path of paths) {
        assert.equal(path.records.length, MESSAGES, path.name);
        const numbers = path.records.map((r) => {
          // With octet counting the frame is the template's bytes, the trailing newline of
          // RSYSLOG_SyslogProtocol23Format included; MSG keeps it as the RFC says.
          const raw = String(attr(r, "message"));
          const message = path.name === "octet" ? raw.replace(/\n$/, "") : raw;
          // RSYSLOG_TraditionalForwardFormat writes an RFC 5424 message's tag without the
          // colon RFC 3164 parsers look for, so the tag stays in the message there.
          const expected = path.name === "bsd"
            ? /^billing invoice (\d+) was paid$/
            : /^invoice (\d+) was paid$/;
          const match = expected.exec(message);
          assert.ok(match, `${path.name}: ${message}`);
          return Number(match[1]);
        }).sort((a, b) => a - b);
        assert.deepEqual(numbers, [...Array(MESSAGES).keys()], path.name);
        const first = path.records[0]!;
        if (path.name !== "bsd") assert.equal(attr(first, "appname"), "billing", path.name);
        assert.equal(attr(first, "facility"), 19n, path.name);
        assert.equal(first.severityText, "warning", path.name);
        assert.equal(first.severityNumber, 13, path.name);
        assert.ok(first.timeUnixNano > 0n, path.name);
        if (path.name !== "bsd") {
          const sd = attr(first, "structured_data") as { kvlist: { key: string }[] } | undefined;
          // logger adds its own timeQuality element beside ours.
          assert.ok(sd?.kvlist.some((e) => e.key === "order@32473"), path.name);
        }
      }
    } finally {
      rsyslog.kill("SIGTERM");
      await rsyslog.output().catch(() => {});
      for (const path of paths) await path.receiver.shutdown();
      await certs.remove();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
