/**
 * The command line `tfo run` starts itself again with when `service.workers` is 2 or more
 * (`lib/host/young_gen.ts`), and the Deno behaviour it rests on: the last `--v8-flags` value of a
 * `deno run` command line sets the semi-space cap.
 */
import assert from "node:assert/strict";
import {
  type ProcessView,
  reexecArgv,
  WORKERS_SEMI_SPACE_MIB,
} from "../../../lib/host/young_gen.ts";

const FLAG = `--v8-flags=--max-semi-space-size=${WORKERS_SEMI_SPACE_MIB}`;
const START = [
  "/usr/bin/deno",
  "run",
  "--allow-all",
  "--v8-flags=--max-semi-space-size=2",
  "main.ts",
  "run",
  "--config",
  "c.yaml",
];

function view(over: Partial<ProcessView> = {}): ProcessView {
  return {
    standalone: false,
    cmdline: START,
    args: ["run", "--config", "c.yaml"],
    marker: undefined,
    ...over,
  };
}

Deno.test("reexecArgv puts the flag after deno's own flags, before the script", () => {
  assert.deepEqual(reexecArgv(view()), [
    "/usr/bin/deno",
    "run",
    "--allow-all",
    "--v8-flags=--max-semi-space-size=2",
    FLAG,
    "main.ts",
    "run",
    "--config",
    "c.yaml",
  ]);
});

Deno.test("reexecArgv keeps script arguments that look like deno flags as the script's", () => {
  const cmdline = ["deno", "run", "-A", "main.ts", "run", "--v8-flags=x", "--config", "a"];
  const argv = reexecArgv(view({ cmdline, args: cmdline.slice(4) }));
  assert.deepEqual(argv, ["deno", "run", "-A", FLAG, "main.ts", ...cmdline.slice(4)]);
});

Deno.test("reexecArgv gives nothing where the process cannot or need not start again", () => {
  assert.equal(reexecArgv(view({ standalone: true })), undefined, "compiled binary");
  assert.equal(reexecArgv(view({ marker: "1" })), undefined, "already re-executed");
  assert.equal(reexecArgv(view({ marker: "" })), undefined, "turned off");
  assert.equal(reexecArgv(view({ cmdline: undefined })), undefined, "no /proc");
  const again = reexecArgv(view())!;
  assert.equal(reexecArgv(view({ cmdline: again })), undefined, "the flag is there");
  assert.equal(
    reexecArgv(view({ cmdline: ["deno", "eval", "x"], args: [] })),
    undefined,
    "not deno run",
  );
  assert.equal(
    reexecArgv(view({ cmdline: ["deno", "run", "main.ts", "run", "-c", "b"] })),
    undefined,
    "arguments differ from Deno.args",
  );
  assert.equal(reexecArgv(view({ cmdline: ["deno"], args: [] })), undefined, "too short");
});

Deno.test({
  name: "the last --v8-flags of deno run sets the young generation (what the re-exec relies on)",
  ignore: Deno.build.os !== "linux",
  async fn() {
    // Garbage that survives a few scavenges makes V8 grow the semi-spaces to their cap.
    const script = `import v8 from "node:v8";
let keep = [];
for (let i = 0; i < 3e6; i++) { keep.push({ a: i, b: [i] }); if (keep.length > 20000) keep = []; }
const space = v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space");
console.log(space.space_size);`;
    const dir = await Deno.makeTempDir({ prefix: "tfo-young-" });
    const path = `${dir}/alloc.ts`;
    await Deno.writeTextFile(path, script);
    const newSpace = async (flags: string[]) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", ...flags, path],
      }).output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      return Number(new TextDecoder().decode(out.stdout).trim()) / (1 << 20);
    };
    try {
      const small = await newSpace(["--v8-flags=--max-semi-space-size=2"]);
      const big = await newSpace(["--v8-flags=--max-semi-space-size=2", FLAG]);
      // Capped at 2 MiB per semi-space the new space stays at 3.5–4 MiB; uncapped it reaches 32.
      assert.ok(small < 8, `capped at 2 MiB per semi-space: new space ${small} MiB`);
      assert.ok(big > 8, `the later flag wins: new space ${big} MiB`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
