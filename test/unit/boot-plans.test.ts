// The plans that change a layer's boot state (core/plans/boot-verbs) and the arm layer --add adds (core/plans/verbs),
// from a temporary /boot with GRUB: which steps, in which order. The order is the crash safety: grubenv (the arm)
// is the commit point; tags that widen what may boot come after it, tags that narrow it come before.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { entryId } from '../../src/core/bls';
import { DEFAULT_BOOT_CONFIG } from '../../src/core/boot-config';
import { ARM_KEYS, ENV, badTag, goodTag, stamp } from '../../src/core/boot-state';
import { NotFoundError, UsageError } from '../../src/core/errors';
import { buildInventory, TAGS, type LvRecord } from '../../src/core/inventory';
import { planArm, planRollback, planVerdicts, armNewLayer, type Verdict } from '../../src/core/plans/boot-verbs';
import type { PlanInput } from '../../src/core/plans/compose';
import { planLayerAdd } from '../../src/core/plans/verbs';
import type { Step } from '../../src/core/steps';
import { STUB_CFG, VG, kernelsOf, kinds, layoutRecords, lv, makeBoot, menuIds, planInput, syncBoot, tempDirs, type BootDir } from './helpers/plan-fixtures';

const tmp = tempDirs(afterAll);
const NOW = new Date('2026-12-01T00:00:00Z');
const ARM_ID = stamp(NOW);
const OLD = new Date('2026-11-01T00:00:00Z');
const OLD_ID = stamp(OLD);

/**
 * The host: bases A-1-0 and B-2-0 (with kernels) and E-5-0 (no kernel: a layer of it gets no entry). A-1-0+1 and
 * A-1-0+2 good, B-2-0+1 bad (a failed check), B-2-0+2 new. Tests add E-5-0+1 (newest, no entry) where they say.
 */
const TAGS_OF: Record<string, string[]> = {
  'A-1-0+1': [goodTag(OLD)],
  'A-1-0+2': [goodTag(OLD)],
  'B-2-0+1': [badTag(OLD, { kind: 'check', name: 'ssh' })],
  'B-2-0+2': [],
};
const WITH_E = { ...TAGS_OF, 'E-5-0+1': [] };
const BASES = ['A-1-0', 'B-2-0', 'E-5-0'];

function records(tags: Record<string, string[]> = TAGS_OF): LvRecord[] {
  return layoutRecords(BASES, [], Object.entries(tags).map(([name, t]) =>
    lv(name, [TAGS.layer, ...t], { origin: name.slice(0, name.lastIndexOf('+')) })));
}

let boot: BootDir;
let host: PlanInput;
let menuBefore: string;

beforeAll(async () => {
  const dir = tmp();
  boot = makeBoot(dir, { cfg: STUB_CFG, env: {} });
  const kernels = await kernelsOf(join(dir, 'trees'), ['A-1-0', 'B-2-0']);
  kernels.set('E-5-0', null);
  // Synced with the same tags, so the menu on /boot already lists B-2-0+1 as bad.
  await syncBoot(boot.boot, records(), kernels, { grubDDir: boot.grubDDir });
  host = await planInput(boot.boot, records(), kernels, { grubDDir: boot.grubDDir });
  menuBefore = host.boot.grub!.menu!;
});

/** The host with other tags, grubenv, running layer or config (all in memory: nothing is read again). */
function input(o: { tags?: Record<string, string[]>; env?: Record<string, string>; running?: string | null; config?: PlanInput['config'] } = {}): PlanInput {
  const recs = records(o.tags);
  return {
    ...host, records: recs, inv: buildInventory(recs), running: o.running ?? null, config: o.config, now: NOW,
    boot: { ...host.boot, grub: { ...host.boot.grub!, env: o.env ?? {} } },
  };
}

const envStep = (s: Step): string | null =>
  s.kind === 'grubenv-set' ? `set ${s.key}=${s.value}` : s.kind === 'grubenv-unset' ? `unset ${s.key}` : null;
const envSteps = (steps: readonly Step[]): string[] => steps.map(envStep).filter((x): x is string => x !== null);
const menuOf = (steps: readonly Step[]): string => {
  const w = steps.filter((s) => s.kind === 'write-menu');
  return (w.at(-1) as Extract<Step, { kind: 'write-menu' }>).content;
};
const titles = (menu: string): string[] => [...menu.matchAll(/^menuentry '([^']+)'/gm)].map((m) => m[1]!);
/** An arm of `layer` made a month ago, as grubenv holds it. */
const armedEnv = (layer: string, more: Record<string, string> = {}): Record<string, string> =>
  ({ [ENV.try]: layer, [ENV.tryId]: entryId(layer), [ENV.tries]: '3', [ENV.arm]: OLD_ID, [ENV.fallback]: entryId('A-1-0+2'), [ENV.count]: `${OLD_ID}:1`, ...more });
