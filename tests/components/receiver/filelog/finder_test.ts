/**
 * The file finder keeps each directory's listing between passes and lists it again only when the
 * directory's times moved; these tests check that every change a poll must see is still seen on
 * the very next pass, also once the directories have settled (no change for over a second, when
 * kept listings are reused).
 */
import assert from "node:assert/strict";
import {
  compileGlob,
  createFileFinder,
  SETTLED_MS,
} from "../../../../components/receiver/filelog/_finder.ts";

const settle = () => new Promise((resolve) => setTimeout(resolve, SETTLED_MS + 100));

Deno.test("file finder sees files created, renamed and removed in a settled directory on the next pass", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tfo-finder-" });
  try {
    await Deno.writeTextFile(`${dir}/a.log`, "a\n");
    await Deno.writeTextFile(`${dir}/skip.txt`, "");
    const finder = createFileFinder([compileGlob(`${dir}/*.log`)], []);
    assert.deepEqual(await finder.find(), [`${dir}/a.log`]);
    await settle();
    assert.deepEqual(await finder.find(), [`${dir}/a.log`]);
    assert.deepEqual(await finder.find(), [`${dir}/a.log`]);
    // Rotation: rename, then a new file of the old name.
    await Deno.rename(`${dir}/a.log`, `${dir}/a.1.log`);
    assert.deepEqual(await finder.find(), [`${dir}/a.1.log`]);
    await Deno.writeTextFile(`${dir}/a.log`, "");
    assert.deepEqual(await finder.find(), [`${dir}/a.1.log`, `${dir}/a.log`]);
    await settle();
    assert.deepEqual(await finder.find(), [`${dir}/a.1.log`, `${dir}/a.log`]);
    await Deno.remove(`${dir}/a.1.log`);
    assert.deepEqual(await finder.find(), [`${dir}/a.log`]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("file finder sees a missing directory appear, levels at a time, and go away", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tfo-finder-" });
  try {
    const finder = createFileFinder([compileGlob(`${dir}/a/b/*.log`)], [
      compileGlob(`${dir}/a/b/x*.log`),
    ]);
    assert.deepEqual(await finder.find(), []);
    await settle();
    assert.deepEqual(await finder.find(), []);
    await Deno.mkdir(`${dir}/a`);
    assert.deepEqual(await finder.find(), []);
    await settle();
    assert.deepEqual(await finder.find(), []);
    await Deno.mkdir(`${dir}/a/b`);
    await Deno.writeTextFile(`${dir}/a/b/one.log`, "");
    await Deno.writeTextFile(`${dir}/a/b/x.log`, "");
    assert.deepEqual(await finder.find(), [`${dir}/a/b/one.log`]);
    await Deno.remove(`${dir}/a`, { recursive: true });
    assert.deepEqual(await finder.find(), []);
    await settle();
    await Deno.mkdir(`${dir}/a/b`, { recursive: true });
    await Deno.writeTextFile(`${dir}/a/b/two.log`, "");
    assert.deepEqual(await finder.find(), [`${dir}/a/b/two.log`]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("file finder sees new subdirectories and symbolic links below a settled directory", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tfo-finder-" });
  try {
    await Deno.mkdir(`${dir}/logs/app`, { recursive: true });
    await Deno.writeTextFile(`${dir}/logs/app/a.log`, "");
    const deep = createFileFinder([compileGlob(`${dir}/logs/**/*.log`)], []);
    const one = createFileFinder([compileGlob(`${dir}/logs/*/*.log`)], []);
    assert.deepEqual(await deep.find(), [`${dir}/logs/app/a.log`]);
    assert.deepEqual(await one.find(), [`${dir}/logs/app/a.log`]);
    await settle();
    assert.deepEqual(await deep.find(), [`${dir}/logs/app/a.log`]);
    assert.deepEqual(await one.find(), [`${dir}/logs/app/a.log`]);
    await Deno.mkdir(`${dir}/logs/db/old`, { recursive: true });
    await Deno.writeTextFile(`${dir}/logs/db/old/b.log`, "");
    await Deno.writeTextFile(`${dir}/logs/db/c.log`, "");
    await Deno.writeTextFile(`${dir}/target.log`, "");
    await Deno.symlink(`${dir}/target.log`, `${dir}/logs/app/link.log`);
    assert.deepEqual(await deep.find(), [
      `${dir}/logs/app/a.log`,
      `${dir}/logs/app/link.log`,
      `${dir}/logs/db/c.log`,
      `${dir}/logs/db/old/b.log`,
    ]);
    assert.deepEqual(await one.find(), [
      `${dir}/logs/app/a.log`,
      `${dir}/logs/app/link.log`,
      `${dir}/logs/db/c.log`,
    ]);
    // A link's target going away is seen without any change to the link's directory.
    await settle();
    await one.find();
    await Deno.remove(`${dir}/target.log`);
    assert.deepEqual(await one.find(), [`${dir}/logs/app/a.log`, `${dir}/logs/db/c.log`]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("file finder sees the target of a dangling link to its directory appear on the next pass", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tfo-finder-" });
  const elsewhere = await Deno.makeTempDir({ prefix: "tfo-finder-target-" });
  try {
    await Deno.symlink(`${elsewhere}/app`, `${dir}/app`);
    const finder = createFileFinder([compileGlob(`${dir}/app/*.log`)], []);
    assert.deepEqual(await finder.find(), []);
    await settle();
    assert.deepEqual(await finder.find(), []);
    await Deno.mkdir(`${elsewhere}/app`);
    await Deno.writeTextFile(`${elsewhere}/app/a.log`, "");
    assert.deepEqual(await finder.find(), [`${dir}/app/a.log`]);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(elsewhere, { recursive: true });
  }
});
