// Fault injection acts only through a root-owned flag file, once, and never when asked by anyone else.
import { describe, expect, it } from 'vitest';
import { chmodSync, chownSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFault, takeFault } from '../../src/adapters/fault';
import { applyPlan } from '../../src/adapters/apply';

function flag(text: string, opts: { uid?: number; mode?: number; dirMode?: number } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'fault-'));
  chmodSync(dir, opts.dirMode ?? 0o755);
  const f = join(dir, 'fault-injection');
  writeFileSync(f, text);
  chmodSync(f, opts.mode ?? 0o644);
  if (opts.uid !== undefined) chownSync(f, opts.uid, opts.uid);
  return f;
}

describe('fault injection', () => {
  it('parses fail@N, powercut@N and a step kind; nothing for an empty file', () => {
    expect(parseFault('fail@3\n')).toEqual({ at: 'fail', step: 3, kind: null });
    expect(parseFault('powercut@7')).toEqual({ at: 'powercut', step: 7, kind: null });
    expect(parseFault('write-menu')).toEqual({ at: 'fail', step: null, kind: 'write-menu' });
    expect(parseFault('')).toBeNull();
    expect(parseFault(undefined)).toBeNull();
  });

  it('no file, no fault', async () => {
    expect(await takeFault(join(tmpdir(), 'no-such-dir-imgbased', 'fault-injection'))).toBeNull();
  });

  it("root's file is read once and removed: the next command runs without it", async () => {
    const f = flag('fail@2');
    expect(await takeFault(f)).toEqual({ at: 'fail', step: 2, kind: null });
    expect(existsSync(f)).toBe(false);
    expect(await takeFault(f)).toBeNull();
  });

  it.runIf(process.getuid?.() === 0)('a file another user owns, or in a directory others may write, is ignored (and left) (runs as root only: giving a file to another user needs root)', async () => {
    const theirs = flag('fail@1', { uid: 1000 });
    expect(await takeFault(theirs)).toBeNull();
    expect(existsSync(theirs)).toBe(true);
    const open = flag('fail@1', { dirMode: 0o1777 });
    expect(await takeFault(open)).toBeNull();
  });

  it('a dry run never injects, even when a fault is given', async () => {
    const ran: string[] = [];
    const step = { kind: 'remove-temp' as const, path: '/nonexistent/x' };
    await applyPlan([step], { dryRun: true, fault: parseFault('fail@1'), perform: async (s) => { ran.push(s.kind); return null; } });
    expect(ran).toEqual(['remove-temp']);
  });
});
