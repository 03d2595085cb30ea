/**
 * Invariant checks that stay on in production.
 *
 * A failed assertion means a bug or a broken invariant (a crossed book, a negative
 * balance, a hold that does not add up): it throws, the owning actor crashes, and the
 * supervisor restarts it from valid state. Expected outcomes never use this.
 */

/** Thrown when an invariant of the exchange core does not hold. */
export class InvariantError extends Error {
  constructor(message: string) {
    super(`Invariant violated: ${message}`);
    this.name = "InvariantError";
  }
}

/** Throws an {@link InvariantError} with `message` unless `condition` holds. */
export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new InvariantError(message);
}

/**
 * Throws an {@link InvariantError}. For hot paths, write `if (!cond) fail(\`...\`)`: the
 * message is then built only when the invariant is broken, not on every check.
 */
export function fail(message: string): never {
  throw new InvariantError(message);
}
