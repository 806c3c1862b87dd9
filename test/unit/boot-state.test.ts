// Boot counting state (core/boot-state), pure: stamps, reason codes, the LVM state tags, the arm GRUB counts
// against, each layer's state as `boot --status` shows it, the previous good layer and the grubenv steps of an arm.
import { describe, expect, it } from 'vitest';
import { entryId } from '../../src/core/bls';
import {
  ARM_KEYS, DEFAULT_TRIES, ENV, MAX_TRIES, STATE_TAG, armFallback, armOf, armSteps, badLayers, badTag, defaultSteps, describeReason,
  disarmSteps, encodeReason, goodTag, isStateTag, layerStates, menuDefault, parseTries, previousGood, stamp, stampToIso, tagState,
  type LayerState,
} from '../../src/core/boot-state';
import { buildInventory, TAGS, type Inventory } from '../../src/core/inventory';
import type { Step } from '../../src/core/steps';
import { layoutRecords, lv } from './helpers/plan-fixtures';

/** LVM tags may hold only these characters (lvm(8), "Tags"). */
const LVM_TAG = /^[A-Za-z0-9_+.\-/=!:#&]+$/;
const T0 = new Date('2026-12-01T00:00:00Z');
const at = (iso: string): Date => new Date(iso);
const FILE = '/boot/grub/grubenv';

/** An inventory of bases A-1-0, B-2-0 and the given layers (name -> extra tags), records in the order given. */
function inventory(layers: Record<string, string[]>): Inventory {
  const more = Object.entries(layers).map(([name, tags]) =>
    lv(name, [TAGS.layer, ...tags], { origin: name.slice(0, name.lastIndexOf('+')) }));
  return buildInventory(layoutRecords(['A-1-0', 'B-2-0'], [], more));
}

/** A valid arm of `layer` made at `when`, as grubenv holds it. */
function armEnv(layer: string, tries: number, when: Date, more: Record<string, string> = {}): Record<string, string> {
  return { [ENV.try]: layer, [ENV.tryId]: entryId(layer), [ENV.tries]: String(tries), [ENV.arm]: stamp(when), ...more };
}

/** grubenv after `steps` (grubenv steps only) ran on `env`. */
function applyEnv(steps: readonly Step[], env: Record<string, string> = {}): Record<string, string> {
  const out = { ...env };
  for (const s of steps) {
    if (s.kind === 'grubenv-set') out[s.key] = s.value;
    if (s.kind === 'grubenv-unset') delete out[s.key];
  }
  return out;
}

const state = (layer: string, s: Partial<LayerState>): LayerState =>
  ({ layer, state: 'new', tries: null, left: null, reason: null, since: null, ...s });

describe('stamps', () => {
  it('stamp drops milliseconds and separators; stampToIso gives the ISO second back', () => {
    expect(stamp(at('2026-12-01T23:59:00.123Z'))).toBe('20261201T235900Z');
    expect(stampToIso('20261201T235900Z')).toBe('2026-12-01T23:59:00Z');
    for (const iso of ['1999-01-02T03:04:05Z', '2026-12-01T00:00:00Z', '2099-12-31T23:59:59Z']) {
      expect(stampToIso(stamp(at(iso)))).toBe(iso);
    }
  });

  it('stamps sort like the times they stand for (tagState compares them as strings)', () => {
    const times = ['2026-01-09T00:00:00Z', '2026-01-10T00:00:00Z', '2026-10-01T00:00:00Z', '2027-01-01T00:00:00Z'];
    const stamps = times.map((t) => stamp(at(t)));
    expect([...stamps].sort()).toEqual(stamps);
  });

  it('stampToIso refuses anything else', () => {
    for (const s of ['', 'garbage', '20261201T235900', '20261201 235900Z', '2026-12-01T23:59:00Z', '20261201T235900Zx']) {
      expect(stampToIso(s)).toBeNull();
    }
  });
});

describe('reasons', () => {
  it('encodes tries, check and units', () => {
    expect(encodeReason({ kind: 'tries', tries: 3 })).toBe('tries.3');
    expect(encodeReason({ kind: 'check', name: 'ssh-up' })).toBe('check.ssh-up');
    expect(encodeReason({ kind: 'check', name: 'A_b+c.d-9' })).toBe('check.A_b+c.d-9');
    expect(encodeReason({ kind: 'units' })).toBe('units');
  });

  it('replaces each character outside [A-Za-z0-9_+.-] of a check name with _', () => {
    expect(encodeReason({ kind: 'check', name: 'my check/x:y=z#1&2!ü' })).toBe('check.my_check_x_y_z_1_2__');
  });

  it('caps a check name at 100 characters', () => {
    const code = encodeReason({ kind: 'check', name: 'x'.repeat(150) });
    expect(code).toBe(`check.${'x'.repeat(100)}`);
    expect(encodeReason({ kind: 'check', name: 'y'.repeat(100) })).toBe(`check.${'y'.repeat(100)}`);
  });

  it('describes each code as a sentence (singular for one try); unknown codes are shown as they are', () => {
    expect(describeReason('tries.1')).toBe('used up its 1 boot try without coming up (GRUB fell back)');
    expect(describeReason('tries.3')).toBe('used up its 3 boot tries without coming up (GRUB fell back)');
    expect(describeReason('check.ssh-up')).toBe('required health check ssh-up failed');
    expect(describeReason('units')).toBe('systemd units had failed at the end of the boot');
    expect(describeReason('')).toBe('marked bad');
    expect(describeReason('by-hand')).toBe('marked bad (by-hand)');
    expect(describeReason('tries.x')).toBe('marked bad (tries.x)');
  });

  it('describeReason(encodeReason(r)) names what happened', () => {
    expect(describeReason(encodeReason({ kind: 'tries', tries: 9 }))).toMatch(/its 9 boot tries/);
    expect(describeReason(encodeReason({ kind: 'check', name: 'a b' }))).toBe('required health check a_b failed');
  });
});

describe('state tags', () => {
  it('goodTag and badTag carry the stamp (and the reason code)', () => {
    expect(goodTag(T0)).toBe(`${STATE_TAG.good}20261201T000000Z`);
    expect(badTag(T0, { kind: 'tries', tries: 2 })).toBe(`${STATE_TAG.bad}20261201T000000Z:tries.2`);
    expect(badTag(T0, { kind: 'units' })).toBe('imgbased:bad:20261201T000000Z:units');
  });

  it('are valid LVM tags whatever the check is called', () => {
    const names = ['plain', 'with space', 'ümlaut/slash', `quote'"\`$(x)`, 'tab\tnewline\n', 'z'.repeat(500), '😀'];
    const tags = [goodTag(T0), badTag(T0, { kind: 'tries', tries: 9 }), badTag(T0, { kind: 'units' }),
      ...names.map((name) => badTag(T0, { kind: 'check', name }))];
    for (const t of tags) {
      expect(t).toMatch(LVM_TAG);
      expect(isStateTag(t)).toBe(true);
    }
  });

  it('isStateTag knows only the good and bad prefixes', () => {
    for (const t of [TAGS.layer, TAGS.incomplete, 'imgbased:goodish', 'imgbased:bad', 'other:good:1']) expect(isStateTag(t)).toBe(false);
  });

  it('tagState reads the stamp and reason; other tags are ignored', () => {
    expect(tagState([])).toBeNull();
    expect(tagState([TAGS.layer, TAGS.incomplete])).toBeNull();
    expect(tagState([TAGS.layer, goodTag(T0)])).toEqual({ state: 'good', stamp: '20261201T000000Z', reason: null });
    expect(tagState([badTag(T0, { kind: 'check', name: 'c' }), TAGS.layer]))
      .toEqual({ state: 'bad', stamp: '20261201T000000Z', reason: 'check.c' });
    // A bad tag written without a reason reads as reason "".
    expect(tagState(['imgbased:bad:20261201T000000Z'])).toEqual({ state: 'bad', stamp: '20261201T000000Z', reason: '' });
  });

  // A power cut between adding the new state tag and removing the old one leaves both: the newer one wins,
  // whatever order lvs lists them in.
  const older = at('2026-12-01T00:00:00Z');
  const newer = at('2026-12-01T00:00:01Z');
  it.each([
    ['bad replaced good', [goodTag(older), badTag(newer, { kind: 'units' })], 'bad'],
    ['good replaced bad', [badTag(older, { kind: 'units' }), goodTag(newer)], 'good'],
    ['good replaced good', [goodTag(older), goodTag(newer)], 'good'],
  ] as const)('tagState: %s (both orders)', (_, tags, want) => {
    for (const order of [[...tags], [...tags].reverse()]) {
      const s = tagState(order);
      expect(s?.state).toBe(want);
      expect(s?.stamp).toBe(stamp(newer));
    }
  });

  it('badLayers lists the layers whose newest state tag is bad', () => {
    const inv = inventory({
      'A-1-0+1': [goodTag(T0)],
      'A-1-0+2': [badTag(T0, { kind: 'units' })],
      'B-2-0+1': [badTag(older, { kind: 'units' }), goodTag(newer)],
      'B-2-0+2': [goodTag(older), badTag(newer, { kind: 'units' })],
      'B-2-0+3': [],
    });
    expect(badLayers(inv)).toEqual(new Set(['A-1-0+2', 'B-2-0+2']));
  });
});

describe('armOf', () => {
  const ID = stamp(T0);
  const full = armEnv('A-1-0+2', 3, T0, { [ENV.fallback]: entryId('A-1-0+1') });

  it('reads a complete arm with nothing counted yet; the fallback as the entry id grubenv holds', () => {
    expect(armOf(full)).toEqual({ layer: 'A-1-0+2', tries: 3, id: ID, fallbackId: 'imgbased-A-1-0_1', used: 0, fell: false });
    expect(armOf(armEnv('A-1-0+2', 3, T0))?.fallbackId).toBeNull();
    // A fallback that is not one of our entry ids is no fallback.
    expect(armOf({ ...full, [ENV.fallback]: 'gnulinux-simple-1234' })?.fallbackId).toBeNull();
  });

  it('is null when a key is missing or empty', () => {
    for (const key of [ENV.try, ENV.tryId, ENV.tries, ENV.arm]) {
      const { [key]: _, ...without } = full;
      expect(armOf(without)).toBeNull();
      expect(armOf({ ...full, [key]: '' })).toBeNull();
    }
    expect(armOf({})).toBeNull();
  });

  it('is null when imgbased_try_id is not the entry id of imgbased_try (GRUB would never fall back from it)', () => {
    for (const id of ['imgbased-A-1-0+2', 'imgbased-A-1-0_1', 'A-1-0_2', entryId('A-1-0+2').toUpperCase(), ` ${entryId('A-1-0+2')}`]) {
      expect(armOf({ ...full, [ENV.tryId]: id })).toBeNull();
    }
    // imgbased_try edited to another layer, the id left behind.
    expect(armOf({ ...full, [ENV.try]: 'A-1-0+1' })).toBeNull();
  });

  it('is null when tries is outside 1..MAX_TRIES', () => {
    for (const t of ['0', '-1', String(MAX_TRIES + 1), '99']) expect(armOf({ ...full, [ENV.tries]: t })).toBeNull();
    for (const t of ['1', String(MAX_TRIES)]) expect(armOf({ ...full, [ENV.tries]: t })?.tries).toBe(Number(t));
  });

  it('is null when tries is not a whole number', () => {
    for (const t of ['abc', '1.5', '3x', 'NaN', 'Infinity']) expect(armOf({ ...full, [ENV.tries]: t })).toBeNull();
  });

  // GRUB compares imgbased_tries as a string (`[ "${imgbased_tries}" = 3 ... ]`): any other spelling of 3 would
  // be a try GRUB never finds spent.
  it('is null for number spellings GRUB does not compare equal to 1..9', () => {
    for (const t of ['0x3', ' 3', '3 ', '3.0', '+3', '3e0', '03']) expect(armOf({ ...full, [ENV.tries]: t })).toBeNull();
  });

  it('counts only tries GRUB started for this arm id', () => {
    expect(armOf({ ...full, [ENV.count]: `${ID}:2` })?.used).toBe(2);
    // Left from an older arm: stale, reads as 0 (userland never resets GRUB's variables).
    expect(armOf({ ...full, [ENV.count]: '20261130T000000Z:2' })?.used).toBe(0);
    // A count whose id merely starts like ours is someone else's.
    expect(armOf({ ...full, [ENV.count]: `${ID}0:2` })?.used).toBe(0);
    for (const bad of [`${ID}:`, `${ID}:x`, `${ID}:-1`, `${ID}:1.5`, ID, '']) expect(armOf({ ...full, [ENV.count]: bad })?.used).toBe(0);
    // Only one digit, spelled as GRUB's chain writes it (`${imgbased_arm}:N`): anything else GRUB reads as 0 too.
    for (const bad of [`${ID}:02`, `${ID}:+2`, `${ID}: 2`, `${ID}:2 `, `${ID}:2.0`, `${ID}:0x2`, `${ID}:10`]) {
      expect(armOf({ ...full, [ENV.count]: bad })?.used).toBe(0);
    }
  });

  it('fell only when imgbased_fell names this arm', () => {
    expect(armOf({ ...full, [ENV.fell]: ID })?.fell).toBe(true);
    expect(armOf({ ...full, [ENV.fell]: '20261130T000000Z' })?.fell).toBe(false);
    expect(armOf({ ...full, [ENV.fell]: '' })?.fell).toBe(false);
  });
});

describe('armFallback', () => {
  const LAYERS = ['A-1-0+1', 'A-1-0+2', 'B-2-0+1'];
  const withFallback = (id: string | null) => ({ ...armOf(armEnv('B-2-0+1', 3, T0))!, fallbackId: id });

  it('resolves the fallback entry id to the layer it belongs to (\'+\' is written \'_\' in ids)', () => {
    expect(armFallback(withFallback(entryId('A-1-0+1')), LAYERS)).toBe('A-1-0+1');
    expect(armFallback(withFallback('imgbased-A-1-0_2'), LAYERS)).toBe('A-1-0+2');
  });

  it('null without an arm, without a fallback, or when no layer has that id', () => {
    expect(armFallback(null, LAYERS)).toBeNull();
    expect(armFallback(withFallback(null), LAYERS)).toBeNull();
    expect(armFallback(withFallback(entryId('Z-9-0+1')), LAYERS)).toBeNull();
    expect(armFallback(withFallback(entryId('A-1-0+1')), [])).toBeNull();
    // The layer name itself is not its entry id.
    expect(armFallback(withFallback('imgbased-A-1-0+1'), LAYERS)).toBeNull();
  });
});

describe('layerStates', () => {
  const ARM = at('2026-12-01T10:00:00Z');
  const BEFORE = at('2026-12-01T09:00:00Z');
  const AFTER = at('2026-12-01T11:00:00Z');
  const inv = inventory({
    // Listed out of order: layerStates sorts them oldest first.
    'B-2-0+2': [],
    'A-1-0+2': [badTag(BEFORE, { kind: 'check', name: 'web' })],
    'B-2-0+1': [],
    'A-1-0+1': [TAGS.layer, goodTag(BEFORE)],
  });

  it('oldest first: new, good (since), bad (reason, since); no arm means nothing is trying', () => {
    expect(layerStates(inv, {})).toEqual([
      state('A-1-0+1', { state: 'good', since: '2026-12-01T09:00:00Z' }),
      state('A-1-0+2', { state: 'bad', reason: 'required health check web failed', since: '2026-12-01T09:00:00Z' }),
      state('B-2-0+1', {}),
      state('B-2-0+2', {}),
    ]);
  });

  it('trying: tries armed, left = tries - used, since the arm', () => {
    for (const used of [0, 1, 2]) {
      const env = armEnv('B-2-0+2', 3, ARM, used ? { [ENV.count]: `${stamp(ARM)}:${used}` } : {});
      expect(layerStates(inv, env).find((s) => s.layer === 'B-2-0+2'))
        .toEqual(state('B-2-0+2', { state: 'trying', tries: 3, left: 3 - used, since: '2026-12-01T10:00:00Z' }));
    }
  });

  it('trying with its tries used up (or more counted than armed) has 0 left', () => {
    for (const used of [3, 5]) {
      const env = armEnv('B-2-0+2', 3, ARM, { [ENV.count]: `${stamp(ARM)}:${used}` });
      expect(layerStates(inv, env).find((s) => s.layer === 'B-2-0+2')).toMatchObject({ state: 'trying', tries: 3, left: 0 });
    }
  });

  it('trying after GRUB fell back has 0 left, whatever the count says', () => {
    const env = armEnv('B-2-0+2', 3, ARM, { [ENV.count]: `${stamp(ARM)}:1`, [ENV.fell]: stamp(ARM) });
    expect(layerStates(inv, env).find((s) => s.layer === 'B-2-0+2')).toMatchObject({ state: 'trying', left: 0 });
  });

  it('a stale count from an older arm does not use up a new arm', () => {
    const env = armEnv('B-2-0+2', 2, ARM, { [ENV.count]: `${stamp(BEFORE)}:2`, [ENV.fell]: stamp(BEFORE) });
    expect(layerStates(inv, env).find((s) => s.layer === 'B-2-0+2')).toMatchObject({ state: 'trying', tries: 2, left: 2 });
  });

  it('only the armed layer is trying; the arm of a layer that does not exist changes nothing', () => {
    const env = armEnv('B-2-0+2', 3, ARM);
    expect(layerStates(inv, env).filter((s) => s.state === 'trying').map((s) => s.layer)).toEqual(['B-2-0+2']);
    expect(layerStates(inv, armEnv('C-3-0+1', 3, ARM))).toEqual(layerStates(inv, {}));
  });

  it('a good layer that is armed again is trying (the arm wins over a good tag)', () => {
    expect(layerStates(inv, armEnv('A-1-0+1', 2, ARM)).find((s) => s.layer === 'A-1-0+1')).toMatchObject({ state: 'trying', left: 2 });
  });

  it('armed with a bad tag older than the arm (re-armed, the untag not yet done): trying', () => {
    expect(layerStates(inv, armEnv('A-1-0+2', 3, ARM)).find((s) => s.layer === 'A-1-0+2')).toMatchObject({ state: 'trying', left: 3 });
  });

  it('armed with a bad tag newer than the arm (marked bad, the disarm not yet done): bad', () => {
    const marked = inventory({ 'A-1-0+2': [badTag(AFTER, { kind: 'tries', tries: 3 })] });
    expect(layerStates(marked, armEnv('A-1-0+2', 3, ARM))).toEqual([
      state('A-1-0+2', { state: 'bad', reason: describeReason('tries.3'), since: '2026-12-01T11:00:00Z' }),
    ]);
  });

  it('an arm with garbage tries is no arm: the layer keeps its tag state', () => {
    expect(layerStates(inv, { ...armEnv('A-1-0+1', 3, ARM), [ENV.tries]: '0' })).toEqual(layerStates(inv, {}));
  });
});

describe('previousGood', () => {
  const S: LayerState[] = [
    state('A-1-0+1', { state: 'good' }),
    state('A-1-0+2', { state: 'good' }),
    state('A-1-0+3', { state: 'bad' }),
    state('B-2-0+1', { state: 'new' }),
    state('B-2-0+2', { state: 'trying', tries: 3, left: 3 }),
  ];

  it('prefers `prefer` when it is good and not the layer itself', () => {
    expect(previousGood(S, 'B-2-0+2', 'A-1-0+1')).toBe('A-1-0+1');
    expect(previousGood(S, 'A-1-0+1', 'A-1-0+1')).toBe('A-1-0+2');
  });

  it('prefers the running layer when it is up and not bad, even new or trying (it runs now)', () => {
    expect(previousGood(S, 'B-2-0+2', 'B-2-0+1')).toBe('B-2-0+1');
    expect(previousGood(S, 'A-1-0+1', 'B-2-0+2')).toBe('B-2-0+2');
  });

  it('ignores a `prefer` that is bad, missing or the layer itself: the newest good other than the layer', () => {
    for (const prefer of ['A-1-0+3', 'B-2-0+2', 'nope', null]) expect(previousGood(S, 'B-2-0+2', prefer)).toBe('A-1-0+2');
    expect(previousGood(S, 'A-1-0+2')).toBe('A-1-0+1');
    expect(previousGood(S, null)).toBe('A-1-0+2');
  });

  it('without a good layer: the newest one that is not bad (new or trying)', () => {
    const none = S.map((s) => (s.state === 'good' ? { ...s, state: 'new' as const } : s));
    expect(previousGood(none, 'B-2-0+2')).toBe('B-2-0+1');
    expect(previousGood(none, 'B-2-0+1')).toBe('B-2-0+2');
    expect(previousGood(none, null)).toBe('B-2-0+2');
  });

  it('null when every other layer is bad, or there is none', () => {
    expect(previousGood([state('A-1-0+1', { state: 'bad' }), state('A-1-0+2', { state: 'new' })], 'A-1-0+2')).toBeNull();
    expect(previousGood([state('A-1-0+1', { state: 'good' })], 'A-1-0+1')).toBeNull();
    expect(previousGood([], null)).toBeNull();
  });
});

describe('grubenv steps', () => {
  it('armSteps: try (name and entry id), tries, arm id (the stamp), fallback as an entry id', () => {
    expect(armSteps(FILE, 'B-2-0+1', 3, 'A-1-0+2', T0)).toEqual([
      { kind: 'grubenv-set', file: FILE, key: ENV.try, value: 'B-2-0+1', previous: null },
      { kind: 'grubenv-set', file: FILE, key: ENV.tryId, value: 'imgbased-B-2-0_1', previous: null },
      { kind: 'grubenv-set', file: FILE, key: ENV.tries, value: '3', previous: null },
      { kind: 'grubenv-set', file: FILE, key: ENV.arm, value: '20261201T000000Z', previous: null },
      { kind: 'grubenv-set', file: FILE, key: ENV.fallback, value: 'imgbased-A-1-0_2', previous: null },
    ]);
  });

  it('armSteps without a fallback unsets a stale one', () => {
    expect(armSteps(FILE, 'B-2-0+1', 1, null, T0).at(-1)).toEqual({ kind: 'grubenv-unset', file: FILE, key: ENV.fallback, previous: '' });
  });

  it('what armSteps writes is an arm armOf reads, with nothing counted, falling back to the layer given', () => {
    const env = applyEnv(armSteps(FILE, 'B-2-0+1', MAX_TRIES, 'A-1-0+2', T0));
    expect(armOf(env)).toEqual({ layer: 'B-2-0+1', tries: MAX_TRIES, id: stamp(T0), fallbackId: entryId('A-1-0+2'), used: 0, fell: false });
    expect(armFallback(armOf(env), ['A-1-0+1', 'A-1-0+2', 'B-2-0+1'])).toBe('A-1-0+2');
    // Re-armed without a fallback over it: the old fallback is gone.
    const again = applyEnv(armSteps(FILE, 'B-2-0+1', 2, null, at('2026-12-02T00:00:00Z')), env);
    expect(armOf(again)).toMatchObject({ layer: 'B-2-0+1', tries: 2, id: '20261202T000000Z', fallbackId: null });
  });

  it('disarmSteps unsets the five keys userland writes, never GRUB\'s count or fell mark', () => {
    expect(disarmSteps(FILE)).toEqual(ARM_KEYS.map((key) => ({ kind: 'grubenv-unset', file: FILE, key, previous: '' })));
    expect([...ARM_KEYS]).toEqual([ENV.try, ENV.tryId, ENV.tries, ENV.arm, ENV.fallback]);
    // What is left after a disarm is no arm.
    const left = applyEnv(disarmSteps(FILE), armEnv('B-2-0+1', 3, T0, { [ENV.count]: `${stamp(T0)}:1`, [ENV.fell]: stamp(T0) }));
    expect(left).toEqual({ [ENV.count]: `${stamp(T0)}:1`, [ENV.fell]: stamp(T0) });
    expect(armOf(left)).toBeNull();
    expect(disarmSteps(FILE).map((s) => (s as { key: string }).key)).not.toContain(ENV.count);
    expect(disarmSteps(FILE).map((s) => (s as { key: string }).key)).not.toContain(ENV.fell);
  });

  it('defaultSteps: saved_entry unset for the newest usable layer, set (entry id) for any other', () => {
    expect(defaultSteps(FILE, 'B-2-0+1', 'B-2-0+1')).toEqual([{ kind: 'grubenv-unset', file: FILE, key: 'saved_entry', previous: '' }]);
    expect(defaultSteps(FILE, 'A-1-0+1', 'B-2-0+1'))
      .toEqual([{ kind: 'grubenv-set', file: FILE, key: 'saved_entry', value: 'imgbased-A-1-0_1', previous: null }]);
    expect(defaultSteps(FILE, 'A-1-0+1', null)[0]).toMatchObject({ kind: 'grubenv-set', value: 'imgbased-A-1-0_1' });
  });
});

describe('parseTries', () => {
  it('accepts 1..MAX_TRIES', () => {
    for (let n = 1; n <= MAX_TRIES; n++) expect(parseTries(String(n))).toBe(n);
    expect(DEFAULT_TRIES).toBeGreaterThanOrEqual(1);
    expect(DEFAULT_TRIES).toBeLessThanOrEqual(MAX_TRIES);
  });

  it('refuses 0, > MAX_TRIES and anything that is not plain digits, naming the option', () => {
    for (const v of ['0', '10', '99', '', '-1', '1.5', '3x', ' 3', '+3', '0x3', 'three']) {
      expect(() => parseTries(v)).toThrow(`tries must be a whole number from 1 to ${MAX_TRIES}, not ${JSON.stringify(v)}`);
    }
    expect(() => parseTries('0', '--tries')).toThrow(/^--tries must be/);
  });
});

describe('menuDefault: the layer GRUB boots by default, as the menu file decides', () => {
  const layers = ['B-2-0+2', 'B-2-0+1', 'A-1-0+1'];
  it('no saved_entry: the newest layer that is not bad', () => {
    expect(menuDefault(layers, null, new Set())).toBe('B-2-0+2');
    expect(menuDefault(layers, null, new Set(['B-2-0+2']))).toBe('B-2-0+1');
    expect(menuDefault(layers, null, new Set(layers))).toBeNull();
  });
  it('saved_entry naming one of ours wins, bad or not (GRUB boots an explicit pin)', () => {
    expect(menuDefault(layers, entryId('A-1-0+1'), new Set())).toBe('A-1-0+1');
    expect(menuDefault(layers, entryId('B-2-0+2'), new Set(['B-2-0+2']))).toBe('B-2-0+2');
  });
  it("saved_entry naming someone else's entry: not one of ours", () => {
    expect(menuDefault(layers, 'debian-6.1', new Set())).toBeNull();
  });
});
