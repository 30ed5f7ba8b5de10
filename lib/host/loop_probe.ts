/**
 * {@linkcode startLoopProbe}: a measurement aid, off unless `TFO_LOOP_PROBE` names a file. For
 * the first seconds of the process a 1 ms interval timer notes every tick that came late by more
 * than a threshold (the event loop was blocked, or the process was not scheduled), and at the end
 * of the window writes them as JSON lines to that file: `{"at_ms": …, "late_ms": …}`, `at_ms`
 * being when the late tick was due, in ms since the process began (`performance.now()`), with
 * the {@linkcode markLoopProbe} marks among them (`{"at_ms": …, "mark": …}`) after a first line
 * `{"origin_epoch_ms": …}` (`performance.timeOrigin`, to line it up with a client's clock).
 * bench/RESULTS.md ("Request latency with the seed batch settings") reads it to tell which
 * start-up work lands among the first client requests. A process that ends within the window
 * writes what it has when it exits.
 *
 * The record is a fixed-size typed array, so the probe allocates nothing per tick.
 *
 * @module
 */

/** Options of {@linkcode startLoopProbe}. */
export interface LoopProbeOptions {
  /** How long the probe runs from its start. @default 5000 */
  windowMs?: number;
  /** A tick later than this is recorded. @default 2 */
  thresholdMs?: number;
}

/** The most late ticks one window records. */
const MAX_RECORDS = 4096;

/** Named instants while a probe runs; `undefined` when none runs. */
let marks: { at: number; name: string }[] | undefined;

/** Notes a named instant in a running probe's record (nothing when none runs). */
export function markLoopProbe(name: string): void {
  if (marks !== undefined && marks.length < 64) marks.push({ at: performance.now(), name });
}

/**
 * Starts the probe when the environment variable `TFO_LOOP_PROBE` names a file; does nothing
 * otherwise (or without the permission to read it). The timer is unref'd: it never keeps the
 * process alive.
 */
export function startLoopProbe(options: LoopProbeOptions = {}): void {
  let env: string | undefined;
  try {
    env = Deno.env.get("TFO_LOOP_PROBE");
  } catch {
    return;
  }
  if (env === undefined || env === "") return;
  const path = env;
  const windowMs = options.windowMs ?? 5000;
  const threshold = options.thresholdMs ?? 2;
  const records = new Float64Array(MAX_RECORDS * 2);
  let count = 0;
  const start = performance.now();
  let last = start;
  marks = [];
  const timer = setInterval(() => {
    const now = performance.now();
    const late = now - last - 1;
    last = now;
    if (late > threshold && count < MAX_RECORDS) {
      records[count * 2] = now - late;
      records[count * 2 + 1] = late;
      count++;
    }
    if (now - start >= windowMs) flush();
  }, 1);
  Deno.unrefTimer(timer);
  // A process that ends within the window writes what it has.
  globalThis.addEventListener("unload", flush);
  function flush(): void {
    if (marks === undefined) return;
    clearInterval(timer);
    const lines = [JSON.stringify({ origin_epoch_ms: Math.round(performance.timeOrigin) })];
    for (const m of marks!) lines.push(JSON.stringify({ at_ms: Math.round(m.at), mark: m.name }));
    marks = undefined;
    for (let i = 0; i < count; i++) {
      lines.push(JSON.stringify({
        at_ms: Math.round(records[i * 2]!),
        late_ms: Math.round(records[i * 2 + 1]! * 10) / 10,
      }));
    }
    try {
      Deno.writeTextFileSync(path, lines.join("\n") + "\n");
    } catch {
      // A measurement aid: a path that cannot be written loses only the measurement.
    }
  }
}
