// Hooks, pure: ordering across /usr/lib and /etc, replacement, masking, the run-parts name filter, refusal (every
// directory up to /, a symlink's target), the environment, and the hook steps a verb's plan gets. Real processes
// and temp trees: hooks-run.test.ts.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ALIASES, BAD_NAME_WHY, EVENTS, HOOK_PATH, eventDirs, hookEnv, hookProcessEnv, parseHookTimeout, refuseUnsafe, resolveDirs,
  resolveHooks, setRefusedAside, type FoundFile,
} from '../../src/core/hooks';
import { applyPlan, PostHookError } from '../../src/adapters/apply';
import { entryId } from '../../src/core/bls';
import { EXIT_POST_HOOK } from '../../src/core/hooks';
import { eventSteps } from '../../src/core/plans/compose';
import { planBaseAdd, planLayerAdd, planLayerRemove } from '../../src/core/plans/verbs';
import { STUB_CFG, VG, kernelsOf, layoutRecords, makeBoot, planInput, recorder, syncBoot } from './helpers/plan-fixtures';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'hooks-'));
  chmodSync(d, 0o755);
  dirs.push(d);
  return d;
}

const safeDirs = (path: string) => {
  const parts = path.split('/').slice(0, -1);
  return parts.map((_, i) => ({ path: parts.slice(0, i + 1).join('/') || '/', uid: 0, mode: 0o40755 }));
};
function file(root: 'usr' | 'etc', dir: string, name: string, more: Partial<FoundFile> = {}): FoundFile {
  const path = `/${root}/${dir}/${name}`;
  return { root, dir, name, path, masked: false, executable: true, target: path, uid: 0, mode: 0o100755, dirs: safeDirs(path), ...more };
}
/** The same file with one directory on its way changed. */
function withDir(f: FoundFile, path: string, uid: number, mode: number): FoundFile {
  return { ...f, dirs: f.dirs.map((d) => (d.path === path ? { path, uid, mode } : d)) };
}

