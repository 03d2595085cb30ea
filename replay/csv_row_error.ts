/**
 * The one error the replay's input side throws: a file, a line and what is wrong with it,
 * printed as `file:line: reason` (or `file: reason` when no line applies).
 */

/** Thrown for a missing input or a malformed row; `message` is ready to print. */
export class ReplayInputError extends Error {
  constructor(readonly path: string, readonly line: number | null, readonly reason: string) {
    super(line === null ? `${path}: ${reason}` : `${path}:${line}: ${reason}`);
    this.name = "ReplayInputError";
  }
}
