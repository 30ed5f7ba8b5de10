import assert from "node:assert/strict";
import {
  ByteBudget,
  HEADROOM_BYTES,
  isDiskFull,
  MIN_BUDGET_BYTES,
  RESERVE_FILE_NAME,
  StorageVolume,
  volumeFreeBytes,
  WAL_ALLOWANCE_BYTES,
} from "../../../lib/storage/volume.ts";
import { openKvStore } from "../../../lib/storage/store.ts";

const MIB = 1024 * 1024;

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "tfo_volume_" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await Deno.stat(path)).size;
  } catch {
    return undefined;
  }
}

Deno.test("isDiskFull knows SQLite's and the OS's ways of saying the volume is full", () => {
  assert.ok(isDiskFull(new TypeError("database or disk is full")));
  assert.ok(isDiskFull(new Error("No space left on device (os error 28)")));
  assert.ok(isDiskFull(new Error("disk I/O error")));
  assert.ok(isDiskFull(Object.assign(new Error("write failed"), { code: "ENOSPC" })));
  assert.ok(!isDiskFull(new Error("Storage commit failed a check")));
  assert.ok(!isDiskFull(new TypeError("Value too large (max 65536 bytes)")));
});

Deno.test("volumeFreeBytes reads statfs through node:fs, undefined for a missing path", async () => {
  await withDir((dir) => {
    const free = volumeFreeBytes(dir);
    assert.ok(free !== undefined && free > 0, `free bytes ${free}`);
    assert.equal(volumeFreeBytes(`${dir}/missing/deeper`), undefined);
    return Promise.resolve();
  });
});

Deno.test("the reserve is written at open, kept across opens, released when full, restored with room", async () => {
  await withDir(async (dir) => {
    let free = 100 * MIB;
    const lines: string[] = [];
    const volume = new StorageVolume(dir, {
      reserveBytes: 3 * MIB + 5,
      freeBytes: () => free,
      logger: {
        debug: () => {},
        info: (m) => lines.push(m),
        warn: (m) => lines.push(m),
        error: (m) => lines.push(m),
        enabled: () => true,
        with() {
          return this;
        },
      },
    });
    const path = `${dir}/${RESERVE_FILE_NAME}`;
    await volume.open();
    assert.equal(await sizeOf(path), 3 * MIB + 5);
    assert.ok(volume.reserveHeld && !volume.full);
    const bytes = await Deno.readFile(path);
    assert.ok(bytes.subarray(0, 4096).some((b) => b !== 0), "incompressible, not zeros");
    const mtime = (await Deno.stat(path)).mtime;
    await new StorageVolume(dir, { reserveBytes: 3 * MIB + 5 }).open();
    assert.deepEqual((await Deno.stat(path)).mtime, mtime, "a reserve of the right size is kept");

    volume.reportFull();
    volume.reportFull();
    assert.equal(await sizeOf(path), undefined);
    assert.ok(volume.full && !volume.reserveHeld);
    assert.equal(lines.filter((l) => /released the reserve/.test(l)).length, 1);

    free = 3 * MIB + 5 + HEADROOM_BYTES - 1; // not room enough for the reserve and a commit
    assert.equal(await volume.probe(), false);
    assert.ok(volume.full);
    assert.equal(await sizeOf(path), undefined);
    free = 3 * MIB + 5 + HEADROOM_BYTES;
    assert.equal(await volume.probe(), true);
    assert.ok(!volume.full && volume.reserveHeld);
    assert.equal(await sizeOf(path), 3 * MIB + 5);
    assert.ok(lines.some((l) => /has room again/.test(l)));
  });
});

Deno.test("a volume without room for its reserve runs without one; resume clears full without one", async () => {
  await withDir(async (dir) => {
    const volume = new StorageVolume(dir, { reserveBytes: MIB, freeBytes: () => 0 });
    // A directory that cannot take the file stands for a volume without room.
    await Deno.mkdir(`${dir}/${RESERVE_FILE_NAME}`);
    await volume.open();
    assert.ok(!volume.full && !volume.reserveHeld);
    volume.reportFull();
    assert.ok(volume.full);
    assert.equal(await volume.probe(), false);
    volume.resume();
    assert.ok(!volume.full && !volume.reserveHeld);
  });
});

Deno.test("reserve 0 writes no file and removes an old one", async () => {
  await withDir(async (dir) => {
    await Deno.writeFile(`${dir}/${RESERVE_FILE_NAME}`, new Uint8Array(10));
    const volume = new StorageVolume(dir, { freeBytes: () => 10 * MIB });
    await volume.open();
    assert.equal(await sizeOf(`${dir}/${RESERVE_FILE_NAME}`), undefined);
    volume.reportFull();
    assert.ok(volume.full);
    assert.equal(await volume.probe(), true, "room for a commit is enough without a reserve");
  });
});

Deno.test("the derived budget is half of the free space and the database's files less a WAL's worth", async () => {
  await withDir(async (dir) => {
    await Deno.writeFile(`${dir}/tfo.kv`, new Uint8Array(2 * MIB));
    await Deno.writeFile(`${dir}/tfo.kv-wal`, new Uint8Array(1 * MIB));
    const volume = new StorageVolume(dir, { freeBytes: () => 100 * MIB });
    const budget = volume.budget()!;
    assert.equal(budget.limit, Math.floor((103 * MIB - WAL_ALLOWANCE_BYTES) / 2));
    assert.equal(volume.budget(), budget, "one budget shared by every queue");
    const tiny = new StorageVolume(dir, { freeBytes: () => 0, databaseFile: "other.kv" });
    assert.equal(tiny.budget()!.limit, MIN_BUDGET_BYTES);
    assert.equal(new StorageVolume(dir, { freeBytes: () => undefined }).budget(), undefined);
  });
});

Deno.test("a byte budget counts what its writers hold", () => {
  const budget = new ByteBudget(100);
  assert.ok(budget.fits(100));
  budget.add(60);
  assert.ok(budget.fits(40) && !budget.fits(41));
  budget.add(-60);
  budget.add(-5);
  assert.equal(budget.used, 0);
});

Deno.test("openKvStore writes the reserve it is asked for and exposes the volume", async () => {
  await withDir(async (dir) => {
    const store = await openKvStore(dir, { reserveBytes: 64 * 1024 });
    try {
      assert.equal(store.volume.directory, dir);
      assert.ok(store.volume.reserveHeld);
      assert.equal(await sizeOf(`${dir}/${RESERVE_FILE_NAME}`), 64 * 1024);
    } finally {
      store.close();
    }
  });
});
