/** The file exporter's rotating writer: backups by age (`max_days`) and local-time names. */
import assert from "node:assert/strict";
import { backupTimestamp, FileWriter } from "../../../../components/exporter/file/_writer.ts";

const DAY = 86_400_000;

Deno.test("max_days removes backups older than that many days when the file rotates", async () => {
  const dir = await Deno.makeTempDir();
  const now = Date.UTC(2026, 0, 10, 12, 0, 0, 0);
  const old = `spans-${backupTimestamp(now - 3 * DAY, false)}-size.json`;
  const recent = `spans-${backupTimestamp(now - DAY / 2, false)}-size.json`;
  const unrelated = "spans-notatime-size.json";
  for (const f of [old, recent, unrelated]) await Deno.writeTextFile(`${dir}/${f}`, "x\n");
  await Deno.writeTextFile(`${dir}/spans.json`, "y".repeat(1024 * 1024));
  const writer = new FileWriter(`${dir}/spans.json`, {
    append: false,
    rotation: { max_megabytes: 1, max_days: 2, max_backups: 0, localtime: false },
    syncIntervalMs: 0,
    now: () => now,
  });
  await writer.write(new TextEncoder().encode("new record\n"));
  await writer.close();
  const files: string[] = [];
  for await (const e of Deno.readDir(dir)) files.push(e.name);
  assert.deepEqual(
    files.sort(),
    [
      recent,
      unrelated,
      "spans-2026-01-10T12-00-00.000-size.json",
      "spans.json",
    ].sort(),
  );
  assert.equal(await Deno.readTextFile(`${dir}/spans.json`), "new record\n");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("backup names use UTC unless localtime", () => {
  const t = Date.UTC(2022, 8, 14, 5, 2, 14, 173);
  assert.equal(backupTimestamp(t, false), "2022-09-14T05-02-14.173");
  const d = new Date(t);
  const p = (n: number) => String(n).padStart(2, "0");
  const local = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}-` +
    `${p(d.getMinutes())}-14.173`;
  assert.equal(backupTimestamp(t, true), local);
});
