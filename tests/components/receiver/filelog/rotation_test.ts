import assert from "node:assert/strict";
import { fileStorageFactory } from "../../../../components/extension/file_storage/factory.ts";
import { fileStorageConfigSchema } from "../../../../components/extension/file_storage/config.ts";
import type { Extension } from "../../../../components/component.ts";
import { NOOP_LOGGER } from "../../../../lib/telemetry/logger.ts";
import { MetricRegistry } from "../../../../lib/telemetry/metrics.ts";
import { append, filelog, hostWith, recorder } from "./_kit.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

/** Writes numbered lines of one stream and rotates its file. */
class Writer {
  seq = 0;
  generation = 0;
  constructor(readonly dir: string, readonly name: string) {}
  get path(): string {
    return `${this.dir}/${this.name}.log`;
  }
  async write(n: number): Promise<void> {
    let text = "";
    for (let i = 0; i < n; i++) text += `${this.name}-${this.seq++} ${"x".repeat(this.seq % 50)}\n`;
    await append(this.path, text);
  }
  async renameRotate(): Promise<void> {
    await Deno.rename(this.path, `${this.path}.${++this.generation}`);
  }
  async copyTruncate(): Promise<void> {
    await Deno.copyFile(this.path, `${this.path}.${++this.generation}`);
    await Deno.truncate(this.path, 0);
  }
}

/** Checks every line of each stream arrived once, in order; returns the duplicate count. */
export function checkStreams(bodies: readonly string[], expected: Record<string, number>): number {
  const seen = new Map<string, number[]>();
  for (const b of bodies) {
    const m = /^(\w+)-(\d+)\b/.exec(b);
    assert.ok(m, `unexpected body ${b}`);
    const list = seen.get(m[1]!) ?? [];
    list.push(Number(m[2]));
    seen.set(m[1]!, list);
  }
  let duplicates = 0;
  for (const [name, count] of Object.entries(expected)) {
    const list = seen.get(name) ?? [];
    const first: number[] = [];
    const had = new Set<number>();
    for (const n of list) {
      if (had.has(n)) duplicates++;
      else {
        had.add(n);
        first.push(n);
      }
    }
    if (first.length !== count || first.some((x, i) => x !== i)) {
      console.log(name, JSON.stringify(first));
    }
    assert.deepEqual(first, Array.from({ length: count }, (_, i) => i), `stream ${name}`);
  }
  return duplicates;
}

function storageExtension(dir: string): Extension {
  return fileStorageFactory.create({
    id: "file_storage",
    config: fileStorageConfigSchema.parse({ directory: dir }),
    logger: NOOP_LOGGER,
    meter: new MetricRegistry().meter(),
    buildInfo: { command: "tfo", version: "test" },
  });
}

Deno.test("filelog reads every line once in order across rename and copy-truncate rotation and clean restarts", async () => {
  const dir = await Deno.makeTempDir();
  const stateDir = await Deno.makeTempDir();
  const rec = recorder();
  const a = new Writer(dir, "alpha");
  const b = new Writer(dir, "beta");
  const config = {
    include: [`${dir}/*.log*`],
    start_at: "beginning",
    poll_interval: "1h",
    storage: "file_storage",
  };
  let ext = storageExtension(stateDir);
  let host = hostWith({ file_storage: ext });
  await ext.start(host);
  let r = filelog(config, rec.consumer);
  await r.start(host);
  for (let round = 0; round < 6; round++) {
    await a.write(40);
    await b.write(25);
    await r.pollOnce();
    await a.write(10);
    if (round % 2 === 0) {
      await a.renameRotate();
      await b.copyTruncate();
    } else {
      await a.copyTruncate();
      await b.renameRotate();
    }
    await a.write(7);
    await b.write(3);
    await r.pollOnce();
    if (round % 3 === 1) {
      await r.shutdown();
      await ext.shutdown();
      await a.write(5); // written while tfo is down
      ext = storageExtension(stateDir);
      host = hostWith({ file_storage: ext });
      await ext.start(host);
      r = filelog(config, rec.consumer);
      await r.start(host);
    }
    await r.pollOnce();
  }
  await r.pollOnce();
  await r.shutdown();
  await ext.shutdown();
  const duplicates = checkStreams(rec.bodies() as string[], { alpha: a.seq, beta: b.seq });
  assert.equal(duplicates, 0);
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(stateDir, { recursive: true });
});

