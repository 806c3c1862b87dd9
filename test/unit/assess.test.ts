// The assessment of one boot (core/assess): which layers become good or bad, whether to reboot into the fallback,
// which hooks fire. A table of transitions, then power-cut replays: the plan of a verdict (planVerdicts) cut after
// any one of its state steps, and the next assessment run on what that left, must end where the uncut one ends.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { assessBoot, type AssessInput, type CheckResult } from '../../src/core/assess';
import { DEFAULT_BOOT_CONFIG, type BootConfig } from '../../src/core/boot-config';
import {
  ENV, armOf, armSteps, badTag, goodTag, layerStates, stamp, tagState, type Arm, type LayerState,
} from '../../src/core/boot-state';
import { entryId } from '../../src/core/bls';
import { buildInventory, TAGS } from '../../src/core/inventory';
import { planVerdicts } from '../../src/core/plans/boot-verbs';
import type { PlanInput } from '../../src/core/plans/compose';
import type { Step } from '../../src/core/steps';
import { STUB_CFG, VG, kernelsOf, layoutRecords, lv, makeBoot, planInput, syncBoot, tempDirs } from './helpers/plan-fixtures';

/** When the arm of these tests was made, and its id. */
const ARMED_AT = new Date('2026-12-01T00:00:00Z');
const ID = stamp(ARMED_AT);
const CFG: BootConfig = { ...DEFAULT_BOOT_CONFIG, rebootOnFailure: true, failedUnits: false };

const check = (name: string, ok: boolean, kind: CheckResult['kind'] = 'required'): CheckResult =>
  ({ name, kind, ok, why: ok ? null : 'exit 1', seconds: 1 });
const HEALTHY = [check('ssh', true), check('web', true, 'wanted')];
const SSH_FAILS = [check('ssh', false), check('web', true, 'wanted')];
const WEB_FAILS = [check('ssh', true), check('web', false, 'wanted')];

const st = (layer: string, state: LayerState['state']): LayerState =>
  ({ layer, state, tries: null, left: null, reason: null, since: null });
/** A-1-0+1 and +2 good, B-2-0+1 bad, B-2-0+2 the newest (its state per test). */
const states = (newest: LayerState['state'] = 'trying'): LayerState[] =>
  [st('A-1-0+1', 'good'), st('A-1-0+2', 'good'), st('B-2-0+1', 'bad'), st('B-2-0+2', newest)];
const arm = (a: Partial<Arm> = {}): Arm => ({ layer: 'B-2-0+2', tries: 3, id: ID, fallbackId: entryId('A-1-0+2'), used: 1, fell: false, ...a });
/** grubenv as armSteps leaves it: `layer` armed for `tries` at `at`, falling back to `fallback`; then `more`. */
function armedEnv(layer: string, tries: number, at: Date, fallback: string | null, more: Record<string, string> = {}): Record<string, string> {
  const set = armSteps('/boot/grub/grubenv', layer, tries, fallback, at).flatMap((s) => (s.kind === 'grubenv-set' ? [[s.key, s.value]] : []));
  return { ...Object.fromEntries(set), ...more };
}

function input(o: Partial<AssessInput>): AssessInput {
  return { booted: 'B-2-0+2', skipped: [], states: states(), arm: arm(), checks: HEALTHY, failedUnits: [], config: CFG, vg: VG, ...o };
}
const ev = (event: string, layer: string, prevLayer?: string) =>
  ({ event, ctx: prevLayer === undefined ? { vg: VG, layer } : { vg: VG, layer, prevLayer } });

