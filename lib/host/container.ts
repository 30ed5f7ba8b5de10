/**
 * Container detection for the process itself: whether tfo runs in a container, its ID, runtime,
 * and (where the runtime says) its name and image. Facts, strongest first:
 *
 * - `/run/.containerenv` (Podman writes `id`, `name`, `image` into it);
 * - container IDs in `/proc/self/cgroup` and `/proc/1/cgroup` (cgroup v1 paths and systemd scopes:
 *   `docker-<id>.scope`, `cri-containerd-<id>`, `crio-<id>`, `libpod-<id>`, `/docker/<id>`,
 *   `/kubepods/…/<id>`);
 * - on cgroup v2, the source of the `/etc/hostname` bind mount in `/proc/self/mountinfo`
 *   (`…/docker/containers/<id>/hostname`, `…/overlay-containers/<id>/…`);
 * - `/.dockerenv`, `/run/systemd/container`, `container=` in PID 1's environment, and
 *   `KUBERNETES_SERVICE_HOST` in ours.
 *
 * Docker keeps a container's name and image in its daemon only, so they stay `""` outside Podman.
 * When Docker is recognised but no full ID is visible, a default 12-hex-digit hostname (Docker's
 * short container ID) is taken as the ID.
 *
 * @module
 */
import { hostPath, readOptional, type RootPath, splitLines } from "./_read.ts";

/** What {@linkcode readContainer} found; strings are `""` when unknown. */
export interface ContainerFacts {
  isContainer: boolean;
  /** The full (64 hex digits) or short (12) container ID. */
  id: string;
  /** `docker`, `podman`, `containerd`, `cri-o`, `kubernetes`, `lxc`, `systemd-nspawn`, … */
  runtime: string;
  /** Known from Podman's `.containerenv` only. */
  name: string;
  /** Known from Podman's `.containerenv` only. */
  image: string;
}

/** A container ID and, when its path says, the runtime. */
export interface ContainerId {
  id: string;
  runtime: string;
}

const SEGMENT = /^(?:(docker|cri-containerd|crio|libpod)-)?([0-9a-f]{64})(?:\.scope)?$/;
const RUNTIME_OF_PREFIX: Readonly<Record<string, string>> = {
  docker: "docker",
  "cri-containerd": "containerd",
  crio: "cri-o",
  libpod: "podman",
};

/** The container ID in a `/proc/[pid]/cgroup` text, if any. */
export function containerIdFromCgroup(text: string): ContainerId | undefined {
  for (const line of splitLines(text)) {
    const path = line.slice(line.indexOf(":", line.indexOf(":") + 1) + 1);
    const segments = path.split("/");
    for (let i = segments.length - 1; i >= 0; i--) {
      const m = SEGMENT.exec(segments[i]!);
      if (m === null) continue;
      let runtime = m[1] === undefined ? "" : RUNTIME_OF_PREFIX[m[1]] ?? "";
      if (runtime === "") {
        if (segments.includes("docker")) runtime = "docker";
        else if (segments.some((s) => s.startsWith("kubepods"))) runtime = "kubernetes";
      }
      return { id: m[2]!, runtime };
    }
  }
  return undefined;
}

const MOUNT_SOURCE =
  /\/(docker\/containers|containers\/storage\/overlay-containers)\/([0-9a-f]{64})\//;

/** The container ID in the source of the `/etc/hostname` (or hosts, resolv.conf) bind mount. */
export function containerIdFromMountInfo(text: string): ContainerId | undefined {
  for (const line of splitLines(text)) {
    const fields = line.split(" ");
    const mountPoint = fields[4];
    if (
      mountPoint !== "/etc/hostname" && mountPoint !== "/etc/hosts" &&
      mountPoint !== "/etc/resolv.conf"
    ) continue;
    const m = MOUNT_SOURCE.exec(fields[3] ?? "");
    if (m !== null) {
      return { id: m[2]!, runtime: m[1] === "docker/containers" ? "docker" : "podman" };
    }
  }
  return undefined;
}

/** Parses Podman's `/run/.containerenv` (`key="value"` lines). */
export function parseContainerEnv(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of splitLines(text)) {
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    out.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim().replace(/^"(.*)"$/, "$1"));
  }
  return out;
}

/** The `container=` value of an environ text (NUL-separated), or `""`. */
export function containerFromEnviron(text: string): string {
  for (const entry of text.split("\0")) {
    if (entry.startsWith("container=")) return entry.slice("container=".length);
  }
  return "";
}

async function readQuiet(path: string): Promise<string | undefined> {
  try {
    return await readOptional(path);
  } catch {
    return undefined;
  }
}

/** Options of {@linkcode readContainer}. */
export interface ReadContainerOptions {
  /** Reads an environment variable. @default Deno.env.get, undefined without permission */
  env?: (name: string) => string | undefined;
  /** This machine's host name. @default Deno.hostname() */
  hostname?: () => string;
}

function defaultEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/**
 * Detects the container this process runs in. `root` is where this process's own root is seen
 * (`""` normally); the process's view, not a mounted host's, is what matters here.
 */
export async function readContainer(
  root: RootPath = "",
  options: ReadContainerOptions = {},
): Promise<ContainerFacts> {
  const env = options.env ?? defaultEnv;
  const p = (path: string) => hostPath(root, path);
  const [containerEnv, selfCgroup, initCgroup, mountInfo, dockerEnv, systemdContainer, environ] =
    await Promise.all([
      readQuiet(p("/run/.containerenv")),
      readQuiet(p("/proc/self/cgroup")),
      readQuiet(p("/proc/1/cgroup")),
      readQuiet(p("/proc/self/mountinfo")),
      readQuiet(p("/.dockerenv")),
      readQuiet(p("/run/systemd/container")),
      readQuiet(p("/proc/1/environ")),
    ]);
  const facts: ContainerFacts = { isContainer: false, id: "", runtime: "", name: "", image: "" };
  if (containerEnv !== undefined) {
    const fields = parseContainerEnv(containerEnv);
    facts.isContainer = true;
    facts.runtime = "podman";
    facts.id = fields.get("id") ?? "";
    facts.name = fields.get("name") ?? "";
    facts.image = fields.get("image") ?? "";
  }
  const found = containerIdFromCgroup(selfCgroup ?? "") ??
    containerIdFromCgroup(initCgroup ?? "") ??
    containerIdFromMountInfo(mountInfo ?? "");
  if (found !== undefined) {
    facts.isContainer = true;
    if (facts.id === "") facts.id = found.id;
    if (facts.runtime === "") facts.runtime = found.runtime;
  }
  if (dockerEnv !== undefined) {
    facts.isContainer = true;
    if (facts.runtime === "") facts.runtime = "docker";
  }
  const declared = (systemdContainer?.trim() || containerFromEnviron(environ ?? "")).trim();
  if (declared !== "") {
    facts.isContainer = true;
    if (facts.runtime === "") facts.runtime = declared;
  }
  if ((env("KUBERNETES_SERVICE_HOST") ?? "") !== "") {
    facts.isContainer = true;
    if (facts.runtime === "") facts.runtime = "kubernetes";
  }
  if (facts.isContainer && facts.id === "" && facts.runtime === "docker") {
    let hostname = "";
    try {
      hostname = (options.hostname ?? Deno.hostname)();
    } catch {
      // no sys permission: leave the ID unknown
    }
    if (/^[0-9a-f]{12}$/.test(hostname)) facts.id = hostname;
  }
  return facts;
}
