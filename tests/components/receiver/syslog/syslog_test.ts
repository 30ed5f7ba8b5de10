import assert from "node:assert/strict";
import type { CreateSettings } from "../../../../components/component.ts";
import { syslogReceiverFactory } from "../../../../components/receiver/syslog/factory.ts";
import {
  type SyslogConfig,
  syslogConfigSchema,
} from "../../../../components/receiver/syslog/config.ts";
import { parseRfc3164, parseRfc5424 } from "../../../../components/receiver/syslog/_parse.ts";
import type { AnyValue, LogRecord } from "../../../../lib/pdata/types.ts";
import { NOOP_LOGGER } from "../../../../lib/telemetry/logger.ts";
import { MetricRegistry } from "../../../../lib/telemetry/metrics.ts";
import { freePort, waitFor } from "../../../fixtures/interop/services.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

Deno.test("RFC 5424: the specification's examples parse into the Collector's fields", () => {
  const a = parseRfc5424(
    "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \uFEFF'su root' failed for lonvick on /dev/pts/8",
  );
  assert.deepEqual(a.fields, {
    version: 1n,
    hostname: "mymachine.example.com",
    appname: "su",
    msg_id: "ID47",
    message: "'su root' failed for lonvick on /dev/pts/8",
    priority: 34n,
    facility: 4n,
  });
  assert.equal(a.timestamp, 1065910455003000000n);
  assert.deepEqual([a.severityNumber, a.severityText], [18, "crit"]);
  const b = parseRfc5424(
    "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.",
  );
  assert.equal(b.timestamp, 1061727255000003000n);
  assert.equal(b.fields.proc_id, "8710");
  assert.equal(b.severityText, "notice");
  assert.equal(b.severityNumber, 10);
  const c = parseRfc5424(
    '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iUT="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]',
  );
  assert.deepEqual(c.fields.structured_data, {
    "exampleSDID@32473": { iUT: "3", eventSource: "Application", eventID: "1011" },
    "examplePriority@32473": { class: "high" },
  });
  assert.equal(c.fields.message, undefined);
  const escaped = parseRfc5424('<13>1 - - - - - [x a="q\\"uote\\]d"] m');
  assert.deepEqual(escaped.fields.structured_data, { x: { a: 'q"uote]d' } });
  assert.equal(escaped.timestamp, 0n);
  assert.throws(() => parseRfc5424("no pri"), /PRI/);
  assert.throws(() => parseRfc5424("<999>1 - - - - - -"), /above 191/);
  assert.deepEqual(parseRfc5424("1 - h a - - - msg", true).fields, {
    version: 1n,
    hostname: "h",
    appname: "a",
    message: "msg",
  });
});

Deno.test("RFC 3164: BSD messages parse with the year and zone of the receiver's location", () => {
  const now = new Date(Date.UTC(2026, 5, 1));
  const a = parseRfc3164(
    "<34>Oct 11 22:14:15 mymachine su[123]: 'su root' failed",
    "UTC",
    false,
    now,
  );
  assert.deepEqual(a.fields, {
    hostname: "mymachine",
    appname: "su",
    proc_id: "123",
    message: "'su root' failed",
    priority: 34n,
    facility: 4n,
  });
  assert.equal(a.timestamp, BigInt(Date.UTC(2026, 9, 11, 22, 14, 15)) * 1_000_000n);
  const berlin = parseRfc3164("<13>Jan  5 10:00:00 host app: x", "Europe/Berlin", false, now);
  assert.equal(berlin.timestamp, BigInt(Date.UTC(2026, 0, 5, 9, 0, 0)) * 1_000_000n);
  assert.equal(berlin.severityText, "notice");
});

interface Started {
  tcp: number;
  udp: number;
  records: LogRecord[];
  stop(): Promise<void>;
}

