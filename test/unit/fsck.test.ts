import { describe, expect, it } from 'vitest';
import { fsckExitMeaning, fsckStatusFromLog } from '../../src/core/fsck';

describe('fsck exit codes', () => {
  it.each([
    [0, 'no errors'],
    [1, 'errors corrected'],
    [4, 'errors left uncorrected'],
    [3, 'errors corrected, system should be rebooted'],
    [12, 'errors left uncorrected, operational error'],
    [64, 'exit 64'],
  ])('%i -> %s', (code, text) => {
    expect(fsckExitMeaning(code)).toBe(text);
  });
  it('reads the status systemd-fsck reports', () => {
    expect(fsckStatusFromLog('something\nfsck failed with exit status 4.\n')).toBe(4);
    expect(fsckStatusFromLog('fsck terminated by signal KILL.')).toBeNull();
  });
});
