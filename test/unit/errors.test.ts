import { describe, expect, test } from 'vitest';
import {
  BusyError, EXIT, ImgbasedError, NotFoundError, UsageError, exitCodeOf, formatError, isImgbasedError, oneLine,
} from '../../src/core/errors';

describe('errors', () => {
  test.each([
    [new ImgbasedError('x'), 1, 'ImgbasedError'],
    [new UsageError('x'), 2, 'UsageError'],
    [new NotFoundError('x'), 3, 'NotFoundError'],
    [new BusyError('x'), 4, 'BusyError'],
  ])('%s has exit code %i', (e, code, name) => {
    expect(e.exitCode).toBe(code);
    expect(e.name).toBe(name);
    expect(e).toBeInstanceOf(ImgbasedError);
    expect(e).toBeInstanceOf(Error);
    expect(isImgbasedError(e)).toBe(true);
    expect(exitCodeOf(e)).toBe(code);
  });

  test('exit codes', () => {
    expect(EXIT).toEqual({ ok: 0, failed: 1, usage: 2, notFound: 3, busy: 4 });
    expect(exitCodeOf(new Error('boom'))).toBe(1);
    expect(exitCodeOf('string')).toBe(1);
  });

  test('formatError gives one line with the hint', () => {
    expect(formatError(new NotFoundError('base Foo-1-0 not found', { hint: 'see imgbase layout --bases' })))
      .toBe('imgbase: base Foo-1-0 not found; see imgbase layout --bases');
    expect(formatError(new UsageError('bad\nname\t x'))).toBe('imgbase: bad name x');
    expect(formatError(new Error('ENOENT: no such file'), 'imgbase initrd')).toBe('imgbase initrd: internal error: ENOENT: no such file');
    expect(formatError(42)).toBe('imgbase: internal error: 42');
  });

  test('cause is kept', () => {
    const cause = new Error('lvcreate failed');
    expect(new ImgbasedError('cannot add base', { cause }).cause).toBe(cause);
    expect(new ImgbasedError('no cause')).not.toHaveProperty('cause');
  });

  test('oneLine', () => {
    expect(oneLine('  a\n\n b  ')).toBe('a b');
  });
});
