// Hooks: discovery (on a temp tree), ordering across /usr/lib and /etc, replacement, masking, refusal, environment,
// and the hook steps a verb's plan gets.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ALIASES, EVENTS, bootEventContexts, eventDirs, hookEnv, parseHookTimeout, refuseUnsafe, resolveHooks, type FoundFile,
} from '../../src/core/hooks';
import { runHook, scanHooks } from '../../src/adapters/hooks';
import { applyPlan, PostHookError } from '../../src/adapters/apply';
import { entryId } from '../../src/core/bls';
import { EXIT_POST_HOOK } from '../../src/core/hooks';
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

function file(root: 'usr' | 'etc', dir: string, name: string, more: Partial<FoundFile> = {}): FoundFile {
  return {
    root, dir, name, path: `/${root}/${dir}/${name}`, masked: false, executable: true, uid: 0, mode: 0o100755,
    dirUid: 0, dirMode: 0o40755, ...more,
  };
}

describe('resolveHooks', () => {
  it('sorts /usr/lib and /etc together by name, C locale', () => {
    const found = [file('usr', 'pre-layer-add', '30-c'), file('etc', 'pre-layer-add', '20-b'), file('usr', 'pre-layer-add', '10-a'), file('usr', 'pre-layer-add', 'B'), file('usr', 'pre-layer-add', 'a.sh')];
    expect(resolveHooks(found, 'pre-layer-add').map((h) => h.name)).toEqual(['10-a', '20-b', '30-c', 'B', 'a.sh']);
  });
  it('runs every executable name (no run-parts filter): dots and odd names too', () => {
    const found = [file('etc', 'post-install', 'x.sh'), file('etc', 'post-install', 'with space')];
    expect(resolveHooks(found, 'post-install').every((h) => h.status === 'run')).toBe(true);
  });
  it('the same name in /etc replaces the one in /usr/lib', () => {
    const r = resolveHooks([file('usr', 'post-layer-add', '50-x'), file('etc', 'post-layer-add', '50-x')], 'post-layer-add');
    expect(r).toEqual([
      { name: '50-x', path: '/usr/post-layer-add/50-x', status: 'replaced', why: 'replaced by /etc/post-layer-add/50-x' },
      { name: '50-x', path: '/etc/post-layer-add/50-x', status: 'run', why: null },
    ]);
  });
  it('a symlink to /dev/null in /etc masks /usr/lib\'s', () => {
    const r = resolveHooks([file('usr', 'boot-good', '50-x'), file('etc', 'boot-good', '50-x', { masked: true, executable: false, uid: 0, mode: 0o20666 })], 'boot-good');
    expect(r.map((h) => h.status)).toEqual(['replaced', 'masked']);
  });
  it('a file that is not executable is skipped, not run', () => {
    expect(resolveHooks([file('etc', 'fallback', 'README', { executable: false, mode: 0o100644 })], 'fallback')[0]!.status).toBe('skipped');
  });
  it('refuses a hook not owned by root, writable by group or others, or in such a directory', () => {
    const cases: Array<Partial<FoundFile>> = [{ uid: 1000 }, { mode: 0o100775 }, { mode: 0o100757 }, { dirUid: 1000 }, { dirMode: 0o40777 }];
    for (const c of cases) {
      const f = [file('etc', 'pre-base-add', '10-x', c)];
      expect(resolveHooks(f, 'pre-base-add')[0]!.status, JSON.stringify(c)).toBe('refused');
      expect(() => refuseUnsafe(f, ['pre-base-add'])).toThrow(/refused/);
    }
    expect(() => refuseUnsafe([file('etc', 'pre-base-add', '10-x')], ['pre-base-add'])).not.toThrow();
    // hooks.d or the directory above it writable by others: event directories could be renamed under root.
    const parent = (mode: number, uid = 0) => [file('etc', 'pre-base-add', '10-x', { parents: [{ path: '/etc/imgbased/hooks.d', uid, mode }] })];
    expect(resolveHooks(parent(0o40777), 'pre-base-add')[0]!.why).toBe('/etc/imgbased/hooks.d is writable by group or others (mode 777)');
    expect(resolveHooks(parent(0o40755, 1000), 'pre-base-add')[0]!.status).toBe('refused');
    expect(resolveHooks(parent(0o41777), 'pre-base-add')[0]!.status).toBe('run');
    // Another event's unsafe hook does not stop this command.
    expect(() => refuseUnsafe([file('etc', 'boot-bad', '10-x', { mode: 0o100777 })], ['pre-base-add'])).not.toThrow();
  });
  it('the original imgbased names are aliases; an event\'s own directory wins a tie within one root', () => {
    expect(eventDirs('post-layer-add')).toEqual(['post-layer-add', 'new-layer-added']);
    for (const [alias, event] of Object.entries(ALIASES)) expect(EVENTS).toContain(event), expect(alias).not.toBe(event);
    const r = resolveHooks([file('etc', 'new-layer-added', '10-x'), file('etc', 'post-layer-add', '10-x'), file('etc', 'new-layer-added', '20-y')], 'post-layer-add');
    expect(r.filter((h) => h.status === 'run').map((h) => h.path)).toEqual(['/etc/post-layer-add/10-x', '/etc/new-layer-added/20-y']);
  });
});

