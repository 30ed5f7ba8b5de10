/**
 * The `docker` detector: the ID (and runtime) of the container tfo runs in, read from
 * `/proc/self/cgroup` (cgroup v1 and systemd scopes) or, on cgroup v2, from `/proc/self/mountinfo`
 * (the runtime bind-mounts `/etc/hostname` from the container's directory; containerd under
 * Kubernetes mounts the sandbox's files there, not the container's, so only Docker and Podman are
 * recognised that way). The Collector's docker detector asks the Docker API for the host's name and
 * OS instead; tfo does not talk to the Docker daemon, so it emits container attributes only.
 * Outside a container it emits nothing.
 *
 * @module
 */
import { z } from "../../../../lib/config/z.js";
import { containerIdFromCgroup, containerIdFromMountInfo } from "../../../../lib/host/container.ts";
import type { KeyValue } from "../../../../lib/pdata/types.ts";
import { AttributeSink, type DetectorContext, resourceAttributesSchema } from "./_detector.ts";

/** The `docker` detector's config. */
export const dockerConfigSchema = z.strictObject({
  resource_attributes: resourceAttributesSchema({
    "container.id": true,
    "container.runtime": false,
  }),
});

/** The `docker` detector's validated config. */
export type DockerConfig = z.output<typeof dockerConfigSchema>;

async function readOrEmpty(ctx: DetectorContext, path: string): Promise<string> {
  try {
    return await ctx.readTextFile(path);
  } catch {
    return "";
  }
}

/** Detects the container tfo runs in. */
export async function detectDocker(
  config: DockerConfig,
  ctx: DetectorContext,
): Promise<KeyValue[]> {
  // The same parsing as the heartbeat's system info (lib/host): one implementation, two users.
  const container = containerIdFromCgroup(await readOrEmpty(ctx, "/proc/self/cgroup")) ??
    containerIdFromMountInfo(await readOrEmpty(ctx, "/proc/self/mountinfo"));
  if (container === undefined) {
    ctx.logger.debug("Not running in a container: no container ID in cgroup or mountinfo");
    return [];
  }
  const sink = new AttributeSink(config.resource_attributes);
  sink.put("container.id", container.id);
  if (container.runtime !== "") sink.put("container.runtime", container.runtime);
  return sink.attributes;
}
