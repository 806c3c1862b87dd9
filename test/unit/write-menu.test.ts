// The GRUB menu file is written only after GRUB's own checker accepted it; without the checker, not at all.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyPlan } from '../../src/adapters/apply';

afterEach(() => vi.unstubAllEnvs());

function menuDir(): string {
  return mkdtempSync(join(tmpdir(), 'menu-'));
}

describe('write-menu', () => {
  it('without grub-script-check on PATH: refused, the old menu file kept byte for byte', async () => {
    const dir = menuDir();
    const file = join(dir, 'imgbased.cfg');
    writeFileSync(file, 'old menu\n');
    vi.stubEnv('PATH', dir);
    await expect(applyPlan([{ kind: 'write-menu', file, content: 'menuentry x {\n}\n', previous: 'old menu\n' }], { fault: null }))
      .rejects.toThrow(/grub-script-check not found: the GRUB menu .* is written only after it passed/);
    expect(readFileSync(file, 'utf8')).toBe('old menu\n');
  });

  it('with it: a menu it rejects is not written; one it accepts is', async () => {
    const dir = menuDir();
    const file = join(dir, 'imgbased.cfg');
    await expect(applyPlan([{ kind: 'write-menu', file, content: 'menuentry x {\n', previous: null }], { fault: null }))
      .rejects.toThrow(/failed grub-script-check/);
    expect(existsSync(file)).toBe(false);
    await applyPlan([{ kind: 'write-menu', file, content: "menuentry 'x' {\n  true\n}\n", previous: null }], { fault: null });
    expect(readFileSync(file, 'utf8')).toContain("menuentry 'x'");
  });
});
