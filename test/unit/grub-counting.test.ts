// Boot counting in the GRUB menu file (core/grub-script): the rendered script passes the real grub-script-check,
// its shape (bad layers last and never the default, every entry counts its try first, one line per count value),
// and boots simulated with a small interpreter of the generated subset (helpers/grub-mini).
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { entryId, layerEntry } from '../../src/core/bls';
import { ENV, MAX_TRIES, armFallback, armOf, armSteps, stamp } from '../../src/core/boot-state';
import { countingFunctions, renderGrubMenu } from '../../src/core/grub-script';
import { parseGrub, simulateBoot } from './helpers/grub-mini';
import { requiredTool, tempDirs } from './helpers/plan-fixtures';

const tmp = tempDirs(afterAll);

const entry = (layer: string) => ({
  layer,
  entry: layerEntry({
    layer, base: { version: '1', release: '0' }, index: 1, vg: 'HostVG', prettyName: 'Test OS',
    linux: `/imgbased/${layer}/vmlinuz-6.1.0`, initrd: [`/imgbased/${layer}/initrd.img-6.1.0`],
    options: `root=/dev/HostVG/${layer} ro console=ttyS0 imgbased.layer=${layer}`,
  }),
});
/** A menu of these layers (given newest first, as the planner passes them). */
const menu = (layers: string[], bad: string[] = []): string => renderGrubMenu({ entries: layers.map(entry), bad: new Set(bad) });
const LAYERS = ['B-2-0+1', 'A-1-0+2', 'A-1-0+1'];
const lines = (text: string): string[] => text.split('\n');
const count = (text: string, line: string): number => lines(text).filter((l) => l.trim() === line).length;
/** The body of `function NAME {` ... `}`. */
const fn = (text: string, name: string): string[] => {
  const l = lines(text);
  const i = l.indexOf(`function ${name} {`);
  return l.slice(i + 1, l.indexOf('}', i));
};

describe('grub-script-check accepts the menu', () => {
  const check = (text: string): void => {
    const f = join(tmp(), 'imgbased.cfg');
    writeFileSync(f, text);
    execFileSync(requiredTool('grub-script-check'), [f], { stdio: 'pipe' });
  };

  it.each([
    ['no entries', [], []],
    ['one entry', ['A-1-0+1'], []],
    ['three entries', LAYERS, []],
    ['three entries, one bad', LAYERS, ['A-1-0+2']],
    ['three entries, the newest bad', LAYERS, ['B-2-0+1']],
    ['three entries, all bad', LAYERS, LAYERS],
    ['one entry, bad', ['A-1-0+1'], ['A-1-0+1']],
  ])('%s', (_, layers, bad) => expect(() => check(menu(layers, bad))).not.toThrow());

  it('and really parses (a broken script fails)', () => {
    expect(() => check(`${menu(LAYERS)}if [ x ]; then\n`)).toThrow(/^Command failed: \S*grub-script-check /);
  });
});