describe('hook environment and events', () => {
  it('hookEnv names every variable of the contract', () => {
    expect(hookEnv('post-layer-add', { vg: 'HostVG', base: 'A-1-0', layer: 'A-1-0+2', prevLayer: 'A-1-0+1' }, '/mnt/x')).toEqual({
      IMGBASED_EVENT: 'post-layer-add', IMGBASED_VG: 'HostVG', IMGBASED_BASE: 'A-1-0', IMGBASED_LAYER: 'A-1-0+2',
      IMGBASED_PREV_LAYER: 'A-1-0+1', IMGBASED_NEW_ROOT: '/mnt/x', IMGBASED_DRY_RUN: '0',
    });
    expect(hookEnv('pre-base-remove', { vg: 'V', base: 'B-1-0' }, null)).toMatchObject({ IMGBASED_LAYER: '', IMGBASED_NEW_ROOT: '' });
  });
  it('boot events: each skipped layer is bad, one fallback, the booted layer good', () => {
    const ev = bootEventContexts({ requested: 'X-2-0+1', booted: 'X-1-0+1', fallbacks: [{ layer: 'X-2-0+1' }, { layer: 'X-1-0+2' }], vg: 'V' });
    expect(ev).toEqual([
      { event: 'boot-bad', ctx: { vg: 'V', layer: 'X-2-0+1' } },
      { event: 'boot-bad', ctx: { vg: 'V', layer: 'X-1-0+2' } },
      { event: 'fallback', ctx: { vg: 'V', layer: 'X-1-0+1', prevLayer: 'X-2-0+1' } },
      { event: 'boot-good', ctx: { vg: 'V', layer: 'X-1-0+1' } },
    ]);
    expect(bootEventContexts({ requested: null, booted: 'X-1-0+1', fallbacks: [] }).map((e) => e.event)).toEqual(['boot-good']);
    expect(bootEventContexts({ requested: 'Y', booted: null, fallbacks: [{ layer: 'Y' }] }).map((e) => e.event)).toEqual(['boot-bad']);
  });
  it('the timeout comes from hooks.conf, else 300 s', () => {
    expect(parseHookTimeout(null)).toBe(300);
    expect(parseHookTimeout('# x\ntimeout = 12\n')).toBe(12);
    expect(parseHookTimeout('timeout=0\n')).toBe(300);
    expect(parseHookTimeout('timeout=abc\n')).toBe(300);
  });
});

describe('scanHooks and runHook (temp tree, as root)', () => {
  it('reads both roots: executables, masks, non-executables, owners and modes', async () => {
    const usr = tmp();
    const etc = tmp();
    mkdirSync(join(usr, 'post-install'), { mode: 0o755 });
    mkdirSync(join(etc, 'post-install'), { mode: 0o755 });
    writeFileSync(join(usr, 'post-install', '10-a'), '#!/bin/sh\n', { mode: 0o755 });
    writeFileSync(join(usr, 'post-install', '20-b'), '#!/bin/sh\n', { mode: 0o755 });
    writeFileSync(join(usr, 'post-install', 'notes'), 'x', { mode: 0o644 });
    symlinkSync('/dev/null', join(etc, 'post-install', '20-b'));
    const found = await scanHooks({ usr, etc });
    const r = resolveHooks(found, 'post-install');
    expect(r.map((h) => [h.path.replace(usr, 'U').replace(etc, 'E'), h.status])).toEqual([
      ['U/post-install/10-a', 'run'], ['U/post-install/20-b', 'replaced'], ['E/post-install/20-b', 'masked'], ['U/post-install/notes', 'skipped'],
    ]);
  });
  it('runs a hook in /, stdin /dev/null, with the env, and fails on its exit code', async () => {
    const d = tmp();
    const out = join(d, 'out');
    const hook = join(d, 'h');
    writeFileSync(hook, `#!/bin/sh\npwd >${out}; echo "$IMGBASED_EVENT" >>${out}; [ -t 0 ] || cat >>${out}; echo said; exit \${CODE:-0}\n`, { mode: 0o755 });
    await runHook({ name: 'h', path: hook, env: { IMGBASED_EVENT: 'pre-base-add' }, timeoutS: 10 });
    expect(readFileSync(out, 'utf8')).toBe('/\npre-base-add\n');
    await expect(runHook({ name: 'h', path: hook, env: { CODE: '3' }, timeoutS: 10 })).rejects.toThrow(`hook ${hook} exited 3`);
  });
  it('kills the hook and its children at the timeout', async () => {
    const d = tmp();
    const hook = join(d, 'slow');
    const pidFile = join(d, 'child.pid');
    writeFileSync(hook, `#!/bin/sh\nsleep 60 &\necho $! >${pidFile}\nsleep 60\n`, { mode: 0o755 });
    const t0 = Date.now();
    await expect(runHook({ name: 'slow', path: hook, env: {}, timeoutS: 1 })).rejects.toThrow(/did not finish within 1 s/);
    expect(Date.now() - t0).toBeLessThan(10_000);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    await new Promise((r) => setTimeout(r, 200));
    expect(existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ')).toBe(false);
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
