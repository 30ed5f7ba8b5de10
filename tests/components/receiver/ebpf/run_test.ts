/**
 * `tfo run` with an ebpf receiver under exactly the permissions of the compiled binary (the
 * `compile` task's flags): the programs attach through FFI and kernel metrics come out of the
 * pipeline; a TFO-Agent config with `collectors.ebpf` validates.
 */
import assert from "node:assert/strict";
import { ebpfSkipReason } from "../../../fixtures/ebpf/env.ts";

const skip = ebpfSkipReason();
const MAIN = new URL("../../../../main.ts", import.meta.url).pathname;

/** The permission and unstable flags of `deno task compile`. */
function compileFlags(): string[] {
  const json = JSON.parse(Deno.readTextFileSync(new URL("../../../../deno.json", import.meta.url)));
  const task = String(json.tasks.compile);
  return task.split(/\s+/).filter((t) => t.startsWith("--allow") || t.startsWith("--unstable"));
}

Deno.test("the compiled binary's permissions include FFI", () => {
  const flags = compileFlags();
  assert.ok(flags.includes("--allow-all") || flags.includes("--allow-ffi"), flags.join(" "));
});

Deno.test({
  name: "tfo run with the binary's permissions exports ebpf metrics",
  ignore: skip !== undefined,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "tfo-ebpf-run-" });
    try {
      await Deno.writeTextFile(
        `${dir}/c.yaml`,
        `receivers:
  ebpf:
    interval: 1s
    collect_network: false
    collect_file_io: false
    collect_tcp_events: false
exporters:
  debug:
    verbosity: normal
service:
  telemetry:
    metrics: { level: none }
  pipelines:
    metrics: { receivers: [ebpf], exporters: [debug] }
`,
      );
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", ...compileFlags(), MAIN, "run", "--config", `${dir}/c.yaml`],
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      // The debug exporter logs what it receives (on stderr); stop once a syscall metric is there
      // or after a minute.
      const stdout = new Response(child.stdout).text();
      const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
      let seen = "";
      let stopped = false;
      const decoder = new TextDecoder();
      try {
        // Read to the end (a closed pipe could fail the agent's last log lines).
        for await (const chunk of child.stderr) {
          seen += decoder.decode(chunk, { stream: true });
          if (!stopped && seen.includes("ebpf.syscall.count{pid=")) {
            stopped = true;
            child.kill("SIGTERM");
          }
        }
      } finally {
        clearTimeout(timer);
      }
      const status = await child.status;
      await stdout;
      assert.ok(seen.includes("ebpf.syscall.count{pid="), seen.slice(-3000));
      assert.equal(status.code, 0, seen.slice(-3000));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("tfo validate accepts a TFO-Agent config with collectors.ebpf", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tfo-ebpf-validate-" });
  try {
    await Deno.writeTextFile(
      `${dir}/agent.yaml`,
      `telemetryflow:
  endpoint: http://127.0.0.1:4318
  api_key_id: tfk_test
  api_key_secret: tfs_test
collectors:
  system:
    enabled: false
  ebpf:
    enabled: true
    collect_scheduler: true
`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--unstable-kv", MAIN, "validate", "--config", `${dir}/agent.yaml`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, text);
    assert.match(text, /ebpf/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
