/**
 * Config of the `syslog` receiver with the Collector's keys and defaults: `protocol` (required),
 * `location`, `enable_octet_counting`, `max_octets`, `non_transparent_framing_trailer`,
 * `allow_skip_pri_header`, a `tcp` and/or `udp` listener (`listen_address`, `max_log_size`, `tls`,
 * `add_attributes`, `one_log_per_packet`), and the stanza `operators` run after parsing.
 *
 * @module
 */
import { z } from "../../../lib/config/z.js";
import { hostPort } from "../../../lib/config/schema.ts";
import { operatorConfigSchema } from "../../../lib/stanza/mod.ts";
import { isKnownZone } from "./_parse.ts";

const sizeSchema = z.union([z.number().int().positive(), z.string()]).transform((value, ctx) => {
  if (typeof value === "number") return value;
  const m = /^(\d+)\s*(B|KiB|KB|MiB|MB|GiB|GB)?$/i.exec(value.trim());
  if (m === null) {
    ctx.addIssue({ code: "custom", message: `"${value}" is not a size (e.g. 1MiB, 65536)` });
    return z.NEVER;
  }
  const unit = (m[2] ?? "B").toLowerCase();
  const factor = unit === "kib"
    ? 1024
    : unit === "kb"
    ? 1000
    : unit === "mib"
    ? 1 << 20
    : unit === "mb"
    ? 1e6
    : unit === "gib"
    ? 1 << 30
    : unit === "gb"
    ? 1e9
    : 1;
  return Number(m[1]) * factor;
});

const tcpSchema = z.strictObject({
  /** `host:port` to listen on. */
  listen_address: hostPort(),
  /** The longest message; longer lines are split at this size, as the Collector does. */
  max_log_size: sizeSchema.default(1024 * 1024),
  /** TLS for the listener. */
  tls: z.strictObject({ cert_file: z.string().min(1), key_file: z.string().min(1) }).optional(),
  /** Adds `net.*` attributes: peer and host address and port, transport. */
  add_attributes: z.boolean().default(false),
});

const udpSchema = z.strictObject({
  listen_address: hostPort(),
  /** One message per datagram instead of one per line. */
  one_log_per_packet: z.boolean().default(false),
  add_attributes: z.boolean().default(false),
});

/** The `syslog` receiver's config schema. */
export const syslogConfigSchema = z.strictObject({
  protocol: z.enum(["rfc5424", "rfc3164"]),
  /** The zone RFC 3164 times are read in (they carry none): `UTC`, `Local` or an IANA name. */
  location: z.string().default("UTC").refine(isKnownZone, { message: "is not a known time zone" }),
  /** RFC 6587 octet counting on TCP (`LEN SP MSG`). */
  enable_octet_counting: z.boolean().default(false),
  /** The largest octet-counted frame. */
  max_octets: z.number().int().positive().default(8192),
  /** RFC 6587 non-transparent framing on TCP: messages end with LF or NUL. */
  non_transparent_framing_trailer: z.enum(["LF", "NUL"]).optional(),
  /** Accept messages without `<PRI>` (no priority, facility or severity then). */
  allow_skip_pri_header: z.boolean().default(false),
  tcp: tcpSchema.optional(),
  udp: udpSchema.optional(),
  /** Stanza operators applied after the syslog parser. */
  operators: z.array(operatorConfigSchema).default([]),
}).superRefine((c, ctx) => {
  if (c.tcp === undefined && c.udp === undefined) {
    ctx.addIssue({ code: "custom", message: "needs a tcp or a udp listener (listen_address)" });
  }
  if (c.enable_octet_counting && c.non_transparent_framing_trailer !== undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["non_transparent_framing_trailer"],
      message: "cannot be set together with enable_octet_counting",
    });
  }
  if (c.protocol === "rfc3164" && c.enable_octet_counting) {
    ctx.addIssue({
      code: "custom",
      path: ["enable_octet_counting"],
      message: "is only valid with protocol rfc5424",
    });
  }
});

/** The `syslog` receiver's validated config. */
export type SyslogConfig = z.output<typeof syslogConfigSchema>;
