/**
 * `extra_metadata_labels` for the `kubelet_stats` receiver, from the kubelet's `/pods` (the pods
 * bound to its node, as `v1.PodList`), as the Collector sets them:
 *
 * - `container.id`: the container status's `containerID` without its runtime scheme
 *   (`containerd://…`); regular and init containers.
 * - `k8s.volume.type` from the pod spec's volume source (`configMap`, `downwardAPI`, `emptyDir`,
 *   `secret`, `hostPath`, `persistentVolumeClaim` with `k8s.persistentvolumeclaim.name`,
 *   `awsElasticBlockStore` with `aws.volume.id` / `fs.type` / `partition`, `gcePersistentDisk`
 *   with `gce.pd.name` / `fs.type` / `partition`, `glusterfs` with `glusterfs.endpoints.name` /
 *   `glusterfs.path`; others, such as `projected`, get no type). With `k8s_api_config`, a claim
 *   is resolved to its persistent volume (`local`, EBS, GCE PD, GlusterFS), cached per pod volume
 *   while the pod exists.
 *
 * @module
 */
import type { K8sClient } from "../../../lib/k8s/client.ts";
import type { KeyValue } from "../../../lib/pdata/types.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

/** The extra resource attributes of one scrape. */
export interface PodMetadata {
  /** `container.id` by `<pod uid>/<container name>`. */
  readonly containerIds: ReadonlyMap<string, string>;
  /** Volume attributes by `<pod uid>/<volume name>`. */
  readonly volumes: ReadonlyMap<string, KeyValue[]>;
}

const str = (key: string, value: unknown): KeyValue => ({ key, value: String(value ?? "") });

const SIMPLE_TYPES = ["configMap", "downwardAPI", "emptyDir", "secret"] as const;

function diskAttributes(source: Any, type: string): KeyValue[] | undefined {
  if (source.awsElasticBlockStore !== undefined) {
    const s = source.awsElasticBlockStore;
    return [
      str("k8s.volume.type", "awsElasticBlockStore"),
      str("aws.volume.id", s.volumeID),
      str("fs.type", s.fsType),
      str("partition", s.partition ?? 0),
    ];
  }
  if (source.gcePersistentDisk !== undefined) {
    const s = source.gcePersistentDisk;
    return [
      str("k8s.volume.type", "gcePersistentDisk"),
      str("gce.pd.name", s.pdName),
      str("fs.type", s.fsType),
      str("partition", s.partition ?? 0),
    ];
  }
  if (source.glusterfs !== undefined) {
    return [
      str("k8s.volume.type", "glusterfs"),
      str("glusterfs.endpoints.name", source.glusterfs.endpoints),
      str("glusterfs.path", source.glusterfs.path),
    ];
  }
  return type === "" ? undefined : [str("k8s.volume.type", type)];
}

/** The attributes of a pod spec's volume. */
export function volumeAttributes(volume: Any): KeyValue[] {
  for (const type of SIMPLE_TYPES) {
    if (volume[type] !== undefined && volume[type] !== null) return [str("k8s.volume.type", type)];
  }
  if (volume.persistentVolumeClaim !== undefined) {
    return [
      str("k8s.volume.type", "persistentVolumeClaim"),
      str("k8s.persistentvolumeclaim.name", volume.persistentVolumeClaim.claimName),
    ];
  }
  if (volume.hostPath !== undefined) return [str("k8s.volume.type", "hostPath")];
  return diskAttributes(volume, "") ?? [];
}

/** A persistent volume's attributes (its source in `spec`). */
export function persistentVolumeAttributes(pv: Any): KeyValue[] | undefined {
  const spec = pv?.spec ?? {};
  if (spec.local !== undefined) return [str("k8s.volume.type", "local")];
  return diskAttributes(spec, "");
}

function stripScheme(id: string): string {
  const at = id.indexOf("://");
  return at < 0 ? id : id.slice(at + 3);
}

/** Reads `/pods` answers into metadata, resolving claims through the API when given one. */
export class PodMetadataReader {
  readonly #api: (() => Promise<K8sClient>) | undefined;
  readonly #onError: (error: unknown, claim: string) => void;
  /** Resolved claim attributes by `<pod uid>/<volume name>`, kept while the pod exists. */
  readonly #claims = new Map<string, KeyValue[]>();

  constructor(
    api: (() => Promise<K8sClient>) | undefined,
    onError: (error: unknown, claim: string) => void,
  ) {
    this.#api = api;
    this.#onError = onError;
  }

  /** The entries of the claim cache (for tests: it holds only existing pods' volumes). */
  get cachedClaims(): number {
    return this.#claims.size;
  }

  /** Builds the metadata of one `/pods` answer. */
  async read(podList: unknown): Promise<PodMetadata> {
    const containerIds = new Map<string, string>();
    const volumes = new Map<string, KeyValue[]>();
    const live = new Set<string>();
    const items = Array.isArray((podList as Any)?.items) ? (podList as Any).items : [];
    for (const pod of items) {
      const uid = pod?.metadata?.uid;
      if (typeof uid !== "string") continue;
      const statuses = [
        ...(pod.status?.containerStatuses ?? []),
        ...(pod.status?.initContainerStatuses ?? []),
      ];
      for (const s of statuses) {
        if (typeof s?.name === "string" && typeof s.containerID === "string") {
          containerIds.set(`${uid}/${s.name}`, stripScheme(s.containerID));
        }
      }
      for (const volume of pod.spec?.volumes ?? []) {
        if (typeof volume?.name !== "string") continue;
        const key = `${uid}/${volume.name}`;
        live.add(key);
        let attributes = volumeAttributes(volume);
        const claim = volume.persistentVolumeClaim?.claimName;
        if (this.#api !== undefined && typeof claim === "string") {
          attributes = await this.#resolve(key, pod.metadata.namespace ?? "", claim, attributes);
        }
        volumes.set(key, attributes);
      }
    }
    for (const key of [...this.#claims.keys()]) if (!live.has(key)) this.#claims.delete(key);
    return { containerIds, volumes };
  }

  async #resolve(
    key: string,
    namespace: string,
    claim: string,
    fallback: KeyValue[],
  ): Promise<KeyValue[]> {
    const cached = this.#claims.get(key);
    if (cached !== undefined) return cached;
    try {
      const client = await this.#api!();
      const pvc = await client.get<Any>(
        `/api/v1/namespaces/${encodeURIComponent(namespace)}/persistentvolumeclaims/${
          encodeURIComponent(claim)
        }`,
      );
      const volumeName = pvc?.spec?.volumeName;
      if (typeof volumeName !== "string" || volumeName === "") return fallback; // not bound yet
      const pv = await client.get<Any>(
        `/api/v1/persistentvolumes/${encodeURIComponent(volumeName)}`,
      );
      const resolved = persistentVolumeAttributes(pv);
      const attributes = resolved === undefined ? fallback : [
        ...resolved,
        str("k8s.persistentvolumeclaim.name", claim),
      ];
      this.#claims.set(key, attributes);
      return attributes;
    } catch (error) {
      this.#onError(error, `${namespace}/${claim}`);
      return fallback;
    }
  }
}