describe('assessBoot: the booted layer', () => {
  it('tried layer healthy: blessed, disarmed, boot-good', () => {
    const a = assessBoot(input({}));
    expect(a).toEqual({
      healthy: true, summary: '2/2 checks passed', reboot: null,
      verdicts: [{ kind: 'bless', layer: 'B-2-0+2', disarm: true }],
      events: [ev('boot-good', 'B-2-0+2')],
    });
  });

  it('new layer healthy (no arm: counting was off): blessed without a disarm', () => {
    for (const other of [null, arm({ layer: 'A-1-0+1' })]) {
      const a = assessBoot(input({ states: states('new'), arm: other }));
      expect(a.verdicts).toEqual([{ kind: 'bless', layer: 'B-2-0+2', disarm: false }]);
      expect(a.events).toEqual([ev('boot-good', 'B-2-0+2')]);
    }
  });

  it('good layer healthy: no verdict (its tag stays as it is), boot-good', () => {
    const a = assessBoot(input({ booted: 'A-1-0+2', arm: null }));
    expect(a).toMatchObject({ healthy: true, verdicts: [], reboot: null, events: [ev('boot-good', 'A-1-0+2')] });
  });

  it('tried layer failing a required check: bad (check NAME), disarmed, reboot into the arm\'s fallback', () => {
    const a = assessBoot(input({ checks: SSH_FAILS }));
    expect(a).toEqual({
      healthy: false, summary: '1/2 checks passed; required failed: ssh (exit 1)', reboot: 'A-1-0+2',
      verdicts: [{ kind: 'bad', layer: 'B-2-0+2', reason: { kind: 'check', name: 'ssh' }, disarm: true, fallback: 'A-1-0+2' }],
      events: [ev('boot-bad', 'B-2-0+2')],
    });
  });

  it('the first failing required check is the reason', () => {
    const a = assessBoot(input({ checks: [check('ssh', true), check('db', false), check('web', false, 'wanted'), check('dns', false)] }));
    expect(a.verdicts[0]).toMatchObject({ kind: 'bad', reason: { kind: 'check', name: 'db' } });
    expect(a.summary).toBe('1/4 checks passed; required failed: db (exit 1), dns (exit 1); wanted failed (logged only): web');
  });

  it('reboot-on-failure=no: still bad and disarmed, but no reboot', () => {
    const a = assessBoot(input({ checks: SSH_FAILS, config: { ...CFG, rebootOnFailure: false } }));
    expect(a.reboot).toBeNull();
    expect(a.verdicts).toEqual([{ kind: 'bad', layer: 'B-2-0+2', reason: { kind: 'check', name: 'ssh' }, disarm: true, fallback: 'A-1-0+2' }]);
  });

  it('no reboot when the arm has no fallback, or its fallback is bad (the verdict carries no fallback then)', () => {
    for (const fallbackId of [null, entryId('B-2-0+1')]) {
      const a = assessBoot(input({ checks: SSH_FAILS, arm: arm({ fallbackId }) }));
      expect(a.reboot).toBeNull();
      expect(a.verdicts).toEqual([{ kind: 'bad', layer: 'B-2-0+2', reason: { kind: 'check', name: 'ssh' }, disarm: true, fallback: null }]);
    }
  });

  it('no reboot when the arm\'s fallback is no layer at all (the id of a layer since removed)', () => {
    for (const fallbackId of [entryId('Z-9-0+1'), 'imgbased-A-1-0+2']) {
      const a = assessBoot(input({ checks: SSH_FAILS, arm: arm({ fallbackId }) }));
      expect(a.reboot).toBeNull();
      expect(a.verdicts).toEqual([{ kind: 'bad', layer: 'B-2-0+2', reason: { kind: 'check', name: 'ssh' }, disarm: true, fallback: null }]);
    }
  });

  it('the fallback armSteps wrote is the layer rebooted into, and a bad one is refused', () => {
    const armOfSteps = (fb: string) => armOf(armedEnv('B-2-0+2', 3, ARMED_AT, fb));
    const good = assessBoot(input({ checks: SSH_FAILS, arm: armOfSteps('A-1-0+2') }));
    expect(good.reboot).toBe('A-1-0+2');
    expect(good.verdicts[0]).toMatchObject({ kind: 'bad', fallback: 'A-1-0+2' });
    const bad = assessBoot(input({ checks: SSH_FAILS, arm: armOfSteps('B-2-0+1') }));
    expect(bad.reboot).toBeNull();
    expect(bad.verdicts[0]).toMatchObject({ kind: 'bad', fallback: null });
  });

  it('good layer failing: no verdict and no reboot (a fallback boot never reboots again)', () => {
    for (const a of [
      assessBoot(input({ booted: 'A-1-0+2', arm: null, checks: SSH_FAILS })),
      // The arm is someone else's: the booted good layer is not being tried.
      assessBoot(input({ booted: 'A-1-0+2', checks: SSH_FAILS })),
    ]) {
      expect(a).toMatchObject({ healthy: false, verdicts: [], reboot: null, events: [] });
    }
  });

  it('new layer failing (not armed): no verdict, no reboot, no event', () => {
    const a = assessBoot(input({ states: states('new'), arm: null, checks: SSH_FAILS }));
    expect(a).toMatchObject({ healthy: false, verdicts: [], reboot: null, events: [] });
  });

  it('only a wanted check failing: healthy, blessed, and the summary says so', () => {
    const a = assessBoot(input({ checks: WEB_FAILS }));
    expect(a.healthy).toBe(true);
    expect(a.verdicts).toEqual([{ kind: 'bless', layer: 'B-2-0+2', disarm: true }]);
    expect(a.summary).toBe('1/2 checks passed; wanted failed (logged only): web');
    expect(a.reboot).toBeNull();
  });

  it('no checks at all: healthy', () => {
    expect(assessBoot(input({ checks: [] }))).toMatchObject({ healthy: true, summary: '0/0 checks passed' });
  });

  it('failed units count only with failed-units=yes, as reason "units"', () => {
    const off = assessBoot(input({ failedUnits: ['x.service'] }));
    expect(off).toMatchObject({ healthy: true, summary: '2/2 checks passed', verdicts: [{ kind: 'bless' }] });
    const on = assessBoot(input({ failedUnits: ['x.service', 'y.mount'], config: { ...CFG, failedUnits: true } }));
    expect(on).toMatchObject({ healthy: false, reboot: 'A-1-0+2', summary: '2/2 checks passed; failed units: x.service, y.mount' });
    expect(on.verdicts).toEqual([{ kind: 'bad', layer: 'B-2-0+2', reason: { kind: 'units' }, disarm: true, fallback: 'A-1-0+2' }]);
    // A failed required check is the reason before the units.
    const both = assessBoot(input({ checks: SSH_FAILS, failedUnits: ['x.service'], config: { ...CFG, failedUnits: true } }));
    expect(both.verdicts[0]).toMatchObject({ reason: { kind: 'check', name: 'ssh' } });
    // With the setting on and nothing failed: healthy.
    expect(assessBoot(input({ config: { ...CFG, failedUnits: true } })).healthy).toBe(true);
  });

  it('booted null (no layer): no verdicts, no events but the skipped layers\'', () => {
    for (const a of [
      assessBoot(input({ booted: null })),
      assessBoot(input({ booted: null, checks: SSH_FAILS, arm: null })),
      assessBoot(input({ booted: null, skipped: ['B-2-0+2'] })),
    ]) {
      expect(a.verdicts).toEqual([]);
      expect(a.reboot).toBeNull();
      expect(a.events.every((e) => e.event === 'boot-bad')).toBe(true);
    }
  });

  it('booted null but GRUB fell back: only the tries verdict (GRUB\'s mark is evidence whatever booted after)', () => {
    const a = assessBoot(input({ booted: null, arm: arm({ used: 3, fell: true }) }));
    expect(a.verdicts).toEqual([{ kind: 'bad', layer: 'B-2-0+2', reason: { kind: 'tries', tries: 3 }, disarm: true, fallback: null }]);
    expect(a.events).toEqual([ev('boot-bad', 'B-2-0+2')]);
    expect(a.reboot).toBeNull();
  });

  it('a booted layer with no state (not in the inventory): no verdict, no boot-good', () => {
    expect(assessBoot(input({ booted: 'Z-9-0+1' }))).toMatchObject({ verdicts: [], events: [], reboot: null });
  });
});

