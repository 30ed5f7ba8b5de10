/**
 * The `gcp` detector: the Google Cloud metadata server (`/computeMetadata/v1/…` with
 * `Metadata-Flavor: Google`), at `endpoint`, else `http://$GCE_METADATA_HOST` (the Google client
 * libraries' variable), else `http://metadata.google.internal`. The platform is told apart as the
 * Collector's detector does: Cloud Functions (`FUNCTION_TARGET`), Cloud Run services
 * (`K_CONFIGURATION`), Cloud Run jobs (`CLOUD_RUN_JOB`), GKE (`KUBERNETES_SERVICE_HOST`), else
 * Compute Engine. App Engine is reported with provider and project only.
 *
 * @module
 */
import { z } from "../../../../lib/config/z.js";
import { duration } from "../../../../lib/config/schema.ts";
import type { KeyValue } from "../../../../lib/pdata/types.ts";
import {
  AttributeSink,
  baseUrl,
  type DetectorContext,
  metadataText,
  resourceAttributesSchema,
} from "./_detector.ts";

/** The `gcp` detector's config. */
export const gcpConfigSchema = z.strictObject({
  /** The metadata server's base URL (tfo's addition, for tests and proxies). */
  endpoint: z.url().optional(),
  /** How long each metadata request may take (tfo's addition). */
  timeout: duration("1s"),
  resource_attributes: resourceAttributesSchema({
    "cloud.provider": true,
    "cloud.platform": true,
    "cloud.account.id": true,
    "cloud.region": true,
    "cloud.availability_zone": true,
    "host.name": true,
    "host.id": true,
    "host.type": true,
    "faas.name": true,
    "faas.version": true,
    "faas.id": true,
    "k8s.cluster.name": true,
    "gcp.cloud_run.job.execution": true,
    "gcp.cloud_run.job.task_index": true,
  }),
});

/** The `gcp` detector's validated config. */
export type GcpConfig = z.output<typeof gcpConfigSchema>;

function lastSegment(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** The region of a zone (`us-central1-a` → `us-central1`). */
export function regionOfZone(zone: string): string {
  const dash = zone.lastIndexOf("-");
  return dash < 0 ? zone : zone.slice(0, dash);
}

/** Detects the Google Cloud platform; a `MetadataUnavailableError` off Google Cloud. */
export async function detectGcp(config: GcpConfig, ctx: DetectorContext): Promise<KeyValue[]> {
  const host = ctx.env("GCE_METADATA_HOST");
  const base = baseUrl(
    config.endpoint,
    host === undefined || host === "" ? undefined : `http://${host}`,
    "http://metadata.google.internal",
  ) + "/computeMetadata/v1/";
  const get = async (path: string) =>
    (await metadataText(ctx, base + path, {
      headers: { "Metadata-Flavor": "Google" },
      timeoutMs: config.timeout,
    })).trim();
  // The project ID is also the probe: off Google Cloud this throws MetadataUnavailableError.
  const project = await get("project/project-id");
  const sink = new AttributeSink(config.resource_attributes);
  const failures: string[] = [];
  const put = async (key: string, path: string, map: (v: string) => string = (v) => v) => {
    if (!sink.wants(key)) return;
    try {
      sink.put(key, map(await get(path)));
    } catch (error) {
      failures.push(`${key}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  sink.put("cloud.provider", "gcp");
  sink.put("cloud.account.id", project);
  const env = (name: string) => {
    const v = ctx.env(name);
    return v === undefined || v === "" ? undefined : v;
  };
  if (env("FUNCTION_TARGET") !== undefined || env("K_CONFIGURATION") !== undefined) {
    sink.put(
      "cloud.platform",
      env("K_CONFIGURATION") !== undefined && env("FUNCTION_TARGET") === undefined
        ? "gcp_cloud_run"
        : "gcp_cloud_functions",
    );
    sink.put("faas.name", env("K_SERVICE"));
    sink.put("faas.version", env("K_REVISION"));
    await put("faas.id", "instance/id");
    await put("cloud.region", "instance/region", lastSegment);
  } else if (env("CLOUD_RUN_JOB") !== undefined) {
    sink.put("cloud.platform", "gcp_cloud_run");
    sink.put("faas.name", env("CLOUD_RUN_JOB"));
    sink.put("gcp.cloud_run.job.execution", env("CLOUD_RUN_EXECUTION"));
    sink.put("gcp.cloud_run.job.task_index", env("CLOUD_RUN_TASK_INDEX"));
    await put("faas.id", "instance/id");
    await put("cloud.region", "instance/region", lastSegment);
  } else if (env("KUBERNETES_SERVICE_HOST") !== undefined) {
    sink.put("cloud.platform", "gcp_kubernetes_engine");
    try {
      const location = await get("instance/attributes/cluster-location");
      sink.put(
        location.split("-").length === 3 ? "cloud.availability_zone" : "cloud.region",
        location,
      );
    } catch (error) {
      failures.push(`cluster-location: ${String(error)}`);
    }
    await put("k8s.cluster.name", "instance/attributes/cluster-name");
    await put("host.id", "instance/id");
    await put("host.name", "instance/name");
  } else if (env("GAE_SERVICE") !== undefined) {
    sink.put("cloud.platform", "gcp_app_engine");
    sink.put("faas.name", env("GAE_SERVICE"));
    sink.put("faas.version", env("GAE_VERSION"));
    sink.put("faas.id", env("GAE_INSTANCE"));
  } else {
    sink.put("cloud.platform", "gcp_compute_engine");
    if (sink.wants("cloud.availability_zone") || sink.wants("cloud.region")) {
      try {
        const zone = lastSegment(await get("instance/zone"));
        sink.put("cloud.availability_zone", zone);
        sink.put("cloud.region", regionOfZone(zone));
      } catch (error) {
        failures.push(`zone: ${String(error)}`);
      }
    }
    await put("host.type", "instance/machine-type", lastSegment);
    await put("host.id", "instance/id");
    await put("host.name", "instance/name");
  }
  if (failures.length > 0) {
    ctx.logger.warn("Some GCP metadata could not be read", { failures });
  }
  return sink.attributes;
}
