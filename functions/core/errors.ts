/**
 * Errors whose `name` is what Step Functions shows as the execution's error, so operators and
 * Catch/Retry rules can tell them apart. Messages say what is wrong and what to do.
 */

/** Bad execution input: the cause names the field and why. Never retried. */
export class InvalidInputError extends Error {
  override readonly name = 'InvalidInput';
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}

/** The source database does not have the shape the contract promises (missing table/column, wrong type). */
export class SourceSchemaError extends Error {
  override readonly name = 'SourceSchemaError';
}

/**
 * Two entities (banks for the loan extract) fold to one file name, or a name folds to nothing:
 * nothing may be published.
 */
export class EntityNamingError extends Error {
  override readonly name = 'EntityNamingError';
}

/**
 * A Lambda's payload does not have the shape its state sends: a wiring bug, or an input edited by
 * hand. The message names each bad field. Not in any Retry list: the same payload fails the same way.
 */
export class InvalidPayloadError extends Error {
  override readonly name = 'InvalidPayload';
}