describe('assessBoot: GRUB and the initramfs fell back', () => {
  const fell = arm({ used: 3, fell: true });

  it('GRUB used up the tries: the armed layer is bad (tries N), boot-bad + fallback, the booted layer still judged', () => {
    const a = assessBoot(input({ booted: 'A-1-0+2', arm: fell }));
    expect(a).toEqual({
      healthy: true, summary: '2/2 checks passed', reboot: null,
      verdicts: [{ kind: 'bad', layer: 'B-2-0+2', reason: { kind: 'tries', tries: 3 }, disarm: true, fallback: 'A-1-0+2' }],
      events: [ev('boot-bad', 'B-2-0+2'), ev('fallback', 'A-1-0+2', 'B-2-0+2'), ev('boot-good', 'A-1-0+2')],
    });
  });

  it('GRUB fell back to a new layer that is healthy: that one is blessed too (without a second disarm)', () => {
    const s = [st('A-1-0+1', 'new'), st('B-2-0+2', 'trying')];
    const a = assessBoot(input({ booted: 'A-1-0+1', states: s, arm: { ...fell, fallbackId: entryId('A-1-0+1') } }));
    expect(a.verdicts).toEqual([
      { kind: 'bad', layer: 'B-2-0+2', reason: { kind: 'tries', tries: 3 }, disarm: true, fallback: 'A-1-0+1' },
      { kind: 'bless', layer: 'A-1-0+1', disarm: false },
    ]);
  });

  it('GRUB fell back and the fallback fails its check: the armed layer is bad, no reboot', () => {
    const a = assessBoot(input({ booted: 'A-1-0+2', arm: fell, checks: SSH_FAILS }));
    expect(a.verdicts).toEqual([{ kind: 'bad', layer: 'B-2-0+2', reason: { kind: 'tries', tries: 3 }, disarm: true, fallback: 'A-1-0+2' }]);
    expect(a.reboot).toBeNull();
    expect(a.events).toEqual([ev('boot-bad', 'B-2-0+2'), ev('fallback', 'A-1-0+2', 'B-2-0+2')]);
  });

  it('the tries verdict carries the arm\'s tries', () => {
    expect(assessBoot(input({ booted: 'A-1-0+2', arm: { ...fell, tries: 1 } })).verdicts[0]).toMatchObject({ reason: { kind: 'tries', tries: 1 } });
  });

  it('a fell mark while the armed layer itself booted (picked by hand) marks nothing bad', () => {
    const a = assessBoot(input({ booted: 'B-2-0+2', arm: fell }));
    expect(a.verdicts.filter((v) => v.kind === 'bad')).toEqual([]);
    expect(a.events.map((e) => e.event)).not.toContain('fallback');
  });

  it('a fell mark for a layer that no longer exists marks nothing', () => {
    const a = assessBoot(input({ booted: 'A-1-0+2', arm: { ...fell, layer: 'C-3-0+1' } }));
    expect(a.verdicts).toEqual([]);
    expect(a.events).toEqual([ev('boot-good', 'A-1-0+2')]);
  });

  it('layers the initramfs skipped: boot-bad each (in order), then fallback from the first', () => {
    const a = assessBoot(input({ booted: 'A-1-0+2', arm: null, skipped: ['B-2-0+2', 'B-2-0+1'] }));
    expect(a.events).toEqual([ev('boot-bad', 'B-2-0+2'), ev('boot-bad', 'B-2-0+1'), ev('fallback', 'A-1-0+2', 'B-2-0+2'), ev('boot-good', 'A-1-0+2')]);
    // The initramfs decided those: no verdict is made about them here.
    expect(a.verdicts).toEqual([]);
  });

  it('GRUB fell back and the initramfs skipped more: the fallback event names the armed layer', () => {
    const a = assessBoot(input({ booted: 'A-1-0+1', arm: fell, skipped: ['A-1-0+2'] }));
    expect(a.events).toEqual([
      ev('boot-bad', 'A-1-0+2'), ev('boot-bad', 'B-2-0+2'), ev('fallback', 'A-1-0+1', 'B-2-0+2'), ev('boot-good', 'A-1-0+1'),
    ]);
    expect(a.verdicts).toEqual([{ kind: 'bad', layer: 'B-2-0+2', reason: { kind: 'tries', tries: 3 }, disarm: true, fallback: 'A-1-0+1' }]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Power-cut replays, with hand-made half states: what a cut inside planVerdicts leaves, assessed again.

describe('assessBoot on what a cut verdict left (hand-made states)', () => {
  it('bless cut after the good tag while the arm is still there: blessed and disarmed again', () => {
    // An arm wins over a good tag (layerStates), so the layer reads as trying.
    const inv = buildInventory(layoutRecords(['A-1-0'], ['A-1-0+1'], [lv('A-1-0+2', [TAGS.layer, goodTag(new Date('2026-12-01T01:00:00Z'))], { origin: 'A-1-0' })]));
    const env = armedEnv('A-1-0+2', 3, ARMED_AT, null, { [ENV.count]: `${ID}:1` });
    const a = assessBoot(input({ booted: 'A-1-0+2', states: layerStates(inv, env), arm: armOf(env) }));
    expect(a.verdicts).toEqual([{ kind: 'bless', layer: 'A-1-0+2', disarm: true }]);
  });

  it('bad cut after the bad tag while the arm is still there: bad and disarmed again', () => {
    const inv = buildInventory(layoutRecords(['A-1-0'], ['A-1-0+1'], [
      lv('A-1-0+2', [TAGS.layer, badTag(new Date('2026-12-01T01:00:00Z'), { kind: 'check', name: 'ssh' })], { origin: 'A-1-0' }),
    ]));
    const env = armedEnv('A-1-0+2', 3, ARMED_AT, 'A-1-0+1', { [ENV.count]: `${ID}:1` });
    const s = layerStates(inv, env);
    expect(s.find((x) => x.layer === 'A-1-0+2')?.state).toBe('bad');
    const a = assessBoot(input({ booted: 'A-1-0+2', states: s, arm: armOf(env), checks: SSH_FAILS }));
    expect(a.verdicts).toEqual([{ kind: 'bad', layer: 'A-1-0+2', reason: { kind: 'check', name: 'ssh' }, disarm: true, fallback: 'A-1-0+1' }]);
  });

  it('GRUB fell back, cut after the bad tag: the tries verdict again', () => {
    const inv = buildInventory(layoutRecords(['A-1-0'], ['A-1-0+1'], [
      lv('A-1-0+2', [TAGS.layer, badTag(new Date('2026-12-01T01:00:00Z'), { kind: 'tries', tries: 3 })], { origin: 'A-1-0' }),
    ]));
    const env = armedEnv('A-1-0+2', 3, ARMED_AT, 'A-1-0+1', { [ENV.count]: `${ID}:3`, [ENV.fell]: ID });
    const a = assessBoot(input({ booted: 'A-1-0+1', states: layerStates(inv, env), arm: armOf(env) }));
    expect(a.verdicts[0]).toMatchObject({ kind: 'bad', layer: 'A-1-0+2', reason: { kind: 'tries', tries: 3 }, disarm: true });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Power-cut replays through the real plan: a world of state tags and grubenv, planVerdicts' state steps applied
// up to a cut, then the next assessment (same boot outcome) planned and applied in full from what was left.

/** What boot counting reads: each layer's state tags and grubenv. */
interface World {
  tags: Record<string, string[]>;
  env: Record<string, string>;
}

const STATE_STEPS = new Set<Step['kind']>(['lv-tag', 'lv-untag', 'grubenv-set', 'grubenv-unset']);

function applyState(w: World, steps: readonly Step[]): World {
  const tags = Object.fromEntries(Object.entries(w.tags).map(([k, v]) => [k, [...v]]));
  const env = { ...w.env };
  for (const s of steps) {
    if (s.kind === 'lv-tag') tags[s.lv] = [...(tags[s.lv] ?? []).filter((t) => t !== s.tag), s.tag];
    if (s.kind === 'lv-untag') tags[s.lv] = (tags[s.lv] ?? []).filter((t) => t !== s.tag);
    if (s.kind === 'grubenv-set') env[s.key] = s.value;
    if (s.kind === 'grubenv-unset') delete env[s.key];
  }
  return { tags, env };
}

/** What the world means: each layer's state, the try, and saved_entry. */
function meaning(w: World, layers: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const l of layers) out[l] = tagState(w.tags[l] ?? [])?.state ?? 'new';
  return { ...out, armed: armOf(w.env)?.layer ?? null, saved_entry: w.env.saved_entry ?? null };
}

describe('power-cut replays of planVerdicts', () => {
  const tmp = tempDirs(afterAll);
  let base: PlanInput;
  const BASES = ['A-1-0', 'B-2-0'];
  const LAYERS = ['A-1-0+1', 'A-1-0+2', 'B-2-0+1'];
  const T1 = new Date('2026-12-01T01:00:00Z');
  const T2 = new Date('2026-12-01T02:00:00Z');

  beforeAll(async () => {
    const dir = tmp();
    const b = makeBoot(dir, { cfg: STUB_CFG, env: {} });
    const kernels = await kernelsOf(join(dir, 'trees'), BASES);
    await syncBoot(b.boot, layoutRecords(BASES, LAYERS), kernels, { grubDDir: b.grubDDir });
    base = await planInput(b.boot, layoutRecords(BASES, LAYERS), kernels, { grubDDir: b.grubDDir });
  });

  function inputOf(w: World, now: Date): PlanInput {
    const records = layoutRecords(BASES, [], LAYERS.map((l) => lv(l, [TAGS.layer, ...(w.tags[l] ?? [])], { origin: l.slice(0, l.lastIndexOf('+')) })));
    return { ...base, records, inv: buildInventory(records), boot: { ...base.boot, grub: { ...base.boot.grub!, env: w.env } }, now };
  }

  /** One boot's assessment from a world: assess, plan, and the state steps of the plan. */
  function assessSteps(w: World, o: Pick<AssessInput, 'booted' | 'checks'>, now: Date): Step[] {
    const i = inputOf(w, now);
    const a = assessBoot({ ...o, skipped: [], states: layerStates(i.inv, w.env), arm: armOf(w.env), failedUnits: [], config: CFG, vg: VG });
    // boot --assess plans only when there is a verdict.
    return a.verdicts.length === 0 ? [] : planVerdicts(i, a.verdicts).steps.filter((s) => STATE_STEPS.has(s.kind));
  }

  const SCENARIOS: Array<{ name: string; world: World; booted: string; checks: CheckResult[]; final: Record<string, unknown> }> = [
    {
      name: 'tried newest layer comes up healthy (bless)',
      world: { tags: { 'A-1-0+1': [goodTag(T1)] }, env: armedEnv('B-2-0+1', 3, T1, 'A-1-0+1', { [ENV.count]: `${stamp(T1)}:1` }) },
      booted: 'B-2-0+1', checks: HEALTHY,
      final: { 'A-1-0+1': 'good', 'A-1-0+2': 'new', 'B-2-0+1': 'good', armed: null, saved_entry: null },
    },
    {
      name: 'a good layer re-armed comes up healthy (bless over an old good tag)',
      world: { tags: { 'A-1-0+1': [goodTag(T1)], 'B-2-0+1': [goodTag(T1)] }, env: armedEnv('B-2-0+1', 2, T1, null, { [ENV.count]: `${stamp(T1)}:1` }) },
      booted: 'B-2-0+1', checks: HEALTHY,
      final: { 'A-1-0+1': 'good', 'A-1-0+2': 'new', 'B-2-0+1': 'good', armed: null, saved_entry: null },
    },
    {
      name: 'tried newest layer fails its check (bad)',
      world: { tags: { 'A-1-0+1': [goodTag(T1)] }, env: armedEnv('B-2-0+1', 3, T1, 'A-1-0+1', { [ENV.count]: `${stamp(T1)}:1` }) },
      booted: 'B-2-0+1', checks: SSH_FAILS,
      final: { 'A-1-0+1': 'good', 'A-1-0+2': 'new', 'B-2-0+1': 'bad', armed: null, saved_entry: null },
    },
    {
      name: 'GRUB used up the tries of the newest layer and booted the fallback (bad by tries)',
      world: { tags: { 'A-1-0+1': [goodTag(T1)] }, env: armedEnv('B-2-0+1', 3, T1, 'A-1-0+1', { [ENV.count]: `${stamp(T1)}:3`, [ENV.fell]: stamp(T1) }) },
      booted: 'A-1-0+1', checks: HEALTHY,
      final: { 'A-1-0+1': 'good', 'A-1-0+2': 'new', 'B-2-0+1': 'bad', armed: null, saved_entry: null },
    },
  ];

  it.each(SCENARIOS)('$name: every cut converges', ({ world, booted, checks, final }) => {
    const steps = assessSteps(world, { booted, checks }, T2);
    expect(steps.length).toBeGreaterThan(0);
    expect(meaning(applyState(world, steps), LAYERS)).toEqual(final);
    for (let k = 0; k <= steps.length; k++) {
      const cut = applyState(world, steps.slice(0, k));
      const again = applyState(cut, assessSteps(cut, { booted, checks }, new Date(T2.getTime() + 60_000)));
      expect({ cut: k, ...meaning(again, LAYERS) }).toEqual({ cut: k, ...final });
    }
  });

  // saved_entry naming the layer that becomes bad moves before the disarm: a cut after the disarm would leave no
  // arm, so no next assessment would make a verdict that moves it, and GRUB would keep booting the bad layer.
  it('an older layer armed with saved_entry pinning it, GRUB fell back: every cut converges (saved_entry moved)', () => {
    const world: World = {
      tags: { 'A-1-0+1': [goodTag(T1)] },
      env: armedEnv('A-1-0+2', 3, T1, 'A-1-0+1', { saved_entry: entryId('A-1-0+2'), [ENV.count]: `${stamp(T1)}:3`, [ENV.fell]: stamp(T1) }),
    };
    const steps = assessSteps(world, { booted: 'A-1-0+1', checks: HEALTHY }, T2);
    const final = { 'A-1-0+1': 'good', 'A-1-0+2': 'bad', 'B-2-0+1': 'new', armed: null, saved_entry: entryId('A-1-0+1') };
    expect(meaning(applyState(world, steps), LAYERS)).toEqual(final);
    for (let k = 0; k <= steps.length; k++) {
      const cut = applyState(world, steps.slice(0, k));
      const again = applyState(cut, assessSteps(cut, { booted: 'A-1-0+1', checks: HEALTHY }, new Date(T2.getTime() + 60_000)));
      expect({ cut: k, ...meaning(again, LAYERS) }).toEqual({ cut: k, ...final });
    }
  });
});
