import assert from "node:assert/strict";
import { join } from "node:path";
import {
  createStorageClient,
  keySize,
  openKvStore,
  StorageOpenError,
} from "../../../lib/storage/mod.ts";

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "tfo_storage_" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("storage clients see only their own prefix, with relative keys", async () => {
  await withDir(async (dir) => {
    const store = await openKvStore(dir);
    const a = createStorageClient(store.kv, ["receiver", "filelog", ""]);
    const b = createStorageClient(store.kv, ["receiver", "filelog/2", ""]);
    await a.set(["offset", "x.log"], 10);
    await b.set(["offset", "x.log"], 20);
    await a.atomic().set(["offset", "y.log"], 5).delete(["nothing"]).commit();
    assert.equal(await a.get(["offset", "x.log"]), 10);
    assert.equal(await b.get(["offset", "x.log"]), 20);
    assert.equal(await a.get(["missing"]), undefined);
    const listed = [];
    for await (const entry of a.list(["offset"])) listed.push(entry);
    assert.deepEqual(listed, [
      { key: ["offset", "x.log"], value: 10 },
      { key: ["offset", "y.log"], value: 5 },
    ]);
    await a.delete(["offset", "x.log"]);
    assert.equal(await a.get(["offset", "x.log"]), undefined);
    assert.deepEqual(a.prefix, ["receiver", "filelog", ""]);
    await a.close();
    await b.close();
    store.close();
  });
});

Deno.test("storage client close waits for writes in flight and refuses new ones", async () => {
  await withDir(async (dir) => {
    const store = await openKvStore(dir);
    let closedHook = 0;
    const client = createStorageClient(store.kv, ["x"], () => closedHook++);
    const write = client.set(["k"], new Uint8Array(60_000));
    const closing = client.close();
    assert.equal(client.closed, true);
    await write;
    await closing;
    await client.close();
    assert.equal(closedHook, 1);
    await assert.rejects(client.get(["k"]), /Storage client \[x\] is closed/);
    assert.ok((await store.kv.get(["x", "k"])).value instanceof Uint8Array);
    store.close();
  });
});

Deno.test("opening storage fails clearly on a missing directory unless asked to create it", async () => {
  await withDir(async (dir) => {
    const missing = join(dir, "a", "b");
    await assert.rejects(
      openKvStore(missing),
      (e) =>
        e instanceof StorageOpenError &&
        e.message === `Cannot open storage directory "${missing}": it does not exist ` +
            "(create it, or set create_directory: true)",
    );
    const store = await openKvStore(missing, { createDirectory: true, directoryMode: 0o700 });
    assert.ok((await Deno.stat(missing)).isDirectory);
    assert.equal((await Deno.stat(join(missing, "tfo.kv"))).isFile, true);
    store.close();
    store.close();
    const file = join(dir, "file");
    await Deno.writeTextFile(file, "");
    await assert.rejects(openKvStore(file), /not a directory/);
  });
});

Deno.test("a second open of the same directory fails after the timeout, and works once released", async () => {
  await withDir(async (dir) => {
    const first = await openKvStore(dir);
    const started = performance.now();
    await assert.rejects(
      openKvStore(dir, { timeoutMs: 100 }),
      (e) =>
        e instanceof StorageOpenError &&
        e.message.includes(`it is locked by another process (PID ${Deno.pid})`) &&
        e.message.includes("waited 100ms"),
    );
    assert.ok(performance.now() - started >= 100);
    // A waiter gets the lock once the holder lets go within the timeout.
    const second = openKvStore(dir, { timeoutMs: 2000 });
    setTimeout(() => first.close(), 50);
    (await second).close();
  });
});

Deno.test("another process holding the directory makes open fail, and kill -9 frees it", async () => {
  await withDir(async (dir) => {
    const script = `
      import { openKvStore } from ${
      JSON.stringify(new URL("../../../lib/storage/store.ts", import.meta.url).href)
    };
      await openKvStore(${JSON.stringify(dir)});
      console.log("open");
      setInterval(() => {}, 1000);
    `;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["eval", "--unstable-kv", script],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    while (!out.includes("open")) {
      const { value, done } = await reader.read();
      if (done) break;
      out += value;
    }
    assert.match(out, /open/);
    await assert.rejects(
      openKvStore(dir, { timeoutMs: 200 }),
      (e) => e instanceof StorageOpenError && e.message.includes(`(PID ${child.pid})`),
    );
    child.kill("SIGKILL");
    await child.status;
    await reader.cancel();
    const store = await openKvStore(dir, { timeoutMs: 2000 });
    store.close();
  });
});

Deno.test("keySize bounds what Deno KV counts for a key", async () => {
  await withDir(async (dir) => {
    const store = await openKvStore(dir);
    const long = "k".repeat(2000);
    assert.ok(keySize(["exporter", long]) > 2000);
    assert.equal(keySize(["c", 1, 2]), 3 + 9 + 9);
    // Non-ASCII parts count their UTF-8 bytes, NUL bytes are escaped (one byte more each).
    assert.equal(keySize(["é"]), 2 + 2);
    assert.equal(keySize(["a\u0000b"]), 2 + 3 + 1);
    await assert.rejects(store.kv.set([long, "x".repeat(60)], 1), /Key too large/);
    store.close();
  });
});
