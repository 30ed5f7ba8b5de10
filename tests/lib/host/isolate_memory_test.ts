import assert from "node:assert/strict";
import {
  clearMemorySlot,
  createMemoryBoard,
  joinMemoryBoard,
  leaveMemoryBoard,
  readOwnLiveMemory,
  readProcessLiveMemory,
} from "../../../lib/host/isolate_memory.ts";

const MIB = 1024 * 1024;
const MODULE = new URL("../../../lib/host/isolate_memory.ts", import.meta.url).href;

/** A worker that holds `mib` MiB of external memory and joins the board in slot 1. */
function startHoldingWorker(board: SharedArrayBuffer, mib: number): Promise<Worker> {
  const code = `import { joinMemoryBoard } from ${JSON.stringify(MODULE)};
    let held;
    self.onmessage = (event) => {
      held = new Uint8Array(${mib} * 1024 * 1024).fill(1);
      joinMemoryBoard(event.data, 1);
      self.postMessage("joined");
    };`;
  const url = URL.createObjectURL(new Blob([code], { type: "text/javascript" }));
  const worker = new Worker(url, { type: "module" });
  return new Promise((resolve, reject) => {
    worker.onmessage = () => resolve(worker);
    worker.onerror = (event) => reject(new Error(event.message));
    worker.postMessage(board);
  });
}

Deno.test("without a board, the process's live memory is this isolate's", () => {
  leaveMemoryBoard();
  const own = readOwnLiveMemory();
  const read = readProcessLiveMemory();
  assert.ok(Math.abs(read - own) < 16 * MIB, `${read} vs ${own}`);
});

Deno.test("a worker's memory counts in the process's live memory, and not once its slot is cleared", async () => {
  const board = createMemoryBoard(2);
  joinMemoryBoard(board, 0);
  const worker = await startHoldingWorker(board, 64);
  try {
    const own = readOwnLiveMemory();
    const total = readProcessLiveMemory();
    // Per-isolate measurement would miss the worker's 64 MiB.
    assert.ok(total >= own + 60 * MIB, `total ${total / MIB} MiB, own ${own / MIB} MiB`);
    worker.terminate();
    clearMemorySlot(board, 1);
    const after = readProcessLiveMemory();
    assert.ok(after < own + 32 * MIB, `after clearing: ${after / MIB} MiB, own ${own / MIB} MiB`);
  } finally {
    worker.terminate();
    leaveMemoryBoard();
  }
  assert.equal(new Int32Array(board)[0], 0);
});

Deno.test("joining a slot the board does not have is an error", () => {
  assert.throws(() => joinMemoryBoard(createMemoryBoard(2), 2), RangeError);
  leaveMemoryBoard();
});
