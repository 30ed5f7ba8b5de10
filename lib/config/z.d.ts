/**
 * Types of `./z.js`: exactly zod's `z`, value and namespace (`z.output<typeof schema>`), though
 * at run time it only loads the library once `loadZod()` (`./zod.ts`) has run.
 *
 * @module
 */
export { z } from "zod";
