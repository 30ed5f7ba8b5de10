/** Inputs of the OTTL differential tests: one request per signal, rich enough for every function. */
import {
  cumulativeSumOf,
  gaugeOf,
  newHistogramDataPoint,
  newLogRecord,
  newMetric,
  newNumberDataPoint,
  newResource,
  newScope,
  newSpan,
  newSpanEvent,
  newSummaryDataPoint,
} from "../../../../lib/pdata/new.ts";
import type { LogsData, MetricsData, TracesData } from "../../../../lib/pdata/types.ts";

const T0 = 1_700_000_000_000_000_000n;

/** Traces: two resources, three spans with events, nested and list attributes. */
export function traces(): TracesData {
  const id = (n: number, len: number) => new Uint8Array(len).fill(n);
  return {
    resourceSpans: [{
      resource: newResource({
        attributes: [{ key: "service.name", value: "checkout" }, { key: "env", value: "dev" }],
      }),
      schemaUrl: "",
      scopeSpans: [{
        scope: newScope({ name: "lib", version: "1.2.3" }),
        schemaUrl: "",
        spans: [
          newSpan({
            traceId: id(1, 16),
            spanId: id(2, 8),
            name: "GET /users/123",
            kind: 2,
            startTimeUnixNano: T0,
            endTimeUnixNano: T0 + 1_500_000_000n,
            attributes: [
              { key: "http.method", value: "GET" },
              { key: "http.url", value: "https://shop/api?token=abc123&x=1" },
              { key: "http.status_code", value: 200n },
              { key: "user.id", value: "User_Name-42" },
              { key: "ratio", value: 0.25 },
              { key: "ok", value: true },
              { key: "tags", value: ["a", "b"] },
              {
                key: "nested",
                value: {
                  kvlist: [
                    { key: "a", value: 1n },
                    { key: "b", value: { kvlist: [{ key: "c", value: "d" }] } },
                  ],
                },
              },
              { key: "padded", value: "  trim me  " },
            ],
            events: [
              newSpanEvent({
                timeUnixNano: T0 + 10n,
                name: "exception",
                attributes: [{ key: "exception.message", value: "boom" }],
              }),
              newSpanEvent({ timeUnixNano: T0 + 20n, name: "debug" }),
            ],
          }),
          newSpan({
            traceId: id(1, 16),
            spanId: id(3, 8),
            parentSpanId: id(2, 8),
            name: "health",
            kind: 1,
            startTimeUnixNano: T0,
            endTimeUnixNano: T0 + 1000n,
            attributes: [{ key: "http.method", value: "POST" }],
          }),
          newSpan({
            traceId: id(4, 16),
            spanId: id(5, 8),
            parentSpanId: id(2, 8),
            name: "db query",
            kind: 3,
            startTimeUnixNano: T0,
            endTimeUnixNano: T0 + 5_000_000n,
            attributes: [{ key: "db.statement", value: "select * from users where id = 42" }],
            status: { code: 2, message: "timeout" },
          }),
        ],
      }],
    }, {
      resource: newResource({ attributes: [{ key: "service.name", value: "internal" }] }),
      schemaUrl: "",
      scopeSpans: [{
        scope: newScope({ name: "other" }),
        schemaUrl: "",
        spans: [newSpan({ traceId: id(6, 16), spanId: id(7, 8), name: "tick", kind: 1 })],
      }],
    }],
  };
}

/** Metrics: an internal sum, a histogram, a gauge with three points, a summary. */
export function metrics(): MetricsData {
  const attrs = (host: string, internal: boolean) => [
    { key: "host", value: host },
    { key: "internal", value: internal },
  ];
  return {
    resourceMetrics: [{
      resource: newResource({ attributes: [{ key: "service.name", value: "checkout" }] }),
      schemaUrl: "",
      scopeMetrics: [{
        scope: newScope({ name: "meter" }),
        schemaUrl: "",
        metrics: [
          newMetric({
            name: "otelcol_exporter_sent_spans",
            description: "sent",
            unit: "1",
            data: cumulativeSumOf([
              newNumberDataPoint({ value: 10n, timeUnixNano: T0, startTimeUnixNano: T0 - 1000n }),
            ], true),
          }),
          newMetric({
            name: "http.server.duration",
            description: "duration",
            unit: "ms",
            data: {
              type: "histogram",
              aggregationTemporality: 2,
              dataPoints: [
                newHistogramDataPoint({
                  attributes: [{ key: "route", value: "/a" }],
                  timeUnixNano: T0,
                  startTimeUnixNano: T0 - 1000n,
                  count: 3n,
                  sum: 30,
                  bucketCounts: [1n, 2n, 0n],
                  explicitBounds: [5, 10],
                  min: 1,
                  max: 9,
                }),
                newHistogramDataPoint({
                  attributes: [{ key: "route", value: "/b" }],
                  timeUnixNano: T0,
                  startTimeUnixNano: T0 - 1000n,
                  count: 1n,
                  sum: 7,
                  bucketCounts: [0n, 1n, 0n],
                  explicitBounds: [5, 10],
                }),
              ],
            },
          }),
          newMetric({
            name: "requests",
            description: "reqs",
            unit: "{request}",
            data: gaugeOf([
              newNumberDataPoint({ value: 2.5, attributes: attrs("h1", false), timeUnixNano: T0 }),
              newNumberDataPoint({ value: 4.5, attributes: attrs("h2", true), timeUnixNano: T0 }),
              newNumberDataPoint({ value: 1.0, attributes: attrs("h1", false), timeUnixNano: T0 }),
            ]),
          }),
          newMetric({
            name: "latency",
            data: {
              type: "summary",
              dataPoints: [newSummaryDataPoint({
                timeUnixNano: T0,
                count: 4n,
                sum: 12,
                quantileValues: [{ quantile: 0.5, value: 3 }, { quantile: 0.99, value: 5 }],
              })],
            },
          }),
        ],
      }],
    }],
  };
}

/** Logs: a key=value body, a map body, a debug line, a JSON string body. */
export function logs(): LogsData {
  return {
    resourceLogs: [{
      resource: newResource({ attributes: [{ key: "service.name", value: "checkout" }] }),
      schemaUrl: "",
      scopeLogs: [{
        scope: newScope({ name: "logger" }),
        schemaUrl: "",
        logRecords: [
          newLogRecord({
            timeUnixNano: T0,
            body: "user=alice action=login",
            severityNumber: 9,
            severityText: "INFO",
            attributes: [
              { key: "http.route", value: "/user/1/list/2" },
              { key: "path", value: "/account/1234" },
            ],
          }),
          newLogRecord({
            timeUnixNano: T0,
            body: {
              kvlist: [{ key: "msg", value: "hello" }, { key: "level", value: "warn" }],
            },
            severityNumber: 13,
            severityText: "WARN",
          }),
          newLogRecord({
            timeUnixNano: T0,
            body: "request failed",
            severityNumber: 5,
            severityText: "DEBUG",
          }),
          newLogRecord({
            timeUnixNano: T0,
            body: '{"a":1,"b":"x","c":{"d":true}}',
            severityNumber: 9,
          }),
          newLogRecord({
            timeUnixNano: T0,
            body: "2023-05-26 12:34:56 ERROR disk full",
            severityNumber: 0,
          }),
        ],
      }],
    }],
  };
}