describe('the menu\'s shape', () => {
  it('bad layers are listed after the others, titled "(marked bad)", and never in a default-choice list', () => {
    const m = menu(['B-2-0+2', 'B-2-0+1', 'A-1-0+2', 'A-1-0+1'], ['B-2-0+1', 'A-1-0+2']);
    const ids = [...m.matchAll(/--id '([^']+)'/g)].map((x) => x[1]);
    expect(ids).toEqual(['B-2-0+2', 'A-1-0+1', 'B-2-0+1', 'A-1-0+2'].map(entryId));
    const titles = [...m.matchAll(/^menuentry '([^']+)'/gm)].map((x) => x[1]);
    expect(titles).toEqual(['Test OS (B-2-0+2)', 'Test OS (A-1-0+1)', 'Test OS (B-2-0+1) (marked bad)', 'Test OS (A-1-0+2) (marked bad)']);
    const lists = lines(m).filter((l) => l.trim().startsWith('for imgbased_id in'));
    expect(lists.length).toBe(3);
    for (const l of lists) expect(l.trim()).toBe(`for imgbased_id in '${entryId('B-2-0+2')}' '${entryId('A-1-0+1')}'; do`);
    expect(m).toContain(`set imgbased_default='${entryId('B-2-0+2')}'`);
  });

  it('all layers bad: entries still there, no default choice and no fallback block', () => {
    const m = menu(LAYERS, LAYERS);
    expect(count(m, 'imgbased_count_try \'A-1-0+1\'')).toBe(1);
    expect(m).not.toContain('for imgbased_id');
    expect(m).not.toContain('set default=');
  });

  it('no entries: no functions either, just the count', () => {
    expect(menu([])).toBe('# imgbased: one entry per layer, newest first. Written by imgbase on every layer change; sourced by grub.cfg.\nset imgbased_entries=0\n');
  });

  it('every entry counts its try first, before linux', () => {
    const m = menu(LAYERS, ['A-1-0+2']);
    for (const layer of LAYERS) {
      const l = lines(m);
      const start = l.findIndex((x) => x.includes(`--id '${entryId(layer)}'`));
      const body = l.slice(start + 1, l.indexOf('}', start));
      expect(body[0]).toBe(`\timgbased_count_try '${layer}'`);
      expect(body.findIndex((x) => x.trim().startsWith('linux '))).toBeGreaterThan(0);
    }
    expect(count(m, 'imgbased_count_try \'A-1-0+2\'')).toBe(1);
  });

  it('the counting chain: one advancing line per n in 0..MAX_TRIES-1, one reading and one "spent" line per n in 1..MAX_TRIES', () => {
    const m = menu(LAYERS);
    for (let n = 0; n < MAX_TRIES; n++) {
      expect(count(m, `if [ "\${imgbased_used}" = ${n} ]; then set imgbased_count="\${imgbased_arm}:${n + 1}"; fi`)).toBe(1);
    }
    for (let n = 1; n <= MAX_TRIES; n++) {
      expect(count(m, `if [ "\${imgbased_count}" = "\${imgbased_arm}:${n}" ]; then set imgbased_used=${n}; fi`)).toBe(1);
      expect(count(m, `if [ "\${imgbased_tries}" = ${n} -a "\${imgbased_used}" -ge ${n} ]; then set imgbased_spent=1; fi`)).toBe(1);
    }
    // Nothing advances past MAX_TRIES, nothing reads 0 or MAX_TRIES+1.
    expect(m).not.toContain(`set imgbased_count="\${imgbased_arm}:${MAX_TRIES + 1}"`);
    expect(m).not.toContain(`"\${imgbased_arm}:0"`);
    expect(m).not.toContain(`set imgbased_used=${MAX_TRIES + 1}`);
  });

  it('countingFunctions(max) renders the chain up to max', () => {
    const f = countingFunctions(2).join('\n');
    expect(f.match(/set imgbased_used=\d/g)).toEqual(['set imgbased_used=0', 'set imgbased_used=1', 'set imgbased_used=2']);
    // Two values read (1, 2) and two advanced to (1, 2).
    expect(f.match(/imgbased_arm\}:\d"/g)).toHaveLength(2 + 2);
    expect(f).not.toContain(':3');
  });

  it('save_env imgbased_count only inside imgbased_count_try; save_env imgbased_fell only in the fallback block', () => {
    const m = menu(LAYERS);
    expect(m.match(/save_env/g)).toHaveLength(2);
    expect(fn(m, 'imgbased_count_try').map((l) => l.trim())).toContain(`save_env ${ENV.count}`);
    expect(fn(m, 'imgbased_tries_used').join('\n')).not.toContain('save_env');
    const fellAt = lines(m).findIndex((l) => l.includes(`save_env ${ENV.fell}`));
    const spentAt = lines(m).findIndex((l) => l.trim() === 'if [ "${imgbased_spent}" = 1 ]; then');
    const functionsEnd = lines(m).findIndex((l) => l.startsWith('menuentry '));
    expect(spentAt).toBeGreaterThan(functionsEnd);
    expect(fellAt).toBeGreaterThan(spentAt);
    expect(lines(m)[fellAt]!.trim()).toBe('if [ "${imgbased_fell}" != "${imgbased_arm}" ]; then set imgbased_fell="${imgbased_arm}"; save_env imgbased_fell; fi');
  });

  it('the interpreter reads the whole menu (every construct in it is one it knows)', () => {
    for (const m of [menu(LAYERS), menu(LAYERS, ['A-1-0+1']), menu(['A-1-0+1']), menu(LAYERS, LAYERS)]) expect(() => parseGrub(m)).not.toThrow();
    expect(() => parseGrub('if [ x ]; then\n')).toThrow();
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Boots, simulated. grubenv in, grubenv out; a boot that leaves GRUB's default to something not ours gives null.

const ARMED_AT = new Date('2026-12-01T00:00:00Z');
const ID = stamp(ARMED_AT);
/** grubenv as armSteps leaves it: `layer` armed for `tries` boots (arm id ID), falling back to `fallback`; then `more`. */
const arm = (layer: string, tries: number, fallback: string | null, more: Record<string, string> = {}): Record<string, string> => ({
  ...Object.fromEntries(armSteps('/boot/grub/grubenv', layer, tries, fallback, ARMED_AT).flatMap((s) => (s.kind === 'grubenv-set' ? [[s.key, s.value]] : []))),
  ...more,
});
/** `n` boots in a row: the entries booted and the grubenv after each. */
function boots(m: string, env: Record<string, string>, n: number): Array<{ entry: string | null; env: Record<string, string> }> {
  const out = [];
  for (let i = 0; i < n; i++) {
    const b = simulateBoot(m, env);
    out.push({ entry: b.entry, env: b.env });
    env = b.env;
  }
  return out;
}

describe('simulated boots: the default', () => {
  const m = menu(LAYERS, ['A-1-0+2']);
  it('no saved_entry: the newest layer that is not bad; nothing is counted without an arm', () => {
    expect(simulateBoot(m, {})).toMatchObject({ entry: entryId('B-2-0+1'), env: {} });
    expect(simulateBoot(menu(LAYERS, ['B-2-0+1']), {}).entry).toBe(entryId('A-1-0+2'));
  });

  it('saved_entry naming one of ours is the default; one naming someone else\'s is left to GRUB', () => {
    expect(simulateBoot(m, { saved_entry: entryId('A-1-0+1') }).entry).toBe(entryId('A-1-0+1'));
    expect(simulateBoot(m, { saved_entry: 'gnulinux-simple-1234' }).entry).toBeNull();
  });

  it('a one-shot next_entry is booted once and cleared; manage_default=0 leaves saved_entry alone', () => {
    const b = simulateBoot(m, { next_entry: entryId('A-1-0+1') });
    expect(b.entry).toBe(entryId('A-1-0+1'));
    expect(b.env).toEqual({});
    expect(simulateBoot(m, {}, { manageDefault: false }).entry).toBeNull();
  });
});

describe('simulated boots: counting', () => {
  const m = menu(LAYERS);

  it('arm tries=3: three boots of the armed entry count 1, 2, 3', () => {
    const r = boots(m, arm('B-2-0+1', 3, 'A-1-0+1'), 3);
    expect(r.map((b) => b.entry)).toEqual([entryId('B-2-0+1'), entryId('B-2-0+1'), entryId('B-2-0+1')]);
    expect(r.map((b) => b.env[ENV.count])).toEqual([`${ID}:1`, `${ID}:2`, `${ID}:3`]);
    expect(r.every((b) => b.env[ENV.fell] === undefined)).toBe(true);
  });

  // The fallback block compares ${default} (an entry id) with imgbased_try_id: the layer name has a '+' the id has not.
  it('arm tries=3: the 4th boot goes to the fallback and marks imgbased_fell; later boots stay there', () => {
    const r = boots(m, arm('B-2-0+1', 3, 'A-1-0+1'), 5);
    expect(r[3]!.entry).toBe(entryId('A-1-0+1'));
    expect(r[3]!.env[ENV.fell]).toBe(ID);
    expect(r[3]!.env[ENV.count]).toBe(`${ID}:3`);
    expect(r[4]).toEqual(r[3]);
  });

  it('a stale count from an older arm starts over at 1', () => {
    const r = boots(m, arm('B-2-0+1', 2, 'A-1-0+1', { [ENV.count]: '20261101T000000Z:2', [ENV.fell]: '20261101T000000Z' }), 2);
    expect(r.map((b) => b.entry)).toEqual([entryId('B-2-0+1'), entryId('B-2-0+1')]);
    expect(r.map((b) => b.env[ENV.count])).toEqual([`${ID}:1`, `${ID}:2`]);
  });

  it('a one-shot next_entry of the armed layer is counted too; the boot after goes back to saved_entry uncounted', () => {
    const start = arm('A-1-0+2', 3, 'A-1-0+1', { saved_entry: entryId('A-1-0+1'), next_entry: entryId('A-1-0+2') });
    const r = boots(m, start, 2);
    expect(r[0]).toMatchObject({ entry: entryId('A-1-0+2'), env: { [ENV.count]: `${ID}:1` } });
    expect(r[0]!.env.next_entry).toBeUndefined();
    expect(r[1]!.entry).toBe(entryId('A-1-0+1'));
    expect(r[1]!.env[ENV.count]).toBe(`${ID}:1`);
  });

  it('the armed entry picked by hand is counted; any other entry is not', () => {
    const env = arm('A-1-0+2', 3, 'A-1-0+1');
    expect(simulateBoot(m, env, { pick: entryId('A-1-0+2') }).env[ENV.count]).toBe(`${ID}:1`);
    expect(simulateBoot(m, env, { pick: entryId('A-1-0+1') }).env[ENV.count]).toBeUndefined();
    expect(simulateBoot(m, env).env[ENV.count]).toBeUndefined(); // the default, B-2-0+1, is not the armed layer
  });

  it('an arm without an id counts nothing', () => {
    const { [ENV.arm]: _, ...noId } = arm('B-2-0+1', 3, null);
    expect(simulateBoot(m, noId)).toMatchObject({ entry: entryId('B-2-0+1'), env: noId });
  });

  it('MAX_TRIES boots count up to MAX_TRIES and no further', () => {
    const r = boots(m, arm('B-2-0+1', MAX_TRIES, null), MAX_TRIES + 1);
    expect(r.slice(0, MAX_TRIES).map((b) => b.env[ENV.count])).toEqual(Array.from({ length: MAX_TRIES }, (_, i) => `${ID}:${i + 1}`));
    expect(r[MAX_TRIES]!.env[ENV.count]).toBe(`${ID}:${MAX_TRIES}`);
  });
});

// The fallback block itself, with real layer names (the '+' becomes '_' in entry ids): which layer GRUB goes back
// to, and that imgbased_fell is saved once.
describe('simulated boots: the fallback block', () => {
  // Newest first, as the planner passes them.
  const [L4, L3, L2, L1] = ['B-2-0+2', 'B-2-0+1', 'A-1-0+2', 'A-1-0+1'] as const;
  const m = (bad: string[] = []): string => menu([L4, L3, L2, L1], bad);

  it('tries=3: boots 1-3 count, the 4th goes to the armed fallback and saves imgbased_fell, later boots stay there', () => {
    const r = boots(m(), arm(L4, 3, L2), 6);
    expect(r.map((b) => b.entry)).toEqual([L4, L4, L4, L2, L2, L2].map(entryId));
    expect(r.map((b) => b.env[ENV.count])).toEqual([1, 2, 3, 3, 3, 3].map((n) => `${ID}:${n}`));
    expect(r.map((b) => b.env[ENV.fell])).toEqual([undefined, undefined, undefined, ID, ID, ID]);
    expect(simulateBoot(m(), r[2]!.env).echoes[0]).toBe('imgbased: B-2-0+2 used up its 3 boot tries; booting imgbased-A-1-0_2');
  });

  it('what GRUB leaves is what userland reads: the arm used up, fell, and its fallback the layer GRUB booted', () => {
    const r = boots(m(), arm(L4, 3, L2), 4);
    expect(armOf(r[2]!.env)).toMatchObject({ layer: L4, used: 3, fell: false });
    const after = armOf(r[3]!.env);
    expect(after).toMatchObject({ layer: L4, tries: 3, id: ID, used: 3, fell: true });
    expect(entryId(armFallback(after, [L1, L2, L3, L4])!)).toBe(r[3]!.entry);
  });

  it('tries=1: the second boot falls back', () => {
    expect(boots(m(), arm(L4, 1, L3), 2).map((b) => b.entry)).toEqual([L4, L3].map(entryId));
  });

  it('without a fallback, or with a bad one: the newest layer that is not bad and not the armed one', () => {
    const spent = (fb: string | null) => arm(L4, 2, fb, { [ENV.count]: `${ID}:2` });
    expect(simulateBoot(m(), spent(null)).entry).toBe(entryId(L3));
    expect(simulateBoot(m([L2]), spent(L2)).entry).toBe(entryId(L3));
    expect(simulateBoot(m([L3]), spent(null)).entry).toBe(entryId(L2));
  });

  it('an older layer armed through saved_entry falls back the same way', () => {
    const env = arm(L2, 2, L1, { saved_entry: entryId(L2), [ENV.count]: `${ID}:2` });
    expect(simulateBoot(m(), env)).toMatchObject({ entry: entryId(L1), env: { [ENV.fell]: ID } });
  });

  it('a one-shot next_entry of a spent armed layer falls back too', () => {
    const env = arm(L2, 2, L1, { next_entry: entryId(L2), [ENV.count]: `${ID}:2` });
    expect(simulateBoot(m(), env).entry).toBe(entryId(L1));
  });

  it('a stale fell mark from an older arm does not make a new arm fall back', () => {
    const env = arm(L4, 2, L1, { [ENV.count]: '20261101T000000Z:2', [ENV.fell]: '20261101T000000Z' });
    expect(simulateBoot(m(), env)).toMatchObject({ entry: entryId(L4), env: { [ENV.count]: `${ID}:1`, [ENV.fell]: '20261101T000000Z' } });
  });

  it('an arm whose imgbased_try_id is not the try\'s entry id (no arm to userland either) never falls back', () => {
    for (const tryId of ['imgbased-B-2-0+2', entryId(L3)]) {
      const env = arm(L4, 2, L1, { [ENV.tryId]: tryId, [ENV.count]: `${ID}:2` });
      expect(armOf(env)).toBeNull();
      const b = simulateBoot(m(), env);
      expect(b.entry).toBe(entryId(L4));
      expect(b.env[ENV.fell]).toBeUndefined();
    }
  });

  // An arm without imgbased_try_id (hand-edited, or cut short) is no arm to armOf; GRUB must ignore it too, even when
  // its default is empty (manage_default=0, GRUB_DEFAULT=saved, no saved_entry), where "" = "" would match.
  it('an arm without imgbased_try_id is ignored by the fallback block, even with an empty default', () => {
    const { [ENV.tryId]: _, ...noTryId } = arm(L4, 1, L1, { [ENV.count]: `${ID}:1` });
    const b = simulateBoot(m(), noTryId, { manageDefault: false });
    expect(b.entry).toBeNull();
    expect(b.env[ENV.fell]).toBeUndefined();
  });

  it('when the armed layer is the only one that is not bad, GRUB boots it anyway (there is nowhere to go)', () => {
    const env = arm(L4, 1, null, { [ENV.count]: `${ID}:1` });
    const b = simulateBoot(m([L3, L2, L1]), env);
    expect(b.entry).toBe(entryId(L4));
    expect(b.env[ENV.fell]).toBeUndefined();
  });
});
