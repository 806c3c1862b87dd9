// Programs imgbase runs, hooks included, die with it: the parent-death signal set through setpriv.
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildSync } from 'esbuild';
import { spawnExeca } from '../../src/adapters/spawn-execa';

const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };

function alive(pid: number): boolean {
  try {
    return !/^[^)]*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('spawnExeca', () => {
  it('runs a program with its argv, stdout and exit code', async () => {
    const r = await spawnExeca({ cmd: 'sh', args: ['-c', 'echo "$1"; exit 3', 'sh', 'a b'], env });
    expect(r).toMatchObject({ stdout: 'a b', exitCode: 3, notFound: false });
  });

  it('a missing program is reported as not found', async () => {
    const r = await spawnExeca({ cmd: 'no-such-program-imgbased', args: [], env });
    expect(r.notFound).toBe(true);
  });

  it('a program it started is killed when the process that started it is killed (kill -9)', async () => {
    // A separate node process runs spawnExeca (bundled by esbuild) with `sleep 60`, and is then SIGKILLed.
    const dir = mkdtempSync(join(tmpdir(), 'pdeath-'));
    await expectSleeperDiesWithParent(dir, `import { spawnExeca } from ${JSON.stringify(resolve('src/adapters/spawn-execa'))};
      void spawnExeca({ cmd: 'sleep', args: ['60'], env: { PATH: process.env.PATH } });`);
  });
});

describe('runHook', () => {
  it('a hook dies with a killed imgbase too (kill -9 of the process running it)', async () => {
    // A root-owned directory chain (/run is root's, not world-writable), as the hook rules demand.
    const dir = mkdtempSync('/run/imgbased-pdeath-');
    const hook = join(dir, '50-wait');
    writeFileSync(hook, '#!/bin/sh\nexec sleep 60\n', { mode: 0o755 });
    await expectSleeperDiesWithParent(dir, `import { runHook } from ${JSON.stringify(resolve('src/adapters/hooks'))};
      void runHook({ name: '50-wait', path: ${JSON.stringify(hook)}, env: {}, timeoutS: 120 });`);
    rmSync(dir, { recursive: true, force: true });
  });
});

/** Bundles `source` (esbuild) and runs it in its own node process, which must start `sleep`; kills that process
 * with SIGKILL and expects the sleep to be gone. */
async function expectSleeperDiesWithParent(dir: string, source: string): Promise<void> {
  const entry = join(dir, 'probe.ts');
  writeFileSync(entry, source);
  buildSync({ entryPoints: [entry], bundle: true, platform: 'node', format: 'cjs', outfile: join(dir, 'probe.cjs'), logLevel: 'silent' });
  const parent = spawn(process.execPath, [join(dir, 'probe.cjs')], { stdio: 'ignore' });
  let sleeper: number | null = null;
  for (let i = 0; i < 100 && sleeper === null; i++) {
    await new Promise((r) => setTimeout(r, 50));
    sleeper = childOf(parent.pid!, 'sleep');
  }
  expect(sleeper).not.toBeNull();
  parent.kill('SIGKILL');
  await new Promise((r) => setTimeout(r, 300));
  expect(alive(sleeper!)).toBe(false);
}

/** The pid of a process named comm whose parent is ppid, or null. */
function childOf(ppid: number, comm: string): number | null {
  for (const p of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const st = readFileSync(`/proc/${p}/stat`, 'utf8');
      const m = /^\d+ \((.*)\) \S (\d+)/.exec(st);
      if (m && m[1] === comm && Number(m[2]) === ppid) return Number(p);
    } catch {
      // gone
    }
  }
  return null;
}