describe('resolveHooks', () => {
  it('sorts /usr/lib and /etc together by name, C locale', () => {
    const found = [file('usr', 'pre-layer-add', '30-c'), file('etc', 'pre-layer-add', '20-b'), file('usr', 'pre-layer-add', '10-a'), file('usr', 'pre-layer-add', 'B'), file('usr', 'pre-layer-add', 'a_b')];
    expect(resolveHooks(found, 'pre-layer-add').map((h) => h.name)).toEqual(['10-a', '20-b', '30-c', 'B', 'a_b']);
  });
  it('runs only names of [A-Za-z0-9_-] (like run-parts): an update\'s .imgnew, x.sh, a backup~ are skipped with why', () => {
    const odd = ['50-x.imgnew', 'x.sh', '10-a~', 'with space', '.hidden', '20-b.dpkg-old'];
    const good = ['10-a', 'Z_up', 'a-low', '99'];
    const r = resolveHooks([...odd, ...good].map((n) => file('etc', 'post-install', n)), 'post-install');
    expect(r.filter((h) => h.status === 'run').map((h) => h.name).sort()).toEqual([...good].sort());
    for (const n of odd) expect(r.find((h) => h.name === n), n).toMatchObject({ status: 'skipped', why: 'name is not [A-Za-z0-9_-]+ (like run-parts)' });
    expect(BAD_NAME_WHY).toBe('name is not [A-Za-z0-9_-]+ (like run-parts)');
    // An odd name is skipped even when unsafe: it never runs, so it stops nothing.
    const unsafeOdd = [file('etc', 'pre-base-add', '50-x.imgnew', { mode: 0o100777 })];
    expect(resolveHooks(unsafeOdd, 'pre-base-add')[0]!.status).toBe('skipped');
    expect(() => refuseUnsafe(unsafeOdd, ['pre-base-add'])).not.toThrow();
  });
  it('health checks (check.d) follow the same name rule', () => {
    const r = resolveDirs([file('etc', 'required', '10-ok'), file('etc', 'required', '10-ok.imgnew')], ['required']);
    expect(r.map((h) => `${h.status} ${h.name}`)).toEqual(['run 10-ok', 'skipped 10-ok.imgnew']);
  });
  it('the same name in /etc replaces the one in /usr/lib', () => {
    const r = resolveHooks([file('usr', 'post-layer-add', '50-x'), file('etc', 'post-layer-add', '50-x')], 'post-layer-add');
    expect(r).toEqual([
      { name: '50-x', path: '/usr/post-layer-add/50-x', status: 'replaced', why: 'replaced by /etc/post-layer-add/50-x' },
      { name: '50-x', path: '/etc/post-layer-add/50-x', status: 'run', why: null },
    ]);
  });
  it('a symlink to /dev/null in /etc masks /usr/lib\'s', () => {
    const r = resolveHooks([file('usr', 'boot-good', '50-x'), file('etc', 'boot-good', '50-x', { masked: true, executable: false, target: '/dev/null', uid: 0, mode: 0o20666 })], 'boot-good');
    expect(r.map((h) => h.status)).toEqual(['replaced', 'masked']);
  });
  it('a file that is not executable is skipped, not run', () => {
    expect(resolveHooks([file('etc', 'fallback', 'README', { executable: false, mode: 0o100644 })], 'fallback')[0]).toMatchObject({ status: 'skipped', why: 'not executable' });
  });
  it('refuses a hook not owned by root or writable by group or others', () => {
    const cases: Array<[Partial<FoundFile>, string]> = [
      [{ uid: 1000 }, 'it is owned by uid 1000, not root'],
      [{ mode: 0o100775 }, 'it is writable by group or others (mode 775)'],
      [{ mode: 0o100757 }, 'it is writable by group or others (mode 757)'],
    ];
    for (const [c, why] of cases) {
      const f = [file('etc', 'pre-base-add', '10-x', c)];
      expect(resolveHooks(f, 'pre-base-add')[0], JSON.stringify(c)).toMatchObject({ status: 'refused', why });
      expect(() => refuseUnsafe(f, ['pre-base-add'])).toThrow(`hook /etc/pre-base-add/10-x (pre-base-add) is refused: ${why}`);
    }
    expect(() => refuseUnsafe([file('etc', 'pre-base-add', '10-x')], ['pre-base-add'])).not.toThrow();
    // Another event's unsafe hook does not stop this command.
    expect(() => refuseUnsafe([file('etc', 'boot-bad', '10-x', { mode: 0o100777 })], ['pre-base-add'])).not.toThrow();
  });
  it('refuses when any directory up to / is not root\'s or is writable by group or others; sticky does not excuse it', () => {
    const f = file('etc', 'pre-base-add', '10-x');
    expect(f.dirs.map((d) => d.path)).toEqual(['/', '/etc', '/etc/pre-base-add']);
    const why = (g: FoundFile): string | null => resolveHooks([g], 'pre-base-add')[0]!.why;
    expect(why(withDir(f, '/etc/pre-base-add', 1000, 0o40755))).toBe('its directory is owned by uid 1000, not root');
    expect(why(withDir(f, '/etc/pre-base-add', 0, 0o40775))).toBe('its directory is writable by group or others (mode 775)');
    expect(why(withDir(f, '/etc', 0, 0o41777))).toBe('/etc is writable by group or others (mode 1777)');
    expect(why(withDir(f, '/', 1000, 0o40755))).toBe('/ is owned by uid 1000, not root');
    expect(why(withDir(f, '/etc/pre-base-add', 0, 0o41777))).toBe('its directory is writable by group or others (mode 1777)');
  });
  it('a symlink: its target and every directory on the target\'s way are checked too; a mask only needs its own way safe', () => {
    const link = file('etc', 'pre-base-add', '10-x', { target: '/opt/h/10-x', dirs: [...safeDirs('/etc/pre-base-add/10-x'), ...safeDirs('/opt/h/10-x').slice(1)] });
    expect(resolveHooks([link], 'pre-base-add')[0]!.status).toBe('run');
    expect(resolveHooks([withDir(link, '/opt/h', 1000, 0o40755)], 'pre-base-add')[0]!.why).toBe('/opt/h is owned by uid 1000, not root');
    expect(resolveHooks([{ ...link, uid: 1000 }], 'pre-base-add')[0]!.why).toBe('its target /opt/h/10-x is owned by uid 1000, not root');
    expect(resolveHooks([{ ...link, mode: 0o100777 }], 'pre-base-add')[0]!.why).toBe('its target /opt/h/10-x is writable by group or others (mode 777)');
    const mask = file('etc', 'boot-good', '50-x', { masked: true, executable: false, target: '/dev/null', uid: 0, mode: 0o20666 });
    expect(resolveHooks([mask], 'boot-good')[0]!.status).toBe('masked');
    expect(resolveHooks([withDir(mask, '/etc/boot-good', 0, 0o40777)], 'boot-good')[0]!.status).toBe('refused');
  });
  it('setRefusedAside: the refused hook and every file of its name for that event are set aside, the rest stays', () => {
    const found = [
      file('usr', 'boot-good', '10-x'), file('etc', 'boot-good', '10-x', { mode: 0o100777 }), file('etc', 'boot-good', '20-ok'),
      file('etc', 'boot-bad', '10-x'),
    ];
    const r = setRefusedAside(found, ['boot-good', 'boot-bad']);
    expect(r.refused).toEqual([{ event: 'boot-good', name: '10-x', path: '/etc/boot-good/10-x', why: 'it is writable by group or others (mode 777)' }]);
    expect(r.found.map((f) => f.path)).toEqual(['/etc/boot-good/20-ok', '/etc/boot-bad/10-x']);
    expect(() => eventSteps(r.found, 300, [{ event: 'boot-good', ctx: { vg: 'V' } }])).not.toThrow();
    expect(() => eventSteps(found, 300, [{ event: 'boot-good', ctx: { vg: 'V' } }])).toThrow(/refused/);
  });
  it('the original imgbased names are aliases; an event\'s own directory wins a tie within one root', () => {
    expect(eventDirs('post-layer-add')).toEqual(['post-layer-add', 'new-layer-added']);
    for (const [alias, event] of Object.entries(ALIASES)) expect(EVENTS).toContain(event), expect(alias).not.toBe(event);
    const r = resolveHooks([file('etc', 'new-layer-added', '10-x'), file('etc', 'post-layer-add', '10-x'), file('etc', 'new-layer-added', '20-y')], 'post-layer-add');
    expect(r.filter((h) => h.status === 'run').map((h) => h.path)).toEqual(['/etc/post-layer-add/10-x', '/etc/new-layer-added/20-y']);
  });
});