Deno.test("filelog finishes a file renamed out of its globs and releases deleted files", async () => {
  const dir = await Deno.makeTempDir();
  const rec = recorder();
  const w = new Writer(dir, "app");
  const r = filelog({ include: [`${dir}/app.log`], start_at: "beginning" }, rec.consumer);
  await w.write(5);
  await r.pollOnce();
  await w.write(5);
  await w.renameRotate(); // app.log.1 is outside the glob: read to its end through the handle
  await w.write(5);
  await r.pollOnce();
  await r.pollOnce();
  assert.equal(checkStreams(rec.bodies() as string[], { app: 15 }), 0);
  await Deno.remove(`${dir}/app.log.1`);
  await w.write(2);
  await Deno.remove(w.path); // deleted after writing: its last lines are still read
  await r.pollOnce();
  assert.equal(checkStreams(rec.bodies() as string[], { app: 17 }), 0);
  const fds = [...Deno.readDirSync("/proc/self/fd")].map((e) => {
    try {
      return Deno.readLinkSync(`/proc/self/fd/${e.name}`);
    } catch {
      return "";
    }
  });
  assert.ok(
    !fds.some((f) => f.startsWith(dir)),
    `handles still open: ${fds.filter((f) => f.startsWith(dir))}`,
  );
  await r.shutdown();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("filelog keeps offsets after a refused payload and sends the lines again", async () => {
  const dir = await Deno.makeTempDir();
  const rec = recorder();
  const w = new Writer(dir, "app");
  const r = filelog({ include: [`${dir}/*.log`], start_at: "beginning" }, rec.consumer);
  await w.write(3);
  rec.state.fail = true;
  await r.pollOnce();
  rec.state.fail = false;
  await r.pollOnce();
  assert.equal(checkStreams(rec.bodies() as string[], { app: 3 }), 0);
  await r.shutdown();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("filelog survives SIGKILL of the process running it: no line lost, order kept", async () => {
  const dir = await Deno.makeTempDir();
  const stateDir = await Deno.makeTempDir();
  const sink = `${dir}/sink.out`;
  const script = new URL("../../../fixtures/filelog/run_receiver.ts", import.meta.url).pathname;
  const spawn = () =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--unstable-kv", script, `${dir}/*.log*`, stateDir, sink],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
  const waitReady = async (child: Deno.ChildProcess) => {
    const reader = child.stdout.getReader();
    const { value } = await reader.read();
    reader.releaseLock();
    assert.match(new TextDecoder().decode(value), /ready/);
  };
  const w = new Writer(dir, "app");
  const v = new Writer(dir, "web");
  for (let round = 0; round < 4; round++) {
    const child = spawn();
    await waitReady(child);
    for (let k = 0; k < 8; k++) {
      await w.write(200);
      await v.write(50);
      if (k === 3) await (round % 2 === 0 ? w.renameRotate() : w.copyTruncate());
      if (k === 5) await (round % 2 === 0 ? v.copyTruncate() : v.renameRotate());
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20));
    }
    child.kill("SIGKILL");
    await child.status;
    await child.stdout.cancel();
  }
  const child = spawn();
  await waitReady(child);
  const expected = w.seq + v.seq;
  const deadline = Date.now() + 20_000;
  let bodies: string[] = [];
  while (Date.now() < deadline) {
    bodies = (await Deno.readTextFile(sink)).split("\n").filter((l) => l !== "")
      .map((l) => l.slice(l.indexOf("\t") + 1));
    if (new Set(bodies).size >= expected) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill("SIGTERM");
  await child.status;
  await child.stdout.cancel();
  const duplicates = checkStreams(bodies, { app: w.seq, web: v.seq });
  console.log(`SIGKILL test: ${expected} lines, ${duplicates} duplicates after 4 kills`);
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(stateDir, { recursive: true });
});