/** The grubenv steps armSteps plans for `layer` (at NOW), as envSteps shows them. */
const armLines = (layer: string, tries: number, fallback: string | null): string[] => [
  `set imgbased_try=${layer}`, `set imgbased_try_id=${entryId(layer)}`, `set imgbased_tries=${tries}`, `set imgbased_arm=${ARM_ID}`,
  fallback === null ? 'unset imgbased_fallback' : `set imgbased_fallback=${entryId(fallback)}`,
];

describe('the fixture', () => {
  it('has entries for the layers of A-1-0 and B-2-0 only, B-2-0+1 listed last as bad', () => {
    expect(menuIds(menuBefore)).toEqual(['B-2-0+2', 'A-1-0+2', 'A-1-0+1', 'B-2-0+1'].map(entryId));
    expect(titles(menuBefore).at(-1)).toMatch(/\(marked bad\)$/);
  });
});

describe('planArm (boot --tries N LAYER)', () => {
  it('re-arming a bad layer: grubenv (try, try id, tries, arm, fallback, saved_entry), then the bad tag goes, then the menu', () => {
    const { steps } = planArm(input(), 'B-2-0+1', 3);
    expect(kinds(steps)).toEqual([...Array(6).fill('grubenv-set'), 'settle-boot', 'lv-untag', 'write-menu', 'settle-boot']);
    expect(envSteps(steps)).toEqual([...armLines('B-2-0+1', 3, 'A-1-0+2'), `set saved_entry=${entryId('B-2-0+1')}`]);
    expect(steps.find((s) => s.kind === 'lv-untag')).toEqual({ kind: 'lv-untag', vg: VG, lv: 'B-2-0+1', tag: TAGS_OF['B-2-0+1']![0] });
    // The menu no longer lists it as bad: back among the others, in age order.
    expect(menuIds(menuOf(steps))).toEqual(['B-2-0+2', 'B-2-0+1', 'A-1-0+2', 'A-1-0+1'].map(entryId));
    expect(menuOf(steps)).not.toContain('(marked bad)');
  });

  it('arming the newest usable layer unsets saved_entry (later layers win again)', () => {
    const { steps } = planArm(input({ env: { saved_entry: entryId('A-1-0+1') } }), 'B-2-0+2', 2);
    expect(envSteps(steps)).toEqual([...armLines('B-2-0+2', 2, 'A-1-0+2'), 'unset saved_entry']);
    // Nothing to untag, the menu stays.
    expect(kinds(steps)).toEqual([...Array(5).fill('grubenv-set'), 'grubenv-unset', 'settle-boot']);
  });

  it('the fallback is the running layer when it is good, else the newest good layer with an entry', () => {
    const fb = (o: Parameters<typeof input>[0], layer = 'B-2-0+2'): string | undefined =>
      envSteps(planArm(input(o), layer, 3).steps).find((s) => s.includes(ENV.fallback));
    expect(fb({ running: 'A-1-0+1' })).toBe(`set imgbased_fallback=${entryId('A-1-0+1')}`);
    expect(fb({ running: 'B-2-0+1' })).toBe(`set imgbased_fallback=${entryId('A-1-0+2')}`);
    // A good layer without an entry (E-5-0+1) is no way back: GRUB cannot boot it.
    expect(fb({ tags: { ...TAGS_OF, 'E-5-0+1': [goodTag(OLD)] } })).toBe(`set imgbased_fallback=${entryId('A-1-0+2')}`);
    // Nothing good: the newest one that is not bad.
    expect(fb({ tags: { 'A-1-0+1': [], 'A-1-0+2': [], 'B-2-0+1': TAGS_OF['B-2-0+1']!, 'B-2-0+2': [] } }))
      .toBe(`set imgbased_fallback=${entryId('A-1-0+2')}`);
  });

  it('no possible fallback: a stale one is unset', () => {
    const alone = { 'A-1-0+1': [badTag(OLD, { kind: 'units' })], 'A-1-0+2': [badTag(OLD, { kind: 'units' })], 'B-2-0+1': TAGS_OF['B-2-0+1']!, 'B-2-0+2': [] };
    const steps = planArm(input({ tags: alone, env: { [ENV.fallback]: entryId('A-1-0+1') } }), 'B-2-0+2', 3).steps;
    expect(envSteps(steps)).toContain(`unset ${ENV.fallback}`);
    expect(envSteps(steps).some((s) => s.startsWith(`set ${ENV.fallback}`))).toBe(false);
  });

  it('re-arming over an older arm overwrites its keys and leaves GRUB\'s count and fell mark (stale by the new id)', () => {
    const steps = planArm(input({ env: armedEnv('B-2-0+2', { [ENV.fell]: OLD_ID }) }), 'B-2-0+2', 3).steps;
    expect(envSteps(steps)).toEqual([`set imgbased_arm=${ARM_ID}`]);
    expect(envSteps(planArm(input({ env: armedEnv('B-2-0+2') }), 'A-1-0+1', 3).steps).filter((s) => s.includes('count') || s.includes('fell'))).toEqual([]);
  });

  it('refuses a layer that does not exist, one without an entry, and a /boot without GRUB', () => {
    expect(() => planArm(input(), 'C-3-0+1', 3)).toThrow(NotFoundError);
    expect(() => planArm(input(), 'C-3-0+1', 3)).toThrow('boot --tries: layer C-3-0+1 not found');
    expect(() => planArm(input({ tags: WITH_E }), 'E-5-0+1', 3)).toThrow(/^boot --tries: layer E-5-0\+1 has no boot entry/);
    expect(() => planArm({ ...input(), boot: { ...host.boot, grub: null } }, 'B-2-0+2', 3)).toThrow(/^no GRUB directory in /);
  });
});

