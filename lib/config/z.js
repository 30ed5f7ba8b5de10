// @ts-self-types="./z.d.ts"
/**
 * The `z` every config schema is built with: zod's `z` in types, a lazily loading stand-in at
 * run time (see `./zod.ts`). `import { z } from "../lib/config/z.js"` instead of `from "zod"`.
 *
 * @module
 */
export { lazyZ as z } from "./zod.ts";
