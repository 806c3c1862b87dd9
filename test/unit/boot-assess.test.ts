// boot --assess's last part: the verdicts are written before any boot hook runs, and no boot hook (refused or
// failing) prevents or undoes them.
import { afterEach, describe, expect, it } from 'vitest';
import { finishAssessment } from '../../src/cli/boot-assess';
import { setRefusedAside, type FoundFile } from '../../src/core/hooks';
import { eventSteps, type EventRun } from '../../src/core/plans/compose';
import type { Step } from '../../src/core/steps';
import { setSink } from '../../src/adapters/log';

afterEach(() => setSink((l) => process.stderr.write(`${l}\n`)));

const dirs = [{ path: '/', uid: 0, mode: 0o40755 }, { path: '/etc', uid: 0, mode: 0o40755 }];
const hook = (dir: string, mode: number): FoundFile => ({
  root: 'etc', dir, name: '10-h', path: `/etc/${dir}/10-h`, masked: false, executable: true, target: `/etc/${dir}/10-h`,
  uid: 0, mode, dirs: [...dirs, { path: `/etc/${dir}`, uid: 0, mode: 0o40755 }],
});
const events: EventRun[] = [{ event: 'boot-bad', ctx: { vg: 'V', layer: 'L-2-0+1' } }, { event: 'boot-good', ctx: { vg: 'V', layer: 'L-1-0+1' } }];
const bless: Step = { kind: 'grubenv-unset', file: '/boot/grub/grubenv', key: 'imgbased_try', previous: 'L-1-0+1' };

function run(failHooks: boolean): Promise<string[]> {
  const seen: string[] = [];
  setSink((l) => seen.push(l));
  // An unsafe boot-good hook: eventSteps alone would throw before the verdicts.
  const found = [hook('boot-bad', 0o100755), hook('boot-good', 0o100777)];
  expect(() => eventSteps(found, 300, events)).toThrow(/refused/);
  const { found: safe, refused } = setRefusedAside(found, events.map((e) => e.event));
  const apply = async (steps: readonly Step[]): Promise<void> => {
    seen.push(`apply ${steps.map((s) => (s.kind === 'hook' ? `hook ${s.path}` : s.kind)).join(', ')}`);
    if (failHooks && steps.some((s) => s.kind === 'hook')) throw new Error('hook /etc/boot-bad/10-h exited 1');
  };
  return finishAssessment({ verdicts: [bless], hooks: eventSteps(safe, 300, events), refused, record: async () => void seen.push('record') }, apply).then(() => seen);
}

describe('boot --assess: verdicts before hooks', () => {
  it('a refused boot-good hook: the verdict and the record first, then a warning with its status, then the other hooks', async () => {
    expect(await run(false)).toEqual([
      'apply grubenv-unset',
      'record',
      'imgbase: warning: boot hooks: refused /etc/boot-good/10-h (boot-good), not run: it is writable by group or others (mode 777)',
      'apply hook /etc/boot-bad/10-h',
    ]);
  });
  it('a failing boot hook is logged; the verdict is kept', async () => {
    const seen = await run(true);
    expect(seen.slice(0, 2)).toEqual(['apply grubenv-unset', 'record']);
    expect(seen.at(-1)).toBe('imgbase: warning: boot hooks: hook /etc/boot-bad/10-h exited 1');
  });
});
