/**
 * Config of the `fluentforward` receiver: the Collector's `endpoint`, plus what Fluentd's
 * `in_forward` offers and the Collector lacks, under Fluentd's names: `security` (`shared_key`
 * handshake, `self_hostname`), `tls`, UDP `heartbeat` on the same port, and `chunk_size_limit`.
 *
 * @module
 */
import { z } from "../../../lib/config/z.js";
import { hostPort } from "../../../lib/config/schema.ts";

/** The `fluentforward` receiver's config schema. */
export const fluentforwardConfigSchema = z.strictObject({
  /** `host:port` to listen on (TCP, and UDP for heartbeats); the seed agent uses `:8006`. */
  endpoint: hostPort(),
  /** Serve the protocol over TLS. */
  tls: z.strictObject({
    cert_file: z.string().min(1),
    key_file: z.string().min(1),
  }).optional(),
  /** The shared-key handshake (HELO / PING / PONG): clients must know `shared_key`. */
  security: z.strictObject({
    shared_key: z.string().min(1),
    /** The name this server gives in PONG. @default the host name */
    self_hostname: z.string().min(1).optional(),
  }).optional(),
  /** Answer Fluentd's UDP heartbeats on the same port. */
  heartbeat: z.strictObject({ enabled: z.boolean().default(true) }).prefault({}),
  /** The largest message (after decompression) accepted; a bigger one closes the connection. */
  chunk_size_limit: z.number().int().positive().default(16 * 1024 * 1024),
});

/** The `fluentforward` receiver's validated config. */
export type FluentforwardConfig = z.output<typeof fluentforwardConfigSchema>;