describe('armNewLayer', () => {
  it('arms with config.tries (default 3) and the newest good layer as fallback; none when tries is 0', () => {
    expect(envSteps(armNewLayer(input(), 'B-2-0+3'))).toEqual(armLines('B-2-0+3', DEFAULT_BOOT_CONFIG.tries, 'A-1-0+2'));
    expect(envSteps(armNewLayer(input({ config: { ...DEFAULT_BOOT_CONFIG, tries: 7 } }), 'B-2-0+3'))).toContain('set imgbased_tries=7');
    expect(armNewLayer(input({ config: { ...DEFAULT_BOOT_CONFIG, tries: 0 } }), 'B-2-0+3')).toEqual([]);
    expect(armNewLayer({ ...input(), boot: { ...host.boot, grub: null } }, 'B-2-0+3')).toEqual([]);
  });
});

describe('planRollback', () => {
  it('no saved_entry: from the newest usable layer to the newest good one before it, pinned by saved_entry', () => {
    const plan = planRollback(input(), null);
    expect(plan.target).toBe('A-1-0+2');
    expect(envSteps(plan.steps)).toEqual([`set saved_entry=${entryId('A-1-0+2')}`]);
  });

  it('from the layer saved_entry names: the good layer before it', () => {
    const plan = planRollback(input({ env: { saved_entry: entryId('A-1-0+2') } }), null);
    expect(plan.target).toBe('A-1-0+1');
    expect(envSteps(plan.steps)).toEqual([`set saved_entry=${entryId('A-1-0+1')}`]);
  });

  it('a try of another layer ends (disarm first, then saved_entry); a try of the target stays', () => {
    const elsewhere = planRollback(input({ env: armedEnv('B-2-0+2') }), null);
    expect(envSteps(elsewhere.steps)).toEqual([...ARM_KEYS.map((k) => `unset ${k}`), `set saved_entry=${entryId('A-1-0+2')}`]);
    const here = planRollback(input({ env: armedEnv('A-1-0+1') }), 'A-1-0+1');
    expect(envSteps(here.steps)).toEqual([`set saved_entry=${entryId('A-1-0+1')}`]);
  });

  it('--to LAYER: that layer; a bad one, a missing one or one without an entry is refused', () => {
    expect(planRollback(input(), 'A-1-0+1').target).toBe('A-1-0+1');
    expect(() => planRollback(input(), 'B-2-0+1')).toThrow(UsageError);
    expect(() => planRollback(input(), 'B-2-0+1'))
      .toThrow("rollback --to: layer B-2-0+1 is bad (required health check ssh failed); re-arm it with 'imgbase boot --tries N B-2-0+1'");
    expect(() => planRollback(input(), 'C-3-0+1')).toThrow(NotFoundError);
    expect(() => planRollback(input({ tags: WITH_E }), 'E-5-0+1')).toThrow(/^rollback: layer E-5-0\+1 has no boot entry/);
  });

  it('nothing to go back to: refused', () => {
    const alone = { 'A-1-0+1': [badTag(OLD, { kind: 'units' })], 'A-1-0+2': [badTag(OLD, { kind: 'units' })], 'B-2-0+1': TAGS_OF['B-2-0+1']!, 'B-2-0+2': [] };
    expect(() => planRollback(input({ tags: alone }), null)).toThrow('rollback: there is no other layer to go back to');
  });

});

