/**
 * The otlp receiver's `metadata_from_resource` (tfo's own): request metadata taken from resource
 * attributes, for clients that name their tenant in their data rather than in headers and are not
 * authenticated. Each request is split by the combination of those attributes' values, so every
 * part carries one tenant; each part's metadata key is set to its resources' value (as a string)
 * or removed when they have none (a header of that name never survives: the config says where the
 * tenant comes from). A request whose resources agree is not split and stays encoded.
 *
 * With an authenticator the authenticated tenant must win, so the config refuses the key on a
 * receiver with `auth`.
 *
 * @module
 */
import { anyValueToString, indexOfAttribute } from "../../../lib/pdata/attributes.ts";
import { type ClientInfo, Payload } from "../../../lib/pdata/payload.ts";
import type { Resource, Signal, SignalData } from "../../../lib/pdata/types.ts";

/** Splits a payload into parts of one metadata-value combination each. */
export type ResourceMetadataSplitter = <S extends Signal>(payload: Payload<S>) => Payload<S>[];

interface WithResource {
  readonly resource?: Resource | undefined;
}

function resourcesOf(signal: Signal, data: SignalData[Signal]): readonly WithResource[] {
  if (signal === "traces") return (data as SignalData["traces"]).resourceSpans;
  if (signal === "metrics") return (data as SignalData["metrics"]).resourceMetrics;
  return (data as SignalData["logs"]).resourceLogs;
}

function dataOf<S extends Signal>(signal: S, entries: WithResource[]): SignalData[S] {
  const data = signal === "traces"
    ? { resourceSpans: entries }
    : signal === "metrics"
    ? { resourceMetrics: entries }
    : { resourceLogs: entries };
  return data as unknown as SignalData[S];
}

/** The splitter for `mapping` (metadata key → resource attribute). */
export function resourceMetadataSplitter(
  mapping: Readonly<Record<string, string>>,
): ResourceMetadataSplitter {
  const pairs = Object.entries(mapping).map(([key, attr]) => [key.toLowerCase(), attr] as const);

  function valuesOf(entry: WithResource): (string | undefined)[] {
    const attrs = entry.resource?.attributes ?? [];
    return pairs.map(([, attr]) => {
      const i = indexOfAttribute(attrs, attr);
      return i < 0 ? undefined : anyValueToString(attrs[i]!.value);
    });
  }

  function clientWith(client: ClientInfo, values: readonly (string | undefined)[]): ClientInfo {
    const metadata = new Map(client.metadata);
    pairs.forEach(([key], i) => {
      const value = values[i];
      if (value === undefined) metadata.delete(key);
      else metadata.set(key, [value]);
    });
    const out: { metadata: typeof metadata; auth: ClientInfo["auth"]; address?: string } = {
      metadata,
      auth: client.auth,
    };
    if (client.address !== undefined) out.address = client.address;
    return out;
  }

  return <S extends Signal>(payload: Payload<S>): Payload<S>[] => {
    const entries = resourcesOf(payload.signal, payload.read());
    const groups = new Map<string, { values: (string | undefined)[]; entries: WithResource[] }>();
    for (const entry of entries) {
      const values = valuesOf(entry);
      const key = JSON.stringify(values);
      const group = groups.get(key);
      if (group === undefined) groups.set(key, { values, entries: [entry] });
      else group.entries.push(entry);
    }
    if (groups.size <= 1) {
      const values = groups.values().next().value?.values ?? pairs.map(() => undefined);
      return [payload.withClient(clientWith(payload.client, values))];
    }
    return [...groups.values()].map((g) =>
      Payload.of(
        payload.signal,
        dataOf(payload.signal, g.entries),
        clientWith(payload.client, g.values),
      )
    );
  };
}
