/**
 * The `loadbalancing` exporter's config: the contrib exporter's keys (v0.161) that tfo implements.
 * `protocol.otlp` takes the `otlp` exporter's keys except `endpoint` (each backend's comes from the
 * resolver); `resolver` has exactly one of `static` and `dns`. The top-level `timeout`,
 * `retry_on_failure` and `sending_queue` wrap the whole exporter (before the split) and are off by
 * default, as in the Collector; each backend's own queue and retries are under `protocol.otlp`.
 * Unknown keys, the `k8s` and `aws_cloud_map` resolvers and `routing_key: attributes` are refused.
 *
 * @module
 */
import { z } from "../../../lib/config/z.js";
import { duration } from "../../../lib/config/schema.ts";
import {
  retryOnFailureSchema,
  sendingQueueSchema,
} from "../../../lib/exporterhelper/exporter_helper.ts";
import { otlpConfigSchema } from "../otlp/config.ts";

/** The port a backend gets when its hostname names none. */
export const DEFAULT_OTLP_PORT = 4317;

const HOSTNAME = /^(\[[0-9a-fA-F:.]+\]|[^\s:/\[\]]+)(:\d{1,5})?$/;

const backendOtlpSchema = otlpConfigSchema.omit({ endpoint: true }).superRefine((c, ctx) => {
  if (c.sending_queue.storage !== undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["sending_queue", "storage"],
      message: "is not supported under loadbalancing: backends come and go, " +
        "a persistent queue per backend would be left behind; use the top-level sending_queue",
    });
  }
});

const staticResolverSchema = z.strictObject({
  /** The backends, `host` or `host:port` (port 4317 when none). */
  hostnames: z
    .array(
      z.string().regex(HOSTNAME, { message: 'must be "host" or "host:port"' }).refine(
        (h) => !/:(\d+)$/.test(h) || Number(/:(\d+)$/.exec(h)![1]) <= 65535,
        { message: "has a port over 65535" },
      ),
    )
    .min(1),
});

const dnsResolverSchema = z.strictObject({
  /** The name whose A and AAAA records are the backends. */
  hostname: z.string().min(1),
  /** The port of every backend. */
  port: z.union([z.number().int(), z.string().regex(/^\d+$/).transform(Number)])
    .pipe(z.number().int().min(1).max(65535))
    .default(DEFAULT_OTLP_PORT),
  /** How often the name is resolved again. */
  interval: duration("5s"),
  /** The deadline of one resolution. */
  timeout: duration("1s"),
});

const resolverSchema = z
  .strictObject({
    /** A fixed list of backends. */
    static: staticResolverSchema.optional(),
    /** Backends from DNS, resolved every `interval`. */
    dns: dnsResolverSchema.optional(),
    /** The Collector's Kubernetes resolver; not in tfo (refused). */
    k8s: z.unknown().optional(),
    /** The Collector's AWS Cloud Map resolver; not in tfo (refused). */
    aws_cloud_map: z.unknown().optional(),
  })
  .superRefine((r, ctx) => {
    for (const key of ["k8s", "aws_cloud_map"] as const) {
      if (r[key] !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: [key],
          message: "is not supported by tfo: use the static or dns resolver",
        });
      }
    }
    const set = (r.static !== undefined ? 1 : 0) + (r.dns !== undefined ? 1 : 0);
    if (set !== 1 && r.k8s === undefined && r.aws_cloud_map === undefined) {
      ctx.addIssue({
        code: "custom",
        path: [],
        message: set === 0
          ? "needs a resolver: static or dns"
          : "must have only one of static and dns",
      });
    }
  });

/** The `loadbalancing` exporter's config schema. */
export const loadBalancingConfigSchema = z.strictObject({
  /**
   * What keeps data together on one backend: `traceID` (traces and logs; the default there),
   * `service`, and for metrics `resource`, `metric`, `streamID` (`service` is the metrics default).
   */
  routing_key: z
    .enum(["traceID", "service", "resource", "metric", "streamID", "attributes"])
    .optional()
    .superRefine((k, ctx) => {
      if (k === "attributes") {
        ctx.addIssue({
          code: "custom",
          message: "attributes routing (routing_attributes) is not supported by tfo",
        });
      }
    }),
  /** How data goes to each backend. */
  protocol: z
    .strictObject({
      /** The `otlp` exporter's settings, per backend (its own queue and retries). */
      otlp: backendOtlpSchema.prefault({}),
    })
    .prefault({}),
  /** Where the backends come from. */
  resolver: resolverSchema,
  /** The deadline of one attempt of the whole request (all its backends); 0: none. */
  timeout: duration("0s"),
  /** Retries of the whole request, routed again each time; off by default. */
  retry_on_failure: retryOnFailureSchema.prefault({ enabled: false }),
  /** A queue in front of the split; off by default. */
  sending_queue: sendingQueueSchema.prefault({ enabled: false }),
});

/** The `loadbalancing` exporter's validated config. */
export type LoadBalancingConfig = z.output<typeof loadBalancingConfigSchema>;

/** The validated `protocol.otlp` settings of every backend. */
export type BackendOtlpConfig = LoadBalancingConfig["protocol"]["otlp"];

/** `host:port` of a static hostname, adding port 4317 when it has none. */
export function withDefaultPort(hostname: string): string {
  return /:\d+$/.test(hostname) ? hostname : `${hostname}:${DEFAULT_OTLP_PORT}`;
}
