/**
 * The `k8s_events` receiver's config: the Collector's contrib receiver's keys (v0.161) that tfo
 * implements — `auth_type` and `namespaces` — plus `exclude_namespaces` (the TFO-Agent's) and
 * `max_pending`, the bound on events waiting for a slow pipeline. Others (`k8s_leader_elector`, `context`) are validation errors.
 *
 * @module
 */
import { z } from "../../../lib/config/z.js";

/** The `k8s_events` receiver's config schema. */
export const k8sEventsConfigSchema = z.strictObject({
  auth_type: z.enum(["serviceAccount", "kubeConfig", "none"]).default("serviceAccount"),
  /** Watch only these namespaces' events (all namespaces when empty). */
  namespaces: z.array(z.string().min(1)).default([]),
  /** tfo (the TFO-Agent's key, as `k8s_cluster` has it): namespaces whose events are left out. */
  exclude_namespaces: z.array(z.string().min(1)).default([]),
  /**
   * tfo: how many events may wait for the pipeline; beyond it the oldest are dropped and counted
   * (an event storm must not grow the agent without bound).
   */
  max_pending: z.number().int().positive().default(10_000),
});

/** The `k8s_events` receiver's validated config. */
export type K8sEventsConfig = z.output<typeof k8sEventsConfigSchema>;
