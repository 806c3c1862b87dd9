// The applier: steps in plan order; on a failure the reversible steps since the last irreversible one are undone in
// reverse order; a fault (adapters/fault) injects failures (and power cuts, in VM tests) at a step.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TAGS } from '../../src/core/inventory';
import { describeStep, type Step } from '../../src/core/steps';
import { applyPlan, PartialApplyError } from '../../src/adapters/apply';
import { parseFault } from '../../src/adapters/fault';
import { setSink } from '../../src/adapters/log';
import { recorder, VG } from './helpers/plan-fixtures';

const E = '/boot/loader/entries/imgbased-X-1-0_2.conf';
const MENU = '/boot/grub/imgbased.cfg';
const ENV = '/boot/grub/grubenv';

/** layer --add X-1-0 as compose orders it. */
const ADD: Step[] = [
  { kind: 'remove-temp', path: '/boot/loader/entries/.x.tmp-1' },
  { kind: 'snapshot', vg: VG, origin: 'X-1-0', name: 'X-1-0+2', tags: [TAGS.layer, TAGS.incomplete] },
  { kind: 'activate', vg: VG, lv: 'X-1-0+2' },
  { kind: 'new-fs-uuid', vg: VG, lv: 'X-1-0+2' },
  { kind: 'fstab-root', vg: VG, lv: 'X-1-0+2', mounts: [] },
  { kind: 'deactivate', vg: VG, lv: 'X-1-0+2' },
  { kind: 'lv-untag', vg: VG, lv: 'X-1-0+2', tag: TAGS.incomplete },
  { kind: 'write-entry', layer: 'X-1-0+2', file: E, content: 'title x\n', previous: null },
  { kind: 'write-menu', file: MENU, content: 'menu 2\n', previous: 'menu 1\n' },
  { kind: 'grubenv-set', file: ENV, key: 'next_entry', value: 'imgbased-X-1-0_2', previous: null },
  { kind: 'settle-boot', dir: '/boot', xfs: false },
];

/** layer --remove X-1-0+1 as compose orders it. */
const REMOVE: Step[] = [
  { kind: 'lv-tag', vg: VG, lv: 'X-1-0+1', tag: TAGS.incomplete },
  { kind: 'remove-entry', layer: 'X-1-0+1', file: '/boot/loader/entries/imgbased-X-1-0_1.conf', previous: 'title x\n' },
  { kind: 'write-menu', file: MENU, content: 'menu 0\n', previous: 'menu 1\n' },
  { kind: 'settle-boot', dir: '/boot', xfs: false },
  { kind: 'remove-lv', vg: VG, lv: 'X-1-0+1' },
  { kind: 'write-menu', file: MENU, content: 'menu 2\n', previous: 'menu 0\n' },
  { kind: 'grubenv-set', file: ENV, key: 'saved_entry', value: 'imgbased-X-1-0_2', previous: null },
  { kind: 'settle-boot', dir: '/boot', xfs: false },
  { kind: 'remove-kernel-files', dir: '/boot/imgbased/X-0-9', files: 'all' },
];

const texts = (steps: Step[]): string[] => steps.map(describeStep);
let warnings: string[] = [];

beforeEach(() => {
  warnings = [];
  setSink((l) => warnings.push(l));
});
afterEach(() => {
  setSink((l) => process.stderr.write(`${l}\n`));
});

describe('applyPlan', () => {
  it('runs every step in plan order and undoes nothing when all succeed', async () => {
    const r = recorder();
    await applyPlan(ADD, { perform: r.perform });
    expect(r.ran).toEqual(texts(ADD));
    expect(r.undone).toEqual([]);
  });

  it('fail@N: steps before N ran, the reversible ones among them are undone in reverse order, then it throws', async () => {
    const fault = parseFault('fail@9');
    const r = recorder();
    await expect(applyPlan(ADD, { perform: r.perform, fault })).rejects.toThrow('injected fault at step 9 (write-menu)');
    expect(r.ran).toEqual(texts(ADD.slice(0, 8)));
    // snapshot, activate, lv-untag, write-entry have an inverse; the rest only wrote inside the LV that goes.
    expect(r.undone).toEqual(texts([ADD[7]!, ADD[6]!, ADD[2]!, ADD[1]!]));
    expect(warnings).toContain(`imgbase: warning: failed to ${describeStep(ADD[8]!)}; undoing 4 earlier step(s)`);
  });

  it('a failing step function is handled like an injected fault', async () => {
    const r = recorder((s) => s.kind === 'fstab-root');
    await expect(applyPlan(ADD, { perform: r.perform })).rejects.toThrow(`cannot ${describeStep(ADD[4]!)}`);
    expect(r.ran).toEqual(texts(ADD.slice(0, 4)));
    expect(r.undone).toEqual(texts([ADD[2]!, ADD[1]!]));
  });

  it('an undo that fails is reported and the others still run', async () => {
    const fault = parseFault('fail@4');
    const undone: string[] = [];
    const perform = async (s: Step) => async () => {
      if (s.kind === 'activate') throw new Error('device busy');
      undone.push(s.kind);
    };
    await expect(applyPlan(ADD, { perform, fault })).rejects.toThrow(/injected fault at step 4/);
    expect(undone).toEqual(['snapshot', 'remove-temp']);
    expect(warnings).toContain('imgbase: warning: undo failed: device busy');
  });

  it('a kind: the first step of that kind fails', async () => {
    const fault = parseFault('grubenv-set');
    const r = recorder();
    await expect(applyPlan(ADD, { perform: r.perform, fault })).rejects.toThrow('injected fault at step 10 (grubenv-set)');
    expect(r.ran).toHaveLength(9);
  });

  it('after a forward step (remove-lv) a failure undoes only the steps after it and throws PartialApplyError', async () => {
    const fault = parseFault('fail@8');
    const r = recorder();
    const err = await applyPlan(REMOVE, { perform: r.perform, fault }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PartialApplyError);
    expect((err as PartialApplyError).message).toBe('injected fault at step 8 (settle-boot)');
    expect((err as PartialApplyError).hint).toMatch(/imgbase check --repair/);
    expect(r.ran).toEqual(texts(REMOVE.slice(0, 7)));
    // lv-tag, remove-entry and the first menu write stand: repair finishes what they started.
    expect(r.undone).toEqual(texts([REMOVE[6]!, REMOVE[5]!]));
    expect(warnings).toContain(`imgbase: warning: failed to ${describeStep(REMOVE[7]!)}; steps up to 5 cannot be undone, undoing 2 later step(s)`);
  });

  it('a failure before the forward step undoes everything done and is not partial', async () => {
    const fault = parseFault('fail@5');
    const r = recorder();
    const err = await applyPlan(REMOVE, { perform: r.perform, fault }).catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(PartialApplyError);
    expect(r.undone).toEqual(texts([REMOVE[2]!, REMOVE[1]!, REMOVE[0]!]));
  });
});

describe('parseFault', () => {
  it('parses fail@N, powercut@N and a step kind', () => {
    expect(parseFault('fail@3')).toEqual({ at: 'fail', step: 3, kind: null });
    expect(parseFault('powercut@7')).toEqual({ at: 'powercut', step: 7, kind: null });
    expect(parseFault('write-menu')).toEqual({ at: 'fail', step: null, kind: 'write-menu' });
    expect(parseFault(undefined)).toBeNull();
    expect(parseFault('')).toBeNull();
  });
});
