/**
 * What the ebpf receiver says when it cannot run: no privileges (a start error naming them), no
 * BTF (a warning for the group that needs it while the others run; a start error when that group is
 * the only one), and `tfo run` exiting 1 with that message.
 */
import assert from "node:assert/strict";
import { createEbpfReceiver } from "../../../../components/receiver/ebpf/factory.ts";
import { ebpfConfigSchema } from "../../../../components/receiver/ebpf/config.ts";
import {
  effectiveCapabilities,
  privilegeProblem,
} from "../../../../components/receiver/ebpf/_preflight.ts";
import { createLogger } from "../../../../lib/telemetry/logger.ts";
import { MetricRegistry } from "../../../../lib/telemetry/metrics.ts";
import { ebpfSkipReason, openBpfObjects } from "../../../fixtures/ebpf/env.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

const skip = ebpfSkipReason();
if (skip !== undefined) console.warn(`ebpf start tests on the kernel skipped: ${skip}`);

Deno.test("ebpf preflight reads the effective capabilities and names what is missing", () => {
  assert.equal(effectiveCapabilities("Name:\tx\nCapEff:\t000001ffffffffff\n"), 0x1ffffffffffn);
  assert.equal(effectiveCapabilities("Name:\tx\n"), 0n);
  assert.equal(privilegeProblem(1n << 21n), undefined); // CAP_SYS_ADMIN
  assert.equal(privilegeProblem((1n << 39n) | (1n << 38n)), undefined); // CAP_BPF + CAP_PERFMON
  assert.match(privilegeProblem(1n << 39n)!, /needs root \(or CAP_BPF and CAP_PERFMON\)/);
  assert.match(privilegeProblem(0n)!, /running as uid \d+ without them/);
});

function receiver(config: Record<string, unknown>, lines: string[]) {
  return createEbpfReceiver(
    ebpfConfigSchema.parse({ interval: "1h", ...config }),
    createLogger({ write: (l) => lines.push(l) }),
    new MetricRegistry().meter(),
    {},
  );
}

Deno.test({
  name: "ebpf receiver without BTF leaves the scheduler out with a warning and runs the rest",
  ignore: skip !== undefined,
  async fn() {
    const lines: string[] = [];
    const r = receiver({ btf_path: "/nonexistent/vmlinux", collect_scheduler: true }, lines);
    await r.start({} as never);
    await r.shutdown();
    const warn = lines.find((l) => l.includes("Metric group left out"));
    assert.ok(warn !== undefined, lines.join("\n"));
    assert.match(
      warn,
      /collect_scheduler: it reads task_struct through BTF offsets: .*\/nonexistent/,
    );
    const attached = JSON.parse(lines.find((l) => l.includes("eBPF programs attached"))!);
    assert.deepEqual(attached.groups.sort(), ["file_io", "network", "syscalls", "tcp_events"]);
  },
});

Deno.test({
  name: "ebpf receiver fails to start when no enabled group can run, giving every reason",
  ignore: skip !== undefined,
  async fn() {
    const before = openBpfObjects();
    const r = receiver({
      btf_path: "/nonexistent/vmlinux",
      collect_scheduler: true,
      collect_syscalls: false,
      collect_network: false,
      collect_file_io: false,
      collect_tcp_events: false,
    }, []);
    await assert.rejects(
      () => r.start({} as never),
      (e: Error) =>
        e.name === "EbpfStartError" &&
        /^Cannot start the eBPF receiver: no metric group can run: collect_scheduler: it reads task_struct/
          .test(e.message),
    );
    await r.shutdown();
    const left = [...openBpfObjects()].filter((id) => !before.has(id));
    assert.deepEqual(left, [], "nothing left open");
  },
});

const setpriv = (() => {
  try {
    return new Deno.Command("setpriv", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "tfo run with an ebpf receiver and no privileges exits 1 naming them",
  ignore: skip !== undefined || !setpriv,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "tfo-ebpf-start-" });
    try {
      await Deno.writeTextFile(
        `${dir}/c.yaml`,
        `receivers:
  ebpf: {}
exporters:
  debug: {}
service:
  telemetry:
    metrics: { level: none }
  pipelines:
    metrics: { receivers: [ebpf], exporters: [debug] }
`,
      );
      // Still uid 0, but with every capability dropped: what an unprivileged agent has.
      const out = await new Deno.Command("setpriv", {
        args: [
          "--bounding-set=-all",
          "--inh-caps=-all",
          Deno.execPath(),
          "run",
          "--allow-all",
          "--unstable-kv",
          new URL("../../../../main.ts", import.meta.url).pathname,
          "run",
          "--config",
          `${dir}/c.yaml`,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const err = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 1, err);
      assert.match(err, /needs root \(or CAP_BPF and CAP_PERFMON\)/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
