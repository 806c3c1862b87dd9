// Acceptance (issue 2): a guest that never reports is killed at its timeout, and the failure carries the serial tail.
import { expect, inject, test } from 'vitest';
import { boot, expectDone, overlay, tail } from './lab/index.js';

test('a hanging guest is killed at the timeout and the failure shows the serial tail', async () => {
  const lab = inject('lab');
  const disk = await overlay(lab.hostDisk, 'lab-timeout');
  const r = await boot({
    name: 'lab-timeout',
    disk,
    kernel: lab.kernel,
    initrd: lab.initrd,
    append: lab.hostAppend,
    timeoutS: 40,
    script: 'mark hang start\necho "lab: hanging on purpose"\nsleep infinity\n',
  });
  expect(r.timedOut).toBe(true);
  expect(r.durationS).toBeLessThan(40 + 15);
  expect(r.rc).toBeNull();
  const lastLine = tail(r.log, 1);
  expect(lastLine.length).toBeGreaterThan(0);
  let message = '';
  try {
    expectDone(r);
  } catch (e) {
    message = (e as Error).message;
  }
  expect(message).toContain('TIMED OUT');
  expect(message).toContain('last 40 serial lines');
  expect(message).toContain(lastLine);
});
