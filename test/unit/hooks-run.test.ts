// The hook runner on real processes and temp trees (as root): what is refused (every directory up to /, a symlink's
// target, sticky /tmp), that the checked open file is what runs, the fixed environment, and that a timeout is a hard
// limit that leaves nothing behind, setsid daemonizers included. Pure rules: hooks.test.ts.
import {
  chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HOOK_KILL_GRACE_S, HOOK_PATH, resolveHooks } from '../../src/core/hooks';
import { HookFailure, runHook, scanHooks } from '../../src/adapters/hooks';
import { runChecks } from '../../src/adapters/checks';
import { setSink } from '../../src/adapters/log';

const dirs: string[] = [];
const pids: number[] = [];
const logged: string[] = [];
afterEach(() => {
  for (const p of pids.splice(0)) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // gone, as it should be
    }
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  logged.splice(0);
  setSink((l) => process.stderr.write(`${l}\n`));
  vi.unstubAllEnvs();
});
function captureLog(): void {
  setSink((l) => logged.push(l));
}

/** A directory whose every parent up to / is root's and not writable by others (/run is; /tmp is not). */
function safeTmp(): string {
  const d = mkdtempSync('/run/imgbased-hooks-test-');
  chmodSync(d, 0o755);
  dirs.push(d);
  return d;
}
function script(path: string, body: string, mode = 0o755): string {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, mode);
  return path;
}
/** Alive: in /proc and not a zombie. */
function alive(pid: number): boolean {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
function pidOf(file: string): number {
  const p = Number(readFileSync(file, 'utf8'));
  pids.push(p);
  return p;
}
async function timed(p: Promise<void>): Promise<{ err: unknown; ms: number }> {
  const t0 = Date.now();
  const err = await p.then(() => null, (e: unknown) => e);
  return { err, ms: Date.now() - t0 };
}
/** The hook's refusal when run, and its status and why when listed. */
async function refusal(path: string, root: string): Promise<{ run: string; listed: string }> {
  const { err } = await timed(runHook({ name: 'h', path, env: {}, timeoutS: 10 }));
  expect(err).toBeInstanceOf(HookFailure);
  const h = resolveHooks(await scanHooks({ usr: join(root, 'none'), etc: root }), 'pre-base-add')[0]!;
  return { run: (err as HookFailure).message, listed: `${h.status}: ${h.why}` };
}

describe('scanHooks', () => {
  it('reads both roots: executables, masks, non-executables, odd names', async () => {
    const usr = safeTmp();
    const etc = safeTmp();
    script(join(usr, 'post-install', '10-a'), '');
    script(join(usr, 'post-install', '20-b'), '');
    script(join(usr, 'post-install', '30-c.imgnew'), '');
    script(join(usr, 'post-install', 'notes'), '', 0o644);
    mkdirSync(join(etc, 'post-install'), { mode: 0o755 });
    symlinkSync('/dev/null', join(etc, 'post-install', '20-b'));
    const r = resolveHooks(await scanHooks({ usr, etc }), 'post-install');
    expect(r.map((h) => [h.path.replace(usr, 'U').replace(etc, 'E'), h.status, h.why])).toEqual([
      ['U/post-install/10-a', 'run', null], ['U/post-install/20-b', 'replaced', `replaced by ${etc}/post-install/20-b`],
      ['E/post-install/20-b', 'masked', 'a symlink to /dev/null'], ['U/post-install/30-c.imgnew', 'skipped', 'name is not [A-Za-z0-9_-]+ (like run-parts)'],
      ['U/post-install/notes', 'skipped', 'not executable'],
    ]);
  });
});

describe('runHook: what runs', () => {
  it('runs in /, stdin /dev/null, $0 /proc/self/fd/3, with only PATH, LANG and the IMGBASED_* variables; fails on its exit code', async () => {
    const d = safeTmp();
    const out = join(d, 'out');
    const hook = script(join(d, 'hooks', 'h'), `{ pwd; readlink /proc/$$/fd/0; echo "$0"; tr '\\0' '\\n' </proc/$$/environ | LC_ALL=C sort; } >${out}; exit \${IMGBASED_CODE:-0}`);
    vi.stubEnv('HOOKTEST_LEAK', 'inherited');
    vi.stubEnv('PATH', `/nowhere:${process.env.PATH}`);
    await runHook({ name: 'h', path: hook, env: { IMGBASED_EVENT: 'pre-base-add', CODE: '3' }, timeoutS: 10 });
    expect(readFileSync(out, 'utf8').split('\n')).toEqual([
      '/', '/dev/null', '/proc/self/fd/3', 'IMGBASED_EVENT=pre-base-add', `IMGBASED_HOOK=${hook}`, 'LANG=C.UTF-8', `PATH=${HOOK_PATH}`, '',
    ]);
    await expect(runHook({ name: 'h', path: hook, env: { IMGBASED_CODE: '3' }, timeoutS: 10 })).rejects.toThrow(`hook ${hook} exited 3`);
  });
  it('runs ELF executables and #! scripts through the open file (/proc/self/fd/3)', async () => {
    const d = join(safeTmp(), 'hooks');
    mkdirSync(d, { mode: 0o755 });
    for (const [n, src] of [['t', '/bin/true'], ['f', '/bin/false']]) {
      copyFileSync(src!, join(d, n!));
      chmodSync(join(d, n!), 0o755);
    }
    await expect(runHook({ name: 't', path: join(d, 't'), env: {}, timeoutS: 10 })).resolves.toBeUndefined();
    await expect(runHook({ name: 'f', path: join(d, 'f'), env: {}, timeoutS: 10 })).rejects.toThrow(/exited 1$/);
  });
  it('a file swapped in between the check and the run does not run: the checked open file does', async () => {
    const d = safeTmp();
    const out = join(d, 'out');
    const hook = script(join(d, 'hooks', 'h'), `echo original >>${out}`);
    const evil = script(join(d, 'hooks', 'evil'), `echo swapped >>${out}`);
    await runHook({ name: 'h', path: hook, env: {}, timeoutS: 10 }, { afterCheck: () => renameSync(evil, hook) });
    expect(readFileSync(hook, 'utf8')).toContain('swapped');
    expect(readFileSync(out, 'utf8')).toBe('original\n');
  });
});

describe('runHook: what is refused (listed and at run time), before anything runs', () => {
  it('a root-owned target, through a symlink, in a directory owned by another user', async () => {
    const d = safeTmp();
    const ran = join(d, 'ran');
    const userDir = join(d, 'user');
    const target = script(join(userDir, 'h'), `touch ${ran}`);
    chownSync(userDir, 1000, 1000);
    mkdirSync(join(d, 'hooks', 'pre-base-add'), { recursive: true, mode: 0o755 });
    symlinkSync(target, join(d, 'hooks', 'pre-base-add', '10-h'));
    const r = await refusal(join(d, 'hooks', 'pre-base-add', '10-h'), join(d, 'hooks'));
    expect(r.listed).toBe(`refused: ${userDir} is owned by uid 1000, not root`);
    expect(r.run).toBe(`hook ${join(d, 'hooks', 'pre-base-add', '10-h')} is refused: ${userDir} is owned by uid 1000, not root`);
    // The link's own way counts too, with the target's safe.
    chownSync(userDir, 0, 0);
    chmodSync(join(d, 'hooks', 'pre-base-add'), 0o775);
    expect((await refusal(join(d, 'hooks', 'pre-base-add', '10-h'), join(d, 'hooks'))).listed).toBe('refused: its directory is writable by group or others (mode 775)');
    expect(existsSync(ran)).toBe(false);
  });
  it('a root-owned hook in /tmp symlinked into a hook directory: sticky world-writable /tmp does not pass', async () => {
    expect(statSync('/tmp').mode & 0o7777).toBe(0o1777);
    const d = safeTmp();
    const t = mkdtempSync('/tmp/imgbased-hooks-test-');
    dirs.push(t);
    const ran = join(d, 'ran');
    mkdirSync(join(d, 'hooks', 'pre-base-add'), { recursive: true, mode: 0o755 });
    symlinkSync(script(join(t, 'h'), `touch ${ran}`), join(d, 'hooks', 'pre-base-add', '10-h'));
    const r = await refusal(join(d, 'hooks', 'pre-base-add', '10-h'), join(d, 'hooks'));
    expect(r.listed).toBe('refused: /tmp is writable by group or others (mode 1777)');
    expect(r.run).toMatch(/is refused: \/tmp is writable by group or others \(mode 1777\)$/);
    expect(existsSync(ran)).toBe(false);
  });
  it('any directory up to /, three levels above the hook: another owner, or writable by others even if sticky', async () => {
    const d = safeTmp();
    const ran = join(d, 'ran');
    const a = join(d, 'a');
    const root = join(a, 'b', 'hooks.d');
    const hook = script(join(root, 'pre-base-add', '10-h'), `touch ${ran}`);
    chmodSync(a, 0o755);
    chownSync(a, 1000, 1000);
    expect(await refusal(hook, root)).toEqual({ run: `hook ${hook} is refused: ${a} is owned by uid 1000, not root`, listed: `refused: ${a} is owned by uid 1000, not root` });
    chownSync(a, 0, 0);
    chmodSync(a, 0o1777);
    expect((await refusal(hook, root)).listed).toBe(`refused: ${a} is writable by group or others (mode 1777)`);
    chmodSync(a, 0o755);
    chmodSync(join(root, 'pre-base-add'), 0o775);
    expect((await refusal(hook, root)).listed).toBe('refused: its directory is writable by group or others (mode 775)');
    expect(existsSync(ran)).toBe(false);
  });
  it('the hook itself: owned by another user, or group-writable', async () => {
    const d = safeTmp();
    const ran = join(d, 'ran');
    const hook = script(join(d, 'hooks', 'pre-base-add', '10-h'), `touch ${ran}`, 0o775);
    expect((await refusal(hook, join(d, 'hooks'))).run).toBe(`hook ${hook} is refused: it is writable by group or others (mode 775)`);
    chmodSync(hook, 0o755);
    chownSync(hook, 1000, 1000);
    expect((await refusal(hook, join(d, 'hooks'))).listed).toBe('refused: it is owned by uid 1000, not root');
    expect(existsSync(ran)).toBe(false);
  });
  it('at run time the open file must be a regular file with an x bit', async () => {
    const d = safeTmp();
    const hook = script(join(d, 'hooks', 'h'), `touch ${join(d, 'ran')}`, 0o644);
    await expect(runHook({ name: 'h', path: hook, env: {}, timeoutS: 10 })).rejects.toThrow(`hook ${hook} is refused: it is not executable`);
    mkdirSync(join(d, 'hooks', 'dir'), { mode: 0o755 });
    await expect(runHook({ name: 'dir', path: join(d, 'hooks', 'dir'), env: {}, timeoutS: 10 })).rejects.toThrow(/is refused: it is not a regular file$/);
    expect(existsSync(join(d, 'ran'))).toBe(false);
  });
  it('a symlink to /dev/null stays a mask: listed masked, never run', async () => {
    const d = join(safeTmp(), 'pre-base-add');
    mkdirSync(d, { mode: 0o755 });
    symlinkSync('/dev/null', join(d, '10-m'));
    captureLog();
    await expect(runHook({ name: '10-m', path: join(d, '10-m'), env: {}, timeoutS: 10 })).resolves.toBeUndefined();
    expect(logged.join('\n')).toMatch(/10-m: masked since it was listed; not run/);
    expect(resolveHooks(await scanHooks({ usr: '/nonexistent', etc: dirname(d) }), 'pre-base-add')[0]!.status).toBe('masked');
  });
});

describe('runHook: a timeout is a hard limit, nothing is left behind', () => {
  const limit = (timeoutS: number): number => (timeoutS + HOOK_KILL_GRACE_S + 2) * 1000;
  for (const [what, redirect] of [['its output not redirected', ''], ['its output redirected', ' >/dev/null 2>&1']] as const) {
    it(`a hook starting setsid sleep 60 & (${what}) under a 2 s timeout is killed at the timeout with it`, async () => {
      const d = safeTmp();
      const pidFile = join(d, 'pid');
      const hook = script(join(d, 'hooks', 'h'), `setsid sh -c 'echo $$ >${pidFile}; exec sleep 60'${redirect} &\nsleep 60`);
      const { err, ms } = await timed(runHook({ name: 'h', path: hook, env: {}, timeoutS: 2 }));
      console.log(`hooks-run: setsid sleep 60 &${redirect}, timeout 2 s: runHook took ${ms} ms`);
      expect(err).toBeInstanceOf(HookFailure);
      expect((err as HookFailure).short).toBe('killed after 2 s');
      expect((err as Error).message).toBe(`hook ${hook} did not finish within 2 s and was killed with its children`);
      expect(ms).toBeGreaterThanOrEqual(2000);
      expect(ms).toBeLessThan(limit(2));
      expect(alive(pidOf(pidFile))).toBe(false);
    }, 20_000);
  }
  it('at the timeout the hook gets SIGTERM first: it can clean up', async () => {
    const d = safeTmp();
    const hook = script(join(d, 'hooks', 'h'), `trap 'echo TERM >${join(d, 'got')}; exit 0' TERM\nsleep 60 &\nwait`);
    const { err, ms } = await timed(runHook({ name: 'h', path: hook, env: {}, timeoutS: 2 }));
    expect((err as HookFailure).short).toBe('killed after 2 s');
    expect(readFileSync(join(d, 'got'), 'utf8')).toBe('TERM\n');
    expect(ms).toBeLessThan(limit(2) - HOOK_KILL_GRACE_S * 1000);
  }, 20_000);
  it('a hook that ignores SIGTERM gets SIGKILL after the grace period', async () => {
    const d = safeTmp();
    const hook = script(join(d, 'hooks', 'h'), `echo $$ >${join(d, 'pid')}\ntrap '' TERM\nsleep 60`);
    const { err, ms } = await timed(runHook({ name: 'h', path: hook, env: {}, timeoutS: 2 }));
    console.log(`hooks-run: SIGTERM ignored, timeout 2 s: runHook took ${ms} ms`);
    expect((err as HookFailure).short).toBe('killed after 2 s');
    expect(ms).toBeGreaterThanOrEqual((2 + HOOK_KILL_GRACE_S) * 1000);
    expect(ms).toBeLessThan(limit(2));
    expect(alive(pidOf(join(d, 'pid')))).toBe(false);
  }, 20_000);
  for (const [what, prefix] of [['in its process group', ''], ['started with setsid', 'setsid ']] as const) {
    it(`exit 0 leaving a child (${what}) on its stdout: success at once, the child killed and logged`, async () => {
      const d = safeTmp();
      const pidFile = join(d, 'pid');
      const hook = script(join(d, 'hooks', 'h'), `${prefix}sh -c 'echo $$ >${pidFile}; exec sleep 60' &\nwhile [ ! -s ${pidFile} ]; do sleep 0.05; done\necho done`);
      captureLog();
      const { err, ms } = await timed(runHook({ name: 'h', path: hook, env: {}, timeoutS: 30 }));
      console.log(`hooks-run: exit 0 with a ${prefix}child on stdout: runHook took ${ms} ms`);
      expect(err).toBeNull();
      expect(ms).toBeLessThan(3000);
      const pid = pidOf(pidFile);
      expect(alive(pid)).toBe(false);
      expect(logged).toContain(`imgbase: warning: hook h: killed 1 process(es) it left behind: ${pid} (sleep)`);
    }, 20_000);
  }
});

describe('runChecks', () => {
  it('health checks: an odd name is skipped (never run), an unsafe one refused and failed, the others run', async () => {
    const usr = safeTmp();
    const etc = safeTmp();
    const ran = join(etc, 'ran');
    script(join(etc, 'required', '10-ok'), `tr '\\0' '\\n' </proc/$$/environ | LC_ALL=C sort >${join(etc, 'env')}`);
    script(join(etc, 'required', '20-ok.imgnew'), `touch ${ran}; exit 1`);
    script(join(etc, 'wanted', '30-ww'), `touch ${ran}`, 0o777);
    captureLog();
    const r = await runChecks({ IMGBASED_VG: 'V', IMGBASED_LAYER: 'L' }, 10, { usr, etc });
    expect(r.map((c) => ({ name: c.name, kind: c.kind, ok: c.ok, why: c.why }))).toEqual([
      { name: '10-ok', kind: 'required', ok: true, why: null },
      { name: '30-ww', kind: 'wanted', ok: false, why: 'refused: it is writable by group or others (mode 777)' },
    ]);
    expect(existsSync(ran)).toBe(false);
    // The hooks' environment, with the check's variables.
    expect(readFileSync(join(etc, 'env'), 'utf8').split('\n')).toEqual([
      'IMGBASED_CHECK=required', `IMGBASED_HOOK=${etc}/required/10-ok`, 'IMGBASED_LAYER=L', 'IMGBASED_VG=V', 'LANG=C.UTF-8', `PATH=${HOOK_PATH}`, '',
    ]);
    expect(logged.join('\n')).toContain(`health check ${etc}/required/20-ok.imgnew skipped: name is not [A-Za-z0-9_-]+ (like run-parts)`);
  });
});