describe('hook environment', () => {
  it('hookEnv names every variable of the contract', () => {
    expect(hookEnv('post-layer-add', { vg: 'HostVG', base: 'A-1-0', layer: 'A-1-0+2', prevLayer: 'A-1-0+1' }, '/mnt/x')).toEqual({
      IMGBASED_EVENT: 'post-layer-add', IMGBASED_VG: 'HostVG', IMGBASED_BASE: 'A-1-0', IMGBASED_LAYER: 'A-1-0+2',
      IMGBASED_PREV_LAYER: 'A-1-0+1', IMGBASED_NEW_ROOT: '/mnt/x', IMGBASED_DRY_RUN: '0',
    });
    expect(hookEnv('pre-base-remove', { vg: 'V', base: 'B-1-0' }, null)).toMatchObject({ IMGBASED_LAYER: '', IMGBASED_NEW_ROOT: '' });
  });
  it('a hook\'s whole environment: the fixed PATH, LANG=C.UTF-8 and the IMGBASED_* variables, nothing else', () => {
    expect(HOOK_PATH).toBe('/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
    expect(hookProcessEnv({ IMGBASED_VG: 'V', PATH: '/home/u/bin', HOME: '/root', LD_PRELOAD: 'x.so', LANG: 'de_DE' })).toEqual({
      PATH: HOOK_PATH, LANG: 'C.UTF-8', IMGBASED_VG: 'V',
    });
  });
  it('the timeout comes from hooks.conf, else 300 s', () => {
    expect(parseHookTimeout(null)).toBe(300);
    expect(parseHookTimeout('# x\ntimeout = 12\n')).toBe(12);
    expect(parseHookTimeout('timeout=0\n')).toBe(300);
    expect(parseHookTimeout('timeout=abc\n')).toBe(300);
  });
});

describe('hooks in the plans', () => {
  const every = (event: string): FoundFile[] => [file('etc', event, '10-rec')];
  async function input(hooks: FoundFile[], env: Record<string, string> = {}) {
    const dir = tmp();
    const b = makeBoot(dir, { cfg: STUB_CFG, env });
    const kernels = await kernelsOf(join(dir, 'trees'), ['A-1-0']);
    const records = layoutRecords(['A-1-0'], ['A-1-0+1']);
    await syncBoot(b.boot, records, kernels, { grubDDir: b.grubDDir });
    return planInput(b.boot, records, kernels, { grubDDir: b.grubDDir, hooks });
  }

  it('layer --add: pre- hooks before every other step, post-layer-add and post-install last with the new root', async () => {
    const hooks = ['pre-layer-add', 'post-layer-add', 'post-install'].flatMap(every);
    const plan = planLayerAdd(await input(hooks), undefined);
    const k = plan.steps.map((s) => (s.kind === 'hook' ? `${s.phase}:${s.event}` : s.kind));
    expect(k[0]).toBe('pre:pre-layer-add');
    expect(k.slice(-2)).toEqual(['post:post-layer-add', 'post:post-install']);
    const post = plan.steps.filter((s) => s.kind === 'hook' && s.phase === 'post');
    for (const s of post) expect(s.kind === 'hook' && s.newRoot).toEqual({ vg: VG, lv: 'A-1-0+2' });
    const pre = plan.steps[0]!;
    expect(pre.kind === 'hook' && pre.env).toMatchObject({ IMGBASED_EVENT: 'pre-layer-add', IMGBASED_LAYER: 'A-1-0+2', IMGBASED_PREV_LAYER: 'A-1-0+1', IMGBASED_BASE: 'A-1-0' });
  });

  it('no post-install when another layer is pinned as the default', async () => {
    const plan = planLayerAdd(await input(every('post-install'), { saved_entry: entryId('A-1-0+1') }), undefined);
    expect(plan.steps.some((s) => s.kind === 'hook')).toBe(false);
  });

  it('a refused hook stops the plan before it has a single step', async () => {
    const i = await input([file('etc', 'post-layer-remove', '10-x', { mode: 0o100777 })]);
    expect(() => planLayerRemove(i, 'A-1-0+1')).toThrow(/refused: it is writable by group or others/);
    expect(() => planBaseAdd(i, 'D-4-0', 2 ** 30, null)).not.toThrow();
  });

  it('a failing pre- hook aborts with nothing done; a failing post- hook keeps the work and exits 5', async () => {
    const plan = planLayerRemove(await input([...every('pre-layer-remove'), ...every('post-layer-remove')]), 'A-1-0+1');
    const failing = (phase: 'pre' | 'post') => recorder((s) => s.kind === 'hook' && s.phase === phase);
    const a = failing('pre');
    await expect(applyPlan(plan.steps, { perform: a.perform })).rejects.toThrow();
    expect(a.ran).toEqual([]);
    const b = failing('post');
    const err = await applyPlan(plan.steps, { perform: b.perform }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PostHookError);
    expect((err as PostHookError).exitCode).toBe(EXIT_POST_HOOK);
    expect(b.undone).toEqual([]);
    expect(b.ran.some((l) => l.startsWith('remove HostVG/A-1-0+1'))).toBe(true);
  });
});
