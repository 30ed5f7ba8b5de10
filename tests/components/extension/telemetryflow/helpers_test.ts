import assert from "node:assert/strict";
import { Backoff } from "../../../../components/extension/telemetryflow/_backoff.ts";
import { configTextFromResponse } from "../../../../components/extension/telemetryflow/_remote_config.ts";
import {
  agentIdFromResponse,
  firstIpv4Address,
} from "../../../../components/extension/telemetryflow/_registration.ts";
import { agentsUrl } from "../../../../components/extension/telemetryflow/_api_client.ts";

Deno.test("backoff grows by the multiplier, stays within jitter, and is bounded", () => {
  const policy = { initialMs: 100, maxMs: 1000, multiplier: 2, randomizationFactor: 0.5 };
  const low = new Backoff(policy, () => 0);
  const high = new Backoff(policy, () => 0.999999);
  const lows = Array.from({ length: 8 }, () => low.nextDelay());
  const highs = Array.from({ length: 8 }, () => high.nextDelay());
  assert.deepEqual(lows, [50, 100, 200, 400, 500, 500, 500, 500]);
  assert.deepEqual(highs, [150, 300, 600, 1000, 1000, 1000, 1000, 1000]);
  low.reset();
  assert.equal(low.nextDelay(), 50);
});

Deno.test("remote config answers: YAML text, JSON envelopes, config objects, and none", () => {
  const yaml = "receivers:\n  otlp: {}\n";
  assert.equal(configTextFromResponse("application/yaml", yaml), yaml);
  assert.equal(configTextFromResponse("text/plain", yaml), yaml);
  assert.equal(configTextFromResponse("application/json", JSON.stringify({ config: yaml })), yaml);
  assert.equal(
    configTextFromResponse("application/json", JSON.stringify({ data: { config: yaml } })),
    yaml,
  );
  const obj = { receivers: { otlp: {} }, service: { pipelines: {} } };
  assert.deepEqual(
    JSON.parse(configTextFromResponse("application/json", JSON.stringify(obj))!),
    obj,
  );
  assert.deepEqual(
    JSON.parse(configTextFromResponse("application/json", JSON.stringify({ config: obj }))!),
    obj,
  );
  assert.equal(configTextFromResponse("application/json", '{"config": null}'), undefined);
  assert.equal(configTextFromResponse("application/json", '{"status": "none"}'), undefined);
  assert.equal(configTextFromResponse("application/json", ""), undefined);
});

Deno.test("registration answers and helpers", () => {
  assert.equal(agentIdFromResponse('{"agent_id":"a-1"}'), "a-1");
  assert.equal(agentIdFromResponse('{"data":{"agent_id":"a-2"}}'), "a-2");
  assert.equal(agentIdFromResponse('{"id":42}'), "42");
  assert.equal(agentIdFromResponse("not json"), undefined);
  assert.equal(agentIdFromResponse("{}"), undefined);
  const nics = [
    { family: "IPv4", address: "127.0.0.1" },
    { family: "IPv6", address: "fd00::2" },
    { family: "IPv4", address: "10.1.2.3" },
  ] as Deno.NetworkInterfaceInfo[];
  assert.equal(firstIpv4Address(() => nics), "10.1.2.3");
  assert.equal(firstIpv4Address(() => nics.slice(0, 2)), "");
  assert.equal(agentsUrl("https://api.test/"), "https://api.test/api/v2/agents");
  assert.equal(agentsUrl("https://api.test/api/v2"), "https://api.test/api/v2/agents");
  assert.equal(agentsUrl("https://api.test/tf/"), "https://api.test/tf/api/v2/agents");
});
