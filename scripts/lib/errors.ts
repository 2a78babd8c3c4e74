/**
 * A mistake the user can fix (bad argument, missing file, the server refusing a request). The CLI
 * prints its message as one line and exits 1; anything else is a bug and prints its stack.
 */
export class UserError extends Error {
  override name = 'UserError';
}

/** The message of a caught value, for wrapping into a UserError. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