// GRUB's default without saved_entry is the newest layer that is not bad AMONG THOSE WITH AN ENTRY (the menu lists
// only those). A newer layer without an entry (E-5-0+1: its base holds no kernel) must not count as "the newest".
describe('a newer layer without an entry (base without a kernel)', () => {
  // With B-2-0+2 good and the default, "current" is B-2-0+2 (not E-5-0+1), so the rollback goes to A-1-0+2.
  it('rollback goes back from the layer GRUB boots', () => {
    const plan = planRollback(input({ tags: { ...WITH_E, 'B-2-0+2': [goodTag(OLD)] } }), null);
    expect(plan.target).toBe('A-1-0+2');
  });

  // A pin would make a later layer --add not the default (neither armed nor announced with post-install).
  it('arming the newest layer with an entry unsets saved_entry', () => {
    expect(envSteps(planArm(input({ tags: WITH_E, env: { saved_entry: entryId('A-1-0+1') } }), 'B-2-0+2', 3).steps).at(-1)).toBe('unset saved_entry');
  });

  // B-2-0+3 added while E-5-0+1 (no entry) exists is what GRUB boots by default.
  it('layer --add of the newest layer with an entry arms it', () => {
    const steps = planLayerAdd(input({ tags: WITH_E }), 'B-2-0').steps;
    expect(envSteps(steps).filter((x) => x.startsWith('set imgbased_try='))).toEqual(['set imgbased_try=B-2-0+3']);
  });

  it('a bad verdict moving saved_entry to the newest layer with an entry unsets it (no pin needed)', () => {
    const env = { ...armedEnv('A-1-0+2'), saved_entry: entryId('A-1-0+2') };
    const verdict: Verdict = { kind: 'bad', layer: 'A-1-0+2', reason: { kind: 'units' }, disarm: true, fallback: 'B-2-0+2' };
    expect(envSteps(planVerdicts(input({ tags: WITH_E, env }), [verdict]).steps)[0]).toBe('unset saved_entry');
  });

  it('an entry-less layer is never the fallback, nor a rollback target', () => {
    const tags = { ...TAGS_OF, 'E-5-0+1': [goodTag(OLD)] };
    expect(envSteps(planArm(input({ tags }), 'B-2-0+2', 3).steps)).toContain(`set imgbased_fallback=${entryId('A-1-0+2')}`);
    expect(envSteps(armNewLayer(input({ tags }), 'B-2-0+3'))).toContain(`set imgbased_fallback=${entryId('A-1-0+2')}`);
  });
});

