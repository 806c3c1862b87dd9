import { describe, expect, it } from 'vitest';
import { kernelCrashed, type BootResult } from '../vm/lab/runner.js';

const result = (log: string, over: Partial<BootResult> = {}): BootResult => ({
  name: 't', log, logFile: '/dev/null', markers: {}, outDir: '/nonexistent', durationS: 1, timedOut: false, rc: null,
  qemuExitCode: 0, qemuStderr: '', cut: false, ...over,
});

describe('lab: a guest kernel crash is told apart from a failure of ours', () => {
  it('an oops (the int3 one of live code patching under TCG) is a crash', () => {
    expect(kernelCrashed(result('[   20.857306] Oops: int3: 0000 [#1] PREEMPT SMP NOPTI\n'))).toBe(true);
    expect(kernelCrashed(result('Kernel panic - not syncing: Fatal exception in interrupt\n'))).toBe(true);
  });
  it('a dead init, a finished script or a timeout is not', () => {
    expect(kernelCrashed(result('Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100\n'))).toBe(false);
    expect(kernelCrashed(result('Oops: int3\n', { rc: 0 }))).toBe(false);
    expect(kernelCrashed(result('Oops: int3\n', { timedOut: true }))).toBe(false);
  });
});
