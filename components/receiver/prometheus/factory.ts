/**
 * The `prometheus` receiver: scrapes Prometheus endpoints as Prometheus would (its
 * `scrape_configs` with static targets and `file_sd_configs`, re-read on change and every
 * `refresh_interval`) and turns what it scrapes into OTLP metrics as the
 * OpenTelemetry Collector's prometheus receiver does (see `_to_otlp.ts` for the rules).
 *
 * Start fails, with a message saying which job, when a job uses something tfo cannot do:
 * `kubernetes_sd_configs` (static and file-discovered targets are scraped),
 * `tls_config.insecure_skip_verify: true` or `tls_config.server_name` (Deno's HTTP client always
 * verifies the certificate against the URL's host). Failing loudly beats scraping nothing quietly.
 *
 * @module
 */
import type { CreateSettings, Receiver, ReceiverFactory } from "../../component.ts";
import type { SignalConsumers } from "../../../lib/consumer/consumer.ts";
import type { Label } from "../../../lib/prometheus/types.ts";
import { instrumentReceiverOutput } from "../../../lib/telemetry/receiver_metrics.ts";
import { compileRelabel } from "./_relabel.ts";
import { acceptHeader, DEFAULT_PROTOCOLS, ScrapeLoop } from "./_scrape_loop.ts";
import { buildTargets, type Target, type TargetGroup, targetKey } from "./_targets.ts";
import { FileSd, watchedDirectories } from "./_file_sd.ts";
import { KubernetesSd } from "./_kubernetes_sd.ts";
import { errorMessage } from "../../../lib/consumer/consumer.ts";
import { RateLimitedLog } from "../../../lib/log_throttle.ts";
import { SYSTEM_CLOCK } from "../../../lib/clock.ts";
import {
  type PrometheusReceiverConfig,
  prometheusReceiverConfigSchema,
  type ScrapeConfig,
} from "./config.ts";

/** The instrumentation scope of scraped metrics, the Collector's, so its filters keep working. */
export const SCOPE_NAME =
  "github.com/open-telemetry/opentelemetry-collector-contrib/receiver/prometheusreceiver";

/** A prometheus receiver instance. */
export interface PrometheusReceiver extends Receiver {
  /** The URLs being scraped, once started. */
  readonly targets: readonly string[];
}

async function readSecret(id: string, job: string, key: string, path: string): Promise<string> {
  try {
    return (await Deno.readTextFile(path)).trim();
  } catch (error) {
    throw new Error(
      `Cannot scrape job "${job}" of receiver "${id}": cannot read ${key} "${path}": ${
        error instanceof Error ? error.message : String(error)
      }`,
      { cause: error },
    );
  }
}

function headersFor(id: string, job: ScrapeConfig): () => Promise<Record<string, string>> {
  const basic = job.basic_auth;
  const authz = job.authorization;
  if (basic !== undefined) {
    return async () => {
      const user = basic.username_file === undefined
        ? basic.username
        : await readSecret(id, job.job_name, "basic_auth.username_file", basic.username_file);
      const password = basic.password_file === undefined
        ? basic.password ?? ""
        : await readSecret(id, job.job_name, "basic_auth.password_file", basic.password_file);
      const bytes = new TextEncoder().encode(`${user}:${password}`);
      return { Authorization: `Basic ${btoa(String.fromCharCode(...bytes))}` };
    };
  }
  if (authz !== undefined) {
    return async () => {
      const credentials = authz.credentials_file === undefined
        ? authz.credentials ?? ""
        : await readSecret(
          id,
          job.job_name,
          "authorization.credentials_file",
          authz.credentials_file,
        );
      return { Authorization: `${authz.type} ${credentials}` };
    };
  }
  return () => Promise.resolve({});
}

async function readTlsFile(id: string, job: string, key: string, path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw new Error(
      `Cannot start receiver "${id}": job "${job}": cannot read tls_config.${key} "${path}": ${
        error instanceof Error ? error.message : String(error)
      }`,
      { cause: error },
    );
  }
}

/** Checks a job for what tfo does not support; returns the reason, or undefined. */
function unsupported(job: ScrapeConfig): string | undefined {
  if (job.tls_config?.insecure_skip_verify === true) {
    return "tls_config.insecure_skip_verify is not supported by tfo (certificates are always " +
      "verified); trust the target's CA with tls_config.ca_file instead";
  }
  if ((job.tls_config?.server_name ?? "") !== "") {
    return "tls_config.server_name is not supported by tfo (the certificate must match the " +
      "target's host)";
  }
  return undefined;
}

