/**
 * The resourcedetection processor's config: the OpenTelemetry Collector's `detectors`,
 * `override`, `timeout` and one block per detector (`system`, `docker`, `k8snode`, `ec2`, `gcp`,
 * `azure`) with its options and `resource_attributes`.
 *
 * @module
 */
import { z } from "../../../lib/config/z.js";
import { duration } from "../../../lib/config/schema.ts";
import { azureConfigSchema } from "./detectors/azure.ts";
import { dockerConfigSchema } from "./detectors/docker.ts";
import { ec2ConfigSchema } from "./detectors/ec2.ts";
import { gcpConfigSchema } from "./detectors/gcp.ts";
import { k8snodeConfigSchema } from "./detectors/k8snode.ts";
import { systemConfigSchema } from "./detectors/system.ts";

/** The detector names tfo knows. */
export const DETECTOR_NAMES = [
  "env",
  "system",
  "docker",
  "k8snode",
  "ec2",
  "gcp",
  "azure",
] as const;

/** One detector name. */
export type DetectorName = (typeof DETECTOR_NAMES)[number];

/** The resourcedetection processor's config schema. */
export const resourceDetectionConfigSchema = z
  .strictObject({
    /** Detectors in priority order: for a key found by several, the first one wins. */
    detectors: z
      .array(z.enum(DETECTOR_NAMES, { message: `must be one of ${DETECTOR_NAMES.join(", ")}` }))
      .default(["env"]),
    /** Replace attributes the data already has (true) or only add missing ones (false). */
    override: z.boolean().default(true),
    /** How long detection may take at start, all detectors together. */
    timeout: duration("2s"),
    system: systemConfigSchema.prefault({}),
    docker: dockerConfigSchema.prefault({}),
    k8snode: k8snodeConfigSchema.prefault({}),
    ec2: ec2ConfigSchema.prefault({}),
    gcp: gcpConfigSchema.prefault({}),
    azure: azureConfigSchema.prefault({}),
  })
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    c.detectors.forEach((d, i) => {
      if (seen.has(d)) {
        ctx.addIssue({ code: "custom", path: ["detectors", i], message: `"${d}" is listed twice` });
      }
      seen.add(d);
    });
  });

/** The resourcedetection processor's validated config. */
export type ResourceDetectionConfig = z.output<typeof resourceDetectionConfigSchema>;