describe('planVerdicts', () => {
  const bad = (layer: string, fallback: string | null, disarm = true): Verdict =>
    ({ kind: 'bad', layer, reason: { kind: 'check', name: 'web' }, disarm, fallback });

  it('bad: the tag first, then the menu (the layer last, marked bad), then the disarm', () => {
    const { steps } = planVerdicts(input({ env: armedEnv('B-2-0+2') }), [bad('B-2-0+2', 'A-1-0+2')]);
    expect(kinds(steps)).toEqual(['lv-tag', 'write-menu', 'settle-boot', ...ARM_KEYS.map(() => 'grubenv-unset'), 'settle-boot']);
    expect(steps[0]).toEqual({ kind: 'lv-tag', vg: VG, lv: 'B-2-0+2', tag: `imgbased:bad:${ARM_ID}:check.web` });
    expect(menuIds(menuOf(steps))).toEqual(['A-1-0+2', 'A-1-0+1', 'B-2-0+2', 'B-2-0+1'].map(entryId));
    expect(titles(menuOf(steps)).slice(2).every((t) => t.endsWith('(marked bad)'))).toBe(true);
    expect(envSteps(steps)).toEqual(ARM_KEYS.map((k) => `unset ${k}`));
  });

  it('bad: older state tags go right after the new one, before anything on /boot', () => {
    const { steps } = planVerdicts(input({ env: armedEnv('A-1-0+2') }), [bad('A-1-0+2', 'A-1-0+1')]);
    expect(steps.slice(0, 2)).toEqual([
      { kind: 'lv-tag', vg: VG, lv: 'A-1-0+2', tag: `imgbased:bad:${ARM_ID}:check.web` },
      { kind: 'lv-untag', vg: VG, lv: 'A-1-0+2', tag: goodTag(OLD) },
    ]);
  });

  // The move comes before the disarm: a cut in between leaves the arm, so the next assessment finishes the job.
  it('bad with saved_entry naming the layer: saved_entry moves to the fallback (or is unset), then the disarm', () => {
    const saved = { ...armedEnv('A-1-0+2'), saved_entry: entryId('A-1-0+2') };
    const disarm = ARM_KEYS.map((k) => `unset ${k}`);
    expect(envSteps(planVerdicts(input({ env: saved }), [bad('A-1-0+2', 'A-1-0+1')]).steps)).toEqual([`set saved_entry=${entryId('A-1-0+1')}`, ...disarm]);
    expect(envSteps(planVerdicts(input({ env: saved }), [bad('A-1-0+2', null)]).steps)).toEqual(['unset saved_entry', ...disarm]);
    // The fallback is the newest usable layer anyway: no pin needed.
    expect(envSteps(planVerdicts(input({ env: saved }), [bad('A-1-0+2', 'B-2-0+2')]).steps)).toEqual(['unset saved_entry', ...disarm]);
    // saved_entry naming another layer is left alone.
    const other = { ...armedEnv('B-2-0+2'), saved_entry: entryId('A-1-0+1') };
    expect(envSteps(planVerdicts(input({ env: other }), [bad('B-2-0+2', 'A-1-0+1')]).steps)).not.toContain('unset saved_entry');
  });

  it('bless of a tried layer: disarm first, then the good tag', () => {
    const { steps } = planVerdicts(input({ env: armedEnv('B-2-0+2') }), [{ kind: 'bless', layer: 'B-2-0+2', disarm: true }]);
    expect(kinds(steps)).toEqual([...ARM_KEYS.map(() => 'grubenv-unset'), 'settle-boot', 'lv-tag']);
    expect(steps.at(-1)).toEqual({ kind: 'lv-tag', vg: VG, lv: 'B-2-0+2', tag: goodTag(NOW) });
  });

  it('bless of a new layer: only the tag; of a re-armed good one: the new tag, then the old one goes', () => {
    expect(planVerdicts(input(), [{ kind: 'bless', layer: 'B-2-0+2', disarm: false }]).steps)
      .toEqual([{ kind: 'lv-tag', vg: VG, lv: 'B-2-0+2', tag: goodTag(NOW) }]);
    const { steps } = planVerdicts(input({ env: armedEnv('A-1-0+1') }), [{ kind: 'bless', layer: 'A-1-0+1', disarm: true }]);
    expect(steps.slice(-2)).toEqual([
      { kind: 'lv-tag', vg: VG, lv: 'A-1-0+1', tag: goodTag(NOW) },
      { kind: 'lv-untag', vg: VG, lv: 'A-1-0+1', tag: goodTag(OLD) },
    ]);
  });

  it('GRUB fell back (bad by tries + bless of the fallback): bad tag, menu, one disarm, good tag', () => {
    const { steps } = planVerdicts(input({ env: armedEnv('B-2-0+2', { [ENV.fell]: OLD_ID }) }), [
      { kind: 'bad', layer: 'B-2-0+2', reason: { kind: 'tries', tries: 3 }, disarm: true, fallback: 'A-1-0+2' },
      { kind: 'bless', layer: 'A-1-0+2', disarm: false },
    ]);
    expect(kinds(steps)).toEqual([
      'lv-tag', 'write-menu', 'settle-boot', ...ARM_KEYS.map(() => 'grubenv-unset'), 'settle-boot', 'lv-tag', 'lv-untag',
    ]);
    expect(steps[0]).toMatchObject({ lv: 'B-2-0+2', tag: `imgbased:bad:${ARM_ID}:tries.3` });
    expect(steps.at(-2)).toMatchObject({ lv: 'A-1-0+2', tag: goodTag(NOW) });
    // GRUB's own variables are never touched by userland.
    expect(envSteps(steps).some((s) => s.includes(ENV.fell) || s.includes(ENV.count))).toBe(false);
  });

  it('a disarm of an arm already gone plans no grubenv step', () => {
    expect(envSteps(planVerdicts(input(), [bad('B-2-0+2', null)]).steps)).toEqual([]);
  });

  it('needs a layout and GRUB', () => {
    expect(() => planVerdicts({ ...input(), inv: { ...input().inv, vg: null } }, [])).toThrow(/no imgbased layout/);
    expect(() => planVerdicts({ ...input(), boot: { ...host.boot, grub: null } }, [])).toThrow(/no GRUB directory/);
  });
});

