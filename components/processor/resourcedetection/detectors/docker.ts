/**
 * The `docker` detector: the ID (and runtime) of the container tfo runs in, read from
 * `/proc/self/cgroup` (cgroup v1 and systemd scopes) or, on cgroup v2, from `/proc/self/mountinfo`
 * (the runtime bind-mounts `/etc/hostname` from the container's directory). The Collector's docker
 * (containerd under Kubernetes mounts the sandbox's files there, not the container's, so only
 * Docker and Podman are recognised that way). The Collector's docker
 * detector asks the Docker API for the host's name and OS instead; tfo does not talk to the Docker
 * daemon, so it emits container attributes only. Outside a container it emits nothing.
 *
 * @module
 */
import { z } from "zod";
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

/** A container found in cgroup or mount paths. */
export interface ContainerInfo {
  id: string;
  /** `docker`, `containerd`, `cri-o` or `podman`, when the path says. */
  runtime: string | undefined;
}

const CGROUP_SEGMENT = /^(?:(docker|cri-containerd|crio|libpod)-)?([0-9a-f]{64})(?:\.scope)?$/;
const MOUNT_SOURCE =
  /\/(docker\/containers|containers\/storage\/overlay-containers)\/([0-9a-f]{64})\//;
const RUNTIME_PREFIX: Readonly<Record<string, string>> = {
  docker: "docker",
  "cri-containerd": "containerd",
  crio: "cri-o",
  libpod: "podman",
};

/** The container in a `/proc/self/cgroup` text, if any. */
export function containerFromCgroup(text: string): ContainerInfo | undefined {
  for (const line of text.split("\n")) {
    const path = line.slice(line.indexOf(":", line.indexOf(":") + 1) + 1);
    const segments = path.split("/");
    for (let i = segments.length - 1; i >= 0; i--) {
      const m = CGROUP_SEGMENT.exec(segments[i]!);
      if (m === null) continue;
      const parent = segments[i - 1] ?? "";
      const runtime = m[1] !== undefined
        ? RUNTIME_PREFIX[m[1]]
        : parent === "docker"
        ? "docker"
        : undefined;
      return { id: m[2]!, runtime };
    }
  }
  return undefined;
}

/** The container in a `/proc/self/mountinfo` text (mounts of /etc/hostname and friends), if any. */
export function containerFromMountinfo(text: string): ContainerInfo | undefined {
  for (const line of text.split("\n")) {
    const fields = line.split(" ");
    const mountPoint = fields[4];
    if (
      mountPoint !== "/etc/hostname" && mountPoint !== "/etc/hosts" &&
      mountPoint !== "/etc/resolv.conf"
    ) continue;
    const m = MOUNT_SOURCE.exec(fields[3] ?? "");
    if (m === null) continue;
    return { id: m[2]!, runtime: m[1] === "docker/containers" ? "docker" : "podman" };
  }
  return undefined;
}

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
  const container = containerFromCgroup(await readOrEmpty(ctx, "/proc/self/cgroup")) ??
    containerFromMountinfo(await readOrEmpty(ctx, "/proc/self/mountinfo"));
  if (container === undefined) {
    ctx.logger.debug("Not running in a container: no container ID in cgroup or mountinfo");
    return [];
  }
  const sink = new AttributeSink(config.resource_attributes);
  sink.put("container.id", container.id);
  sink.put("container.runtime", container.runtime);
  return sink.attributes;
}
