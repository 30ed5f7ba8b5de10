/**
 * A child process for `bench/tenancy_rate_limit_bench.ts`: one tenant sending OTLP/HTTP traces at
 * `rate` requests per second (spread over `workers` connections, each on a fixed schedule) for
 * `seconds`, in its own process so that its load does not delay the measuring process's event
 * loop. Prints one JSON line: `{requests, refused429}`.
 *
 * ```sh
 * deno run -A bench/_tenant_flood.ts URL TENANT WORKERS RATE SECONDS BODY_FILE
 * ```
 *
 * @module
 */
const [url, tenant, workers, rate, seconds, bodyFile] = Deno.args;
const body = await Deno.readFile(bodyFile!);
const deadline = Date.now() + Number(seconds) * 1000;
const intervalMs = (1000 * Number(workers)) / Number(rate);
let requests = 0;
let refused429 = 0;
await Promise.all(Array.from({ length: Number(workers) }, async (_, w) => {
  let next = Date.now() + (w * intervalMs) / Number(workers);
  while (Date.now() < deadline) {
    const wait = next - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    next += intervalMs;
    const res = await fetch(url!, {
      method: "POST",
      headers: { "content-type": "application/x-protobuf", "x-tenant-id": tenant! },
      body,
    });
    await res.body?.cancel();
    requests++;
    if (res.status === 429) refused429++;
  }
}));
console.log(JSON.stringify({ requests, refused429 }));
