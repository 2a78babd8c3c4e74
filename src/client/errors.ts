/** The SDK's one error type: every refusal and failure carries a stable code (docs/client.md). */
import type { UpdraftErrorCode } from './types.ts';

/** A refusal or failure, with a stable `code`. */
export class UpdraftError extends Error {
  readonly code: UpdraftErrorCode;

  constructor(code: UpdraftErrorCode, message: string) {
    super(message);
    this.name = 'UpdraftError';
    this.code = code;
  }
}

/** The message of anything thrown, for wrapping it in an `UpdraftError`. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
