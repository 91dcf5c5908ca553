/** Assertions about LadingErrors: that a call fails with a code (and a message), the way a user would see it. */
import assert from 'node:assert/strict';
import { isLadingError, type LadingError } from '../../src/util/errors.ts';

function check(e: unknown, code: string, message?: RegExp): e is LadingError {
  assert.ok(isLadingError(e), `not a LadingError: ${e}`);
  assert.equal(e.code, code, e.message);
  if (message) assert.match(e.message, message);
  return true;
}

/** `fn` throws a LadingError with this code (and a message matching `message`). */
export function throwsCode(fn: () => unknown, code: string, message?: RegExp): void {
  assert.throws(fn, (e: unknown) => check(e, code, message));
}

/** The promise (or async function) rejects with a LadingError with this code (and message). */
export async function rejectsCode(
  promise: Promise<unknown> | (() => Promise<unknown>),
  code: string,
  message?: RegExp,
): Promise<void> {
  await assert.rejects(promise, (e: unknown) => check(e, code, message));
}
