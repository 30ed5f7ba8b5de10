/** Moved to `tests/fixtures/fake_clock.ts`; re-exported for the exporter helper tests. */
export { FakeClock, settle } from "../../fixtures/fake_clock.ts";
