/**
 * The prometheus receiver's config: the OpenTelemetry Collector's receiver keys, with `config`
 * holding a Prometheus configuration (its key names and defaults: `scrape_interval` 1m,
 * `scrape_timeout` 10s, `metrics_path` /metrics, `scheme` http, `honor_timestamps` true).
 *
 * Besides `static_configs`, `kubernetes_sd_configs` (roles pod, node, service) and
 * `file_sd_configs` discover targets. `tls_config.insecure_skip_verify: true` and a
 * `tls_config.server_name` are validation errors with their position: Deno's HTTP client always
 * verifies the target's certificate against its host.
 *
 * @module
 */
import { z } from "../../../lib/config/z.js";
import { byteSize, duration } from "../../../lib/config/schema.ts";
import { compileGoRegex, RELABEL_ACTIONS } from "./_relabel.ts";

const ACTIONS_NEEDING_TARGET = new Set([
  "replace",
  "hashmod",
  "lowercase",
  "uppercase",
  "keepequal",
  "dropequal",
]);

/** One `relabel_configs` / `metric_relabel_configs` rule, with Prometheus's defaults. */
export const relabelConfigSchema = z
  .strictObject({
    /** Labels whose values are joined with `separator` and matched against `regex`. */
    source_labels: z.array(z.string()).default([]),
    separator: z.string().default(";"),
    /** An RE2 expression, anchored at both ends. */
    regex: z.union([z.string(), z.number()]).transform(String).default("(.*)"),
    /** The modulus of the `hashmod` action. */
    modulus: z.number().int().positive().optional(),
    /** The label written by `replace`, `hashmod`, `lowercase`, `uppercase`. */
    target_label: z.string().optional(),
    /** What `replace` and `labelmap` write; `$1`, `${1}` and `${name}` expand to groups. */
    replacement: z.string().default("$1"),
    action: z.string().transform((a) => a.toLowerCase()).pipe(z.enum(RELABEL_ACTIONS)).default(
      "replace",
    ),
  })
  .superRefine((c, ctx) => {
    try {
      compileGoRegex(c.regex);
    } catch (error) {
      ctx.addIssue({
        code: "custom",
        path: ["regex"],
        message: `must be a valid regular expression: ${(error as Error).message}`,
      });
    }
    if (ACTIONS_NEEDING_TARGET.has(c.action) && (c.target_label ?? "") === "") {
      ctx.addIssue({
        code: "custom",
        path: ["target_label"],
        message: `is required by the "${c.action}" action`,
      });
    }
    if (c.action === "hashmod" && c.modulus === undefined) {
      ctx.addIssue({ code: "custom", path: ["modulus"], message: 'is required by "hashmod"' });
    }
  });

/** One group of static targets. */
const staticConfigSchema = z.strictObject({
  /** `host:port` addresses. */
  targets: z.array(z.string().min(1)).default([]),
  /** Labels added to every target of the group. */
  labels: z.record(z.string(), z.string()).default({}),
});

const basicAuthSchema = z
  .strictObject({
    username: z.string().default(""),
    username_file: z.string().min(1).optional(),
    password: z.string().optional(),
    password_file: z.string().min(1).optional(),
  })
  .refine((c) => c.password === undefined || c.password_file === undefined, {
    message: "at most one of password and password_file may be set",
  })
  .refine((c) => c.username === "" || c.username_file === undefined, {
    message: "at most one of username and username_file may be set",
  });

const authorizationSchema = z
  .strictObject({
    /** The scheme of the `Authorization` header. */
    type: z.string().min(1).default("Bearer"),
    credentials: z.string().optional(),
    credentials_file: z.string().min(1).optional(),
  })
  .refine((c) => c.credentials === undefined || c.credentials_file === undefined, {
    message: "at most one of credentials and credentials_file may be set",
  });

const tlsConfigSchema = z.strictObject({
  ca_file: z.string().min(1).optional(),
  cert_file: z.string().min(1).optional(),
  key_file: z.string().min(1).optional(),
  /** Not supported by Deno's HTTP client: only empty validates. */
  server_name: z.string().refine((v) => v === "", {
    message: "is not supported by tfo (the certificate must match the target's host)",
  }).optional(),
  /** Not supported by Deno's HTTP client: only `false` validates. */
  insecure_skip_verify: z.boolean().refine((v) => !v, {
    message: "is not supported by tfo (certificates are always verified); trust the " +
      "target's CA with tls_config.ca_file instead",
  }).default(false),
  /** Deno's client speaks TLS 1.2 and 1.3 only, so a minimum up to TLS 1.2 always holds. */
  min_version: z.enum(["TLS10", "TLS11", "TLS12"], {
    message: "must be TLS10, TLS11 or TLS12 (tfo cannot require TLS 1.3 alone)",
  }).optional(),
}).refine((c) => (c.cert_file === undefined) === (c.key_file === undefined), {
  message: "cert_file and key_file must be set together",
});

/** One `kubernetes_sd_configs` entry (roles `pod`, `node`, `service`; see `_kubernetes_sd.ts`). */
const kubernetesSdConfigSchema = z.strictObject({
  role: z.enum(["pod", "node", "service"], {
    message: "must be pod, node or service (tfo has no endpoints, endpointslice or ingress role)",
  }),
  /** A kubeconfig for the API server; without it, the pod's service account (in-cluster). */
  kubeconfig_file: z.string().min(1).optional(),
  /** Only these namespaces (all when empty). */
  namespaces: z.strictObject({ names: z.array(z.string().min(1)).default([]) }).optional(),
  /** Label and field selectors, per role, passed to the API server. */
  selectors: z.array(z.strictObject({
    role: z.enum(["pod", "node", "service"]),
    label: z.string().min(1).optional(),
    field: z.string().min(1).optional(),
  })).default([]),
});

