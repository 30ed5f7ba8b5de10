/**
 * The process scraper reads a process's executable once and keeps it while the PID is the same
 * process. These tests change a fake host between two scrapes (an `exec`, a PID reused, a command
 * line rewritten in place) and check that the scraper that kept what it read emits exactly what a
 * new scraper, reading everything, emits on the same host state.
 */
import assert from "node:assert/strict";
import { readKernelStat } from "../../../../lib/host/cpu.ts";
import { readMemInfo } from "../../../../lib/host/memory.ts";
import { readProcStats } from "../../../../lib/host/process.ts";
import type { ResourceMetrics } from "../../../../lib/pdata/types.ts";
import type { ScrapeContext } from "../../../../components/receiver/hostmetrics/_scraper.ts";
import {
  createProcessScraper,
  processConfigSchema,
} from "../../../../components/receiver/hostmetrics/scrapers/process.ts";
import { makeFakeRoot, procStatLine } from "../../../lib/host/_fake_root.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

function context(root: string): ScrapeContext {
  return {
    root,
    bootTime: () => Promise.resolve(1_700_000_000n * 1_000_000_000n),
    kernelStat: () => readKernelStat(root),
    memInfo: () => readMemInfo(root),
    processStats: () => readProcStats(root),
  };
}

/** Resources and their metrics without timestamps, by PID, plus the error messages. */
async function scrapeShape(
  scraper: ReturnType<typeof createProcessScraper>,
  root: string,
): Promise<unknown> {
  const r = await scraper.scrape(context(root));
  const byPid = (rm: ResourceMetrics) =>
    String(rm.resource.attributes.find((a) => a.key === "process.pid")?.value);
  return {
    errors: r.errors.map((e) => e.message).sort(),
    resources: Object.fromEntries(r.resources.map((rm) => [byPid(rm), {
      attributes: rm.resource.attributes.map((a) => [a.key, a.value]),
      metrics: rm.scopeMetrics.flatMap((sm) =>
        sm.metrics.map((m) => {
          const d = m.data as { dataPoints: { attributes: unknown; value: unknown }[] };
          return [m.name, d.dataPoints.map((p) => [p.attributes, p.value])];
        })
      ),
    }])),
  };
}

async function replaceLink(target: string, path: string): Promise<void> {
  await Deno.remove(path);
  await Deno.symlink(target, path);
}

const config = processConfigSchema.parse({});

Deno.test("process scraper: after exec, PID reuse and a rewritten command line it emits what a new scraper emits", async () => {
  const root = await makeFakeRoot();
  const proc = `${root}/proc`;
  try {
    // A kernel thread: no executable, no command line.
    await Deno.mkdir(`${proc}/2`);
    await Deno.writeTextFile(
      `${proc}/2/stat`,
      procStatLine(2, "kthreadd", { 3: "S", 9: 0x00208040, 22: 1 }),
    );
    await Deno.writeTextFile(
      `${proc}/2/status`,
      "Name:\tkthreadd\nUid:\t0\t0\t0\t0\nThreads:\t1\n",
    );
    await Deno.writeTextFile(`${proc}/2/cmdline`, "");
    await Deno.writeTextFile(`${proc}/2/io`, "rchar: 0\nwchar: 0\nsyscr: 0\nsyscw: 0\n");
    // Argument addresses as a permitted reader sees them.
    const server = (argStart: number, comm: string, start: number) =>
      procStatLine(100, comm, {
        3: "S",
        4: 1,
        14: 1500,
        15: 250,
        20: 4,
        22: start,
        48: argStart,
        49: argStart + 32,
      });
    await Deno.writeTextFile(`${proc}/100/stat`, server(140_000_000_000_000, "my server", 12000));

    const kept = createProcessScraper(config);
    const first = await scrapeShape(kept, root);
    assert.deepEqual(first, await scrapeShape(createProcessScraper(config), root));

    // 100 rewrites its command line in place (as PostgreSQL does); 200 execs another program
    // under the same command name (only its argument addresses tell).
    // The kernel thread renames itself (as a kworker does with each work queue).
    await Deno.writeTextFile(
      `${proc}/2/stat`,
      procStatLine(2, "kworker/0:1-events", { 3: "S", 9: 0x00208040, 22: 1 }),
    );
    await Deno.writeTextFile(`${proc}/100/cmdline`, "my-server: idle\0");
    await replaceLink("/usr/bin/bash5", `${proc}/200/exe`);
    await Deno.writeTextFile(
      `${proc}/200/stat`,
      procStatLine(200, "bash", { 3: "R", 4: 100, 20: 1, 22: 50000, 48: 4096, 49: 4200 }),
    );
    const second = await scrapeShape(kept, root);
    assert.deepEqual(second, await scrapeShape(createProcessScraper(config), root));
    assert.notDeepEqual(second, first);

    // PID 100 exits and the PID is reused by a new process with the same name and addresses.
    await replaceLink("/opt/other/my-server", `${proc}/100/exe`);
    await Deno.writeTextFile(`${proc}/100/stat`, server(140_000_000_000_000, "my server", 99000));
    const third = await scrapeShape(kept, root);
    assert.deepEqual(third, await scrapeShape(createProcessScraper(config), root));
    assert.notDeepEqual(third, second);

    // An executable that cannot be read is reported on every scrape, as when it was read again.
    await Deno.remove(`${proc}/100/exe`);
    await Deno.writeTextFile(`${proc}/100/stat`, server(150_000_000_000_000, "my server", 99000));
    const fourth = await scrapeShape(kept, root);
    assert.deepEqual(fourth, await scrapeShape(createProcessScraper(config), root));
    assert.deepEqual(await scrapeShape(kept, root), fourth);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
