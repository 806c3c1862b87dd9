// Typed errors with exit codes. Code deep inside throws; only main's single top-level catch turns an error into
// a message line and an exit status, so nothing calls process.exit on its own.

/** Exit statuses shared by every verb (documented in README). 1 is also "check: degraded". */
export const EXIT = { ok: 0, failed: 1, usage: 2, notFound: 3, busy: 4 } as const;

export interface ErrorOptions {
  /** What the user can do about it; appended to the one-line message. */
  hint?: string;
  cause?: unknown;
}

/** An operation failed (exit 1). */
export class ImgbasedError extends Error {
  exitCode: number = EXIT.failed;
  hint: string | undefined;
  constructor(message: string, opts: ErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.hint = opts.hint;
  }
}

/** Bad arguments or names (exit 2). */
export class UsageError extends ImgbasedError {
  override exitCode: number = EXIT.usage;
}

/** A named base, layer or VG does not exist (exit 3). */
export class NotFoundError extends ImgbasedError {
  override exitCode: number = EXIT.notFound;
}

/** The lock is held or the thing is in use (exit 4). */
export class BusyError extends ImgbasedError {
  override exitCode: number = EXIT.busy;
}

export function isImgbasedError(e: unknown): e is ImgbasedError {
  return e instanceof ImgbasedError;
}

/** Exit status for any thrown value: ours carry one, anything else is an internal failure (1). */
export function exitCodeOf(e: unknown): number {
  return isImgbasedError(e) ? e.exitCode : EXIT.failed;
}

/**
 * One line for stderr/the journal: "imgbase: <what failed>; <what to do>". Newlines are folded because a
 * multi-line message breaks log parsers and the initramfs console. Foreign errors keep their message so an
 * unexpected failure is still diagnosable without --debug.
 */
export function formatError(e: unknown, prog = 'imgbase'): string {
  let msg: string;
  if (e instanceof Error) {
    msg = e.message || e.name;
    if (isImgbasedError(e) && e.hint) msg += `; ${e.hint}`;
    else if (!isImgbasedError(e)) msg = `internal error: ${msg}`;
  } else {
    msg = `internal error: ${String(e)}`;
  }
  return `${prog}: ${oneLine(msg)}`;
}

/** Collapse whitespace runs (including newlines) to single spaces. */
export function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}