async function clientFor(id: string, job: ScrapeConfig): Promise<Deno.HttpClient | undefined> {
  const tls = job.tls_config;
  if (tls === undefined || (tls.ca_file === undefined && tls.cert_file === undefined)) {
    return undefined;
  }
  const options: Deno.CreateHttpClientOptions = {};
  if (tls.ca_file !== undefined) {
    options.caCerts = [await readTlsFile(id, job.job_name, "ca_file", tls.ca_file)];
  }
  if (tls.cert_file !== undefined && tls.key_file !== undefined) {
    return Deno.createHttpClient({
      ...options,
      cert: await readTlsFile(id, job.job_name, "cert_file", tls.cert_file),
      key: await readTlsFile(id, job.job_name, "key_file", tls.key_file),
    });
  }
  return Deno.createHttpClient(options);
}

/** Creates a prometheus receiver instance. */
export function createPrometheusReceiver(
  settings: CreateSettings<PrometheusReceiverConfig>,
  next: SignalConsumers,
): PrometheusReceiver {
  const { id, config, logger } = settings;
  /** Running loops by job, then by target key. */
  const jobsLoops = new Map<string, Map<string, ScrapeLoop>>();
  const clients: Deno.HttpClient[] = [];
  const timers: ReturnType<typeof setInterval>[] = [];
  const watchers: Deno.FsWatcher[] = [];
  const discoveries: KubernetesSd[] = [];
  const k8sErrors = new RateLimitedLog(
    logger,
    "error",
    "Kubernetes discovery cannot read the API; keeping the targets it had",
    SYSTEM_CLOCK,
  );
  const refreshes = new Set<Promise<void>>();
  let started = false;
  let stopping: Promise<void> | undefined;

  async function start(): Promise<void> {
    if (started || stopping !== undefined) return;
    started = true;
    const consumer = next.metrics;
    if (consumer === undefined) return;
    const jobs = config.config.scrape_configs;
    for (const job of jobs) {
      const reason = unsupported(job);
      if (reason !== undefined) {
        throw new Error(`Cannot start receiver "${id}": job "${job.job_name}": ${reason}`);
      }
    }
    const output = instrumentReceiverOutput("metrics", consumer, settings.meter, "http");
    const global = config.config.global;
    const externalLabels: Label[] = Object.entries(global.external_labels).map((
      [name, value],
    ) => ({ name, value }));
    const jobSetups: Array<() => Promise<void>> = [];
    try {
      for (const job of jobs) {
        const intervalMs = job.scrape_interval ?? global.scrape_interval;
        const timeoutMs = Math.min(job.scrape_timeout ?? global.scrape_timeout, intervalMs);
        const client = await clientFor(id, job);
        if (client !== undefined) clients.push(client);
        const metricRelabel = job.metric_relabel_configs.map(compileRelabel);
        const headers = headersFor(id, job);
        const accept = acceptHeader(job.scrape_protocols ?? DEFAULT_PROTOCOLS);
        const loops = new Map<string, ScrapeLoop>();
        jobsLoops.set(job.job_name, loops);
        const loopFor = (target: Target) =>
          new ScrapeLoop({
            target,
            intervalMs,
            timeoutMs,
            honorLabels: job.honor_labels,
            honorTimestamps: job.honor_timestamps,
            sampleLimit: job.sample_limit,
            bodySizeLimit: job.body_size_limit,
            accept,
            followRedirects: job.follow_redirects,
            enableCompression: job.enable_compression,
            metricRelabel,
            externalLabels,
            reportExtraMetrics: config.report_extra_scrape_metrics,
            headers,
            client,
            userAgent: `${settings.buildInfo.command}/${settings.buildInfo.version}`,
            scopeName: SCOPE_NAME,
            scopeVersion: settings.buildInfo.version,
            next: output,
            logger,
          });
        /** Starts loops for new targets and stops those of targets that went away. */
        const apply = async (groups: readonly TargetGroup[], first: boolean) => {
          const targets = buildTargets(job, { intervalMs, timeoutMs }, groups);
          const wanted = new Map(targets.map((t) => [targetKey(t), t]));
          const gone = [...loops].filter(([key]) => !wanted.has(key));
          for (const [key] of gone) loops.delete(key);
          let added = 0;
          for (const [key, target] of wanted) {
            if (loops.has(key) || stopping !== undefined) continue;
            const loop = loopFor(target);
            loops.set(key, loop);
            if (!first) loop.start();
            added++;
          }
          await Promise.all(gone.map(([, loop]) => loop.stop()));
          if (
            first && targets.length === 0 && job.file_sd_configs.length === 0 &&
            job.kubernetes_sd_configs.length === 0
          ) {
            logger.warn("Scrape job has no targets", { job: job.job_name });
          }
          if (!first && (added > 0 || gone.length > 0)) {
            logger.info("Scrape targets changed", {
              job: job.job_name,
              added,
              removed: gone.length,
              targets: loops.size,
            });
          }
        };
        const discovers = job.file_sd_configs.length > 0 || job.kubernetes_sd_configs.length > 0;
        if (!discovers) {
          jobSetups.push(() => apply([], true));
          continue;
        }
        const sd = new FileSd(job.file_sd_configs.flatMap((c) => c.files));
        const kubernetes = job.kubernetes_sd_configs.map((c) => new KubernetesSd(c));
        discoveries.push(...kubernetes);
        const refresh = async (first: boolean) => {
          const { groups: fileGroups, problems } = await sd.read();
          const groups = [...fileGroups, ...kubernetes.flatMap((k) => k.groups())];
          for (const p of problems) {
            logger.warn("Cannot read a file_sd_configs file; keeping its last targets", {
              job: job.job_name,
              path: p.path,
              reason: p.reason,
            });
          }
          await apply(groups, first);
        };
        /** Refreshes run one at a time per job. */
        let chain = Promise.resolve();
        const schedule = () => {
          if (stopping !== undefined) return;
          const run = chain.then(() => refresh(false)).catch((error) =>
            logger.warn("File discovery failed", { job: job.job_name, error })
          );
          chain = run;
          refreshes.add(run);
          void run.finally(() => refreshes.delete(run));
        };
        jobSetups.push(async () => {
          let pendingK8s: ReturnType<typeof setTimeout> | undefined;
          for (const k of kubernetes) {
            await k.start(() => {
              // Many changes at once (a list, a rollout) make one refresh.
              clearTimeout(pendingK8s);
              pendingK8s = setTimeout(schedule, 100);
            }, (error) => k8sErrors.log({ job: job.job_name, error: errorMessage(error) }));
          }
          // The first scrape waits (a little) for what the API server knows.
          await Promise.all(kubernetes.map((k) => k.synced(10_000)));
          await refresh(true);
          if (job.file_sd_configs.length > 0) {
            const every = Math.min(...job.file_sd_configs.map((c) => c.refresh_interval));
            timers.push(setInterval(schedule, every));
          }
          for (const dir of watchedDirectories(job.file_sd_configs.flatMap((c) => c.files))) {
            let watcher: Deno.FsWatcher;
            try {
              watcher = Deno.watchFs(dir, { recursive: false });
            } catch {
              continue; // the interval still re-reads it
            }
            watchers.push(watcher);
            void (async () => {
              let pending: ReturnType<typeof setTimeout> | undefined;
              try {
                for await (const _event of watcher) {
                  clearTimeout(pending);
                  pending = setTimeout(schedule, 100);
                }
              } catch {
                // closed
              } finally {
                clearTimeout(pending);
              }
            })();
          }
        });
      }
      for (const setup of jobSetups) await setup();
    } catch (error) {
      for (const c of clients.splice(0)) c.close();
      await Promise.all(discoveries.splice(0).map((d) => d.stop()));
      jobsLoops.clear();
      throw error;
    }
    for (const loops of jobsLoops.values()) for (const loop of loops.values()) loop.start();
    logger.info("Scraping Prometheus targets", {
      jobs: jobs.length,
      targets: [...jobsLoops.values()].reduce((n, l) => n + l.size, 0),
    });
  }

  function shutdown(): Promise<void> {
    stopping ??= (async () => {
      for (const t of timers.splice(0)) clearInterval(t);
      for (const w of watchers.splice(0)) {
        try {
          w.close();
        } catch {
          // closed
        }
      }
      await Promise.all(discoveries.splice(0).map((d) => d.stop()));
      await Promise.all(refreshes);
      await Promise.all(
        [...jobsLoops.values()].flatMap((loops) => [...loops.values()].map((l) => l.stop())),
      );
      for (const c of clients.splice(0)) c.close();
    })();
    return stopping;
  }

  return {
    start,
    shutdown,
    get targets() {
      return [...jobsLoops.values()].flatMap((loops) =>
        [...loops.values()].map((l) => l.target.url)
      );
    },
  };
}

/** The `prometheus` receiver factory. */
export const prometheusReceiverFactory: ReceiverFactory<PrometheusReceiverConfig> = {
  kind: "receiver",
  type: "prometheus",
  configSchema: prometheusReceiverConfigSchema,
  signals: { metrics: "beta" },
  create: createPrometheusReceiver,
};