async function start(
  config: Record<string, unknown>,
  tcpExtra: Record<string, unknown> = {},
): Promise<Started> {
  const [tcp, udp] = [freePort(), freePort()];
  const records: LogRecord[] = [];
  const settings: CreateSettings<SyslogConfig> = {
    id: "syslog",
    config: syslogConfigSchema.parse({
      protocol: "rfc5424",
      tcp: { listen_address: `127.0.0.1:${tcp}`, ...tcpExtra },
      udp: { listen_address: `127.0.0.1:${udp}` },
      ...config,
    }),
    logger: NOOP_LOGGER,
    meter: new MetricRegistry().meter({ receiver: "syslog" }),
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
  return { tcp, udp, records, stop: () => receiver.shutdown() };
}

function attr(record: LogRecord, key: string): AnyValue {
  return record.attributes.find((a) => a.key === key)?.value;
}

async function logger(...args: string[]): Promise<void> {
  const { code, stderr } = await new Deno.Command("logger", {
    args,
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
}

const haveLogger = await new Deno.Command("logger", {
  args: ["--help"],
  stdout: "null",
  stderr: "null",
})
  .output().then((o) => o.code === 0, () => false);

Deno.test({
  name:
    "syslog receives util-linux logger over UDP, TCP and TCP with octet counting, RFC 5424 with structured data",
  ignore: !haveLogger,
  async fn() {
    for (
      const [transport, extra] of [["udp", ["-d"]], ["tcp", ["-T"]], ["octet", [
        "-T",
        "--octet-count",
      ]]] as const
    ) {
      const tfo = await start(transport === "octet" ? { enable_octet_counting: true } : {});
      try {
        const port = transport === "udp" ? tfo.udp : tfo.tcp;
        await logger(
          "-n",
          "127.0.0.1",
          "-P",
          String(port),
          ...extra,
          "--rfc5424",
          "-t",
          "tfotest",
          "-p",
          "local3.warning",
          "--msgid",
          "M1",
          "--sd-id",
          "meta@32473",
          "--sd-param",
          'k="v"',
          `hello over ${transport}`,
        );
        await waitFor(
          `the ${transport} message`,
          () => tfo.records.length > 0 ? true : undefined,
          10_000,
          20,
        );
        const [record] = tfo.records;
        assert.equal(attr(record!, "appname"), "tfotest");
        assert.equal(attr(record!, "msg_id"), "M1");
        assert.equal(attr(record!, "message"), `hello over ${transport}`);
        assert.equal(attr(record!, "facility"), 19n);
        assert.equal(record!.severityText, "warning");
        assert.equal(record!.severityNumber, 13);
        const sd = attr(record!, "structured_data") as {
          kvlist: Array<{ key: string; value: AnyValue }>;
        };
        assert.ok(
          sd.kvlist.some((e) => e.key === "meta@32473"),
          JSON.stringify(sd, (_, v) => typeof v === "bigint" ? String(v) : v),
        );
        assert.ok(record!.timeUnixNano > 0n);
        assert.match(String(record!.body), new RegExp(`hello over ${transport}$`));
      } finally {
        await tfo.stop();
      }
    }
  },
});

async function sendTcp(port: number, chunks: Uint8Array[]): Promise<boolean> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    for (const chunk of chunks) {
      await conn.write(chunk);
      await new Promise((r) => setTimeout(r, 5));
    }
    // true when the server closed the connection on us.
    const buf = new Uint8Array(16);
    const read = await Promise.race([
      conn.read(buf).catch(() => null),
      new Promise<"open">((r) => setTimeout(() => r("open"), 300)),
    ]);
    return read === null;
  } finally {
    conn.close();
  }
}

const bytes = (text: string) => new TextEncoder().encode(text);

Deno.test("syslog framing: split frames, NUL trailers, long lines split at max_log_size, bad lines kept raw", async () => {
  const nul = await start({ non_transparent_framing_trailer: "NUL" });
  try {
    const message =
      "<14>1 2026-01-01T00:00:00Z h app - - - first\0<14>1 2026-01-01T00:00:01Z h app - - - second\0";
    // One byte at a time: the framer must wait for the trailer.
    await sendTcp(nul.tcp, [...bytes(message)].map((b) => Uint8Array.of(b)));
    await waitFor(
      "both NUL-framed messages",
      () => nul.records.length === 2 ? true : undefined,
      10_000,
      20,
    );
    assert.deepEqual(nul.records.map((r) => attr(r, "message")), ["first", "second"]);
  } finally {
    await nul.stop();
  }
  const small = await start({}, { max_log_size: 64 });
  try {
    const line = `<14>1 - h app - - - ${"y".repeat(130)}`;
    assert.equal(await sendTcp(small.tcp, [bytes(`${line}\r\n`)]), false);
    await waitFor(
      "the split line",
      () => small.records.length === 3 ? true : undefined,
      10_000,
      20,
    );
    assert.deepEqual(small.records.map((r) => String(r.body).length), [64, 64, line.length - 128]);
    assert.equal(small.records.map((r) => String(r.body)).join(""), line);
  } finally {
    await small.stop();
  }
});

Deno.test("syslog octet counting: a frame over max_octets or a bad count closes the connection, others go on", async () => {
  const tfo = await start({ enable_octet_counting: true, max_octets: 100 });
  try {
    const ok = "<14>1 - h app - - - fine";
    assert.equal(await sendTcp(tfo.tcp, [bytes(`${ok.length} ${ok}`)]), false);
    assert.equal(await sendTcp(tfo.tcp, [bytes(`500 ${"x".repeat(500)}`)]), true);
    assert.equal(await sendTcp(tfo.tcp, [bytes("abc <14>1 - - - - - - x")]), true);
    const unparsable = "not syslog at all";
    assert.equal(await sendTcp(tfo.tcp, [bytes(`${unparsable.length} ${unparsable}`)]), false);
    await waitFor("two records", () => tfo.records.length === 2 ? true : undefined, 10_000, 20);
    assert.equal(attr(tfo.records[0]!, "message"), "fine");
    // The Collector's default on_error: send — delivered raw, without parsed fields.
    assert.equal(tfo.records[1]!.body, unparsable);
    assert.equal(attr(tfo.records[1]!, "appname"), undefined);
  } finally {
    await tfo.stop();
  }
});

Deno.test("syslog config: protocol is required, listeners needed, octet counting only for RFC 5424", () => {
  assert.ok(!syslogConfigSchema.safeParse({ tcp: { listen_address: "127.0.0.1:1" } }).success);
  assert.ok(!syslogConfigSchema.safeParse({ protocol: "rfc5424" }).success);
  assert.ok(
    !syslogConfigSchema.safeParse({
      protocol: "rfc3164",
      enable_octet_counting: true,
      udp: { listen_address: "127.0.0.1:1" },
    })
      .success,
  );
  assert.ok(
    !syslogConfigSchema.safeParse({
      protocol: "rfc3164",
      location: "Mars/Olympus",
      udp: { listen_address: "127.0.0.1:1" },
    }).success,
  );
  const parsed = syslogConfigSchema.parse({
    protocol: "rfc3164",
    tcp: { listen_address: "127.0.0.1:1", max_log_size: "2MiB" },
  });
  assert.equal(parsed.tcp!.max_log_size, 2 * 1024 * 1024);
});