/** One `file_sd_configs` entry: files of target groups, re-read on change and every interval. */
const fileSdConfigSchema = z.strictObject({
  /** Paths of JSON (`.json`) or YAML (`.yml`, `.yaml`) files; `*` globs in the file name. */
  files: z.array(
    z.string().min(1).refine((f) => !f.slice(0, f.lastIndexOf("/") + 1).includes("*"), {
      message: "may use * only in the file name, as Prometheus does",
    }).refine((f) => /\.(json|ya?ml)$/.test(f), {
      message: "must end in .json, .yml or .yaml",
    }),
  ).min(1),
  /** How often the files are re-read even without a change being seen. */
  refresh_interval: duration("5m"),
});

const SCRAPE_PROTOCOLS = [
  "OpenMetricsText1.0.0",
  "OpenMetricsText0.0.1",
  "PrometheusText1.0.0",
  "PrometheusText0.0.4",
] as const;

/** One `scrape_configs` entry. */
export const scrapeConfigSchema = z.strictObject({
  job_name: z.string().min(1),
  /** Defaults to `global.scrape_interval`. */
  scrape_interval: duration().optional(),
  /** Defaults to `global.scrape_timeout`, capped at the scrape interval. */
  scrape_timeout: duration().optional(),
  metrics_path: z.string().min(1).default("/metrics"),
  scheme: z.enum(["http", "https"]).default("http"),
  /** URL query parameters. */
  params: z.record(z.string(), z.array(z.string())).default({}),
  /** On conflict, keep the scraped labels (true) or rename them `exported_<name>` (false). */
  honor_labels: z.boolean().default(false),
  /** Use the timestamps the target exposes (true) or the scrape time (false). */
  honor_timestamps: z.boolean().default(true),
  /** The most samples accepted from one scrape (after metric relabeling); 0 means no limit. */
  sample_limit: z.number().int().nonnegative().default(0),
  /** The largest uncompressed body accepted; 0 means no limit. */
  body_size_limit: byteSize().default(0),
  /** The formats asked for, in order of preference (protobuf is not supported). */
  scrape_protocols: z.array(z.enum(SCRAPE_PROTOCOLS)).min(1).optional(),
  follow_redirects: z.boolean().default(true),
  enable_compression: z.boolean().default(true),
  static_configs: z.array(staticConfigSchema).default([]),
  basic_auth: basicAuthSchema.optional(),
  authorization: authorizationSchema.optional(),
  tls_config: tlsConfigSchema.optional(),
  relabel_configs: z.array(relabelConfigSchema).default([]),
  metric_relabel_configs: z.array(relabelConfigSchema).default([]),
  /** Targets discovered from the Kubernetes API, with `__meta_kubernetes_*` labels. */
  kubernetes_sd_configs: z.array(kubernetesSdConfigSchema).default([]),
  /** Target groups read from files (`targets`, `labels`), with `__meta_filepath`. */
  file_sd_configs: z.array(fileSdConfigSchema).default([]),
}).refine((c) => !(c.basic_auth !== undefined && c.authorization !== undefined), {
  message: "at most one of basic_auth and authorization may be set",
});

/** The `global` section of the Prometheus config. */
const globalSchema = z.strictObject({
  scrape_interval: duration("1m"),
  scrape_timeout: duration("10s"),
  /** Labels added to every scraped sample. */
  external_labels: z.record(z.string(), z.string()).default({}),
});

/** The embedded Prometheus config. */
const promConfigSchema = z
  .strictObject({
    global: globalSchema.prefault({}),
    scrape_configs: z.array(scrapeConfigSchema).default([]),
  })
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    c.scrape_configs.forEach((s, i) => {
      if (seen.has(s.job_name)) {
        ctx.addIssue({
          code: "custom",
          path: ["scrape_configs", i, "job_name"],
          message: `job "${s.job_name}" is defined more than once`,
        });
      }
      seen.add(s.job_name);
      const interval = s.scrape_interval ?? c.global.scrape_interval;
      if (interval <= 0) {
        ctx.addIssue({
          code: "custom",
          path: ["scrape_configs", i, "scrape_interval"],
          message: "must be greater than 0",
        });
      }
      if (s.scrape_timeout !== undefined && s.scrape_timeout > interval) {
        ctx.addIssue({
          code: "custom",
          path: ["scrape_configs", i, "scrape_timeout"],
          message: "must not be greater than the scrape interval",
        });
      }
    });
  });

/** The prometheus receiver's config schema. */
export const prometheusReceiverConfigSchema = z.strictObject({
  /** A Prometheus configuration: `global` and `scrape_configs`. */
  config: promConfigSchema.prefault({}),
  /** Also report `scrape_timeout_seconds`, `scrape_sample_limit` and `scrape_body_size_bytes`. */
  report_extra_scrape_metrics: z.boolean().default(false),
});

/** The prometheus receiver's validated config. */
export type PrometheusReceiverConfig = z.output<typeof prometheusReceiverConfigSchema>;

/** One validated scrape config. */
export type ScrapeConfig = z.output<typeof scrapeConfigSchema>;

/** One validated relabel rule. */
export type RelabelRuleConfig = z.output<typeof relabelConfigSchema>;
