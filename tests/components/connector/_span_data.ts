/**
 * Deterministic traces for the connector tests: services, span kinds, statuses, attributes,
 * events, sampled spans (W3C tracestate thresholds), two scopes, a span that ends before it starts
 * and a resource without `service.name`.
 */
import { newSpan, newSpanEvent } from "../../../lib/pdata/new.ts";
import type { KeyValue, ResourceSpans, Span, TracesData } from "../../../lib/pdata/types.ts";

const MS = 1_000_000n;
const BASE = 1_700_000_000_000n * MS;

/** A deterministic ID of `length` bytes. */
export function id(n: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (n * 31 + i * 7 + 1) & 0xff;
  return out;
}

/** A deterministic mix: services, kinds, statuses, attributes, events, sampled spans. */
export function mixedTraces(): TracesData {
  const resources: ResourceSpans[] = [];
  const services = ["checkout", "cart", "payment"];
  for (const [r, service] of services.entries()) {
    const spans: Span[] = [];
    for (let i = 0; i < 60; i++) {
      const attributes: KeyValue[] = [
        { key: "http.method", value: ["GET", "POST", "PUT"][i % 3]! },
        { key: "http.status_code", value: BigInt([200, 404, 500, 201][i % 4]!) },
      ];
      if (i % 5 === 0) attributes.push({ key: "db.system", value: "postgresql" });
      if (i % 7 === 0) attributes.push({ key: "http.route", value: `/r/${i % 2}` });
      const durationNs = BigInt([1, 3, 7, 12, 45, 180, 950, 1300, 4200, 16000][i % 10]!) * MS +
        BigInt(i * 1013);
      const start = BASE + BigInt(i) * 10n * MS;
      spans.push(newSpan({
        traceId: id(r * 100 + i, 16),
        spanId: id(r * 100 + i + 7, 8),
        name: ["GET /cart", "POST /pay", "SELECT", "render"][i % 4]!,
        kind: i % 6,
        status: { code: i % 9 === 0 ? 2 : i % 4 === 0 ? 1 : 0, message: "" },
        startTimeUnixNano: start,
        // One span ends before it starts: the Collector counts its duration as 0.
        endTimeUnixNano: i === 13 ? start - MS : start + durationNs,
        traceState: i % 11 === 0 ? "ot=th:8" : i % 13 === 0 ? "ot=th:c;rv:abcdef12345678" : "",
        attributes,
        events: i % 4 === 1
          ? [
            newSpanEvent({
              name: "exception",
              timeUnixNano: start,
              attributes: [{ key: "exception.type", value: i % 8 === 1 ? "IOError" : "Timeout" }],
            }),
            newSpanEvent({ name: "log", timeUnixNano: start, attributes: [] }),
          ]
          : [],
      }));
    }
    resources.push({
      resource: {
        attributes: [
          { key: "service.name", value: service },
          { key: "host.name", value: `host-${r % 2}` },
          { key: "deployment.environment", value: "prod" },
        ],
        droppedAttributesCount: 0,
      },
      scopeSpans: [
        {
          scope: {
            name: "io.opentelemetry.http",
            version: "1.2",
            attributes: [],
            droppedAttributesCount: 0,
          },
          spans: spans.slice(0, 30),
          schemaUrl: "",
        },
        {
          scope: { name: "db", version: "", attributes: [], droppedAttributesCount: 0 },
          spans: spans.slice(30),
          schemaUrl: "",
        },
      ],
      schemaUrl: "",
    });
  }
  // A resource without service.name: skipped by both.
  resources.push({
    resource: { attributes: [{ key: "host.name", value: "lonely" }], droppedAttributesCount: 0 },
    scopeSpans: [{
      scope: { name: "x", version: "", attributes: [], droppedAttributesCount: 0 },
      spans: [newSpan({ name: "orphan", startTimeUnixNano: BASE, endTimeUnixNano: BASE + MS })],
      schemaUrl: "",
    }],
    schemaUrl: "",
  });
  return { resourceSpans: resources };
}
