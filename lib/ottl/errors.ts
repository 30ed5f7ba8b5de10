/**
 * The error every OTTL parse or compile failure throws: a message and the offset of the offending
 * character within the statement or condition text.
 *
 * @module
 */

/** An OTTL syntax or compile error at `offset` (UTF-16 code units into the statement text). */
export class OttlError extends Error {
  /** Where in the statement text the problem is. */
  readonly offset: number;
  constructor(message: string, offset: number, options?: ErrorOptions) {
    super(message, options);
    this.name = "OttlError";
    this.offset = offset;
  }
}

/** A failure while a compiled statement runs on one item; handled by the caller's `error_mode`. */
export class OttlRuntimeError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "OttlRuntimeError";
  }
}
