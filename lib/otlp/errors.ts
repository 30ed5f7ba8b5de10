/**
 * The error every OTLP decoder throws on malformed input.
 *
 * @module
 */

/**
 * Malformed OTLP input: truncated or invalid protobuf, invalid JSON, or a value of the wrong shape.
 * Receivers answer it with 400 / `INVALID_ARGUMENT`.
 */
export class OtlpDecodeError extends Error {
  /** Creates the error; `cause` is the underlying error, if any. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "OtlpDecodeError";
  }
}