describe('layer --add arms its new layer when it becomes the default', () => {
  const armKeys = (steps: readonly Step[]): string[] => envSteps(steps).filter((s) => /imgbased_(try|try_id|tries|arm|fallback)=/.test(s));

  it('B-2-0+3 (newest, no saved_entry): armed with config tries after its entry and the menu, before the flush', () => {
    const plan = planLayerAdd(input(), 'B-2-0');
    expect(plan.name).toBe('B-2-0+3');
    expect(armKeys(plan.steps)).toEqual(armLines('B-2-0+3', 3, 'A-1-0+2'));
    const k = kinds(plan.steps);
    const entry = plan.steps.findIndex((s) => s.kind === 'write-entry' && s.layer === 'B-2-0+3');
    const untag = plan.steps.findIndex((s) => s.kind === 'lv-untag' && s.lv === 'B-2-0+3' && s.tag === TAGS.incomplete);
    const firstArm = plan.steps.findIndex((s) => s.kind === 'grubenv-set');
    expect(untag).toBeLessThan(entry);
    expect(k.lastIndexOf('write-menu')).toBeLessThan(firstArm);
    expect(k.slice(firstArm, firstArm + 6)).toEqual([...Array(5).fill('grubenv-set'), 'settle-boot']);
  });

  it('tries from PlanInput.config; tries=0 arms nothing', () => {
    expect(armKeys(planLayerAdd(input({ config: { ...DEFAULT_BOOT_CONFIG, tries: 9 } }), 'B-2-0').steps)).toContain('set imgbased_tries=9');
    expect(armKeys(planLayerAdd(input({ config: { ...DEFAULT_BOOT_CONFIG, tries: 0 } }), 'B-2-0').steps)).toEqual([]);
  });

  it('saved_entry pinning another layer: not the default, not armed (and no post-install)', () => {
    expect(armKeys(planLayerAdd(input({ env: { saved_entry: entryId('A-1-0+1') } }), 'B-2-0').steps)).toEqual([]);
    // saved_entry naming the new layer's id already counts as the default.
    expect(armKeys(planLayerAdd(input({ env: { saved_entry: entryId('B-2-0+3') } }), 'B-2-0').steps)).toHaveLength(5);
  });

  it('a layer on an older base is not the default: not armed', () => {
    const plan = planLayerAdd(input(), 'A-1-0');
    expect(plan.name).toBe('A-1-0+3');
    expect(armKeys(plan.steps)).toEqual([]);
  });

  it('a layer that gets no entry (base without a kernel) is not armed', () => {
    const plan = planLayerAdd(input(), 'E-5-0');
    expect(plan.name).toBe('E-5-0+1');
    expect(armKeys(plan.steps)).toEqual([]);
  });
});

describe('repair of an arm cut in the middle', () => {
  it('every plan unsets the keys a half-written arm left (check reports them), and keeps a whole arm', async () => {
    const { halfArmRepair, ENV } = await import('../../src/core/boot-state');
    const half = new Map([[ENV.try, 'A-1-0+2'], [ENV.tryId, 'imgbased-A-1-0_2']]);
    expect(halfArmRepair('/boot/grub/grubenv', half, []).map((s) => (s as { key: string }).key)).toEqual([ENV.try, ENV.tryId]);
    const whole = new Map([...half, [ENV.tries, '2'], [ENV.arm, '20261201T000000Z']]);
    expect(halfArmRepair('/boot/grub/grubenv', whole, [])).toEqual([]);
    // A verb that arms anew sets those keys itself: nothing to unset first.
    const armSet = [ENV.try, ENV.tryId].map((key) => ({ kind: 'grubenv-set' as const, file: 'f', key, value: 'x', previous: null }));
    expect(halfArmRepair('/boot/grub/grubenv', half, armSet)).toEqual([]);
  });
});
