// What the shipped binary may read from its environment, and what test-only code it may not carry.
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('the release', () => {
  it('reads no environment variable but PATH, JOURNAL_STREAM and kernel-install\'s KERNEL_INSTALL_STAGING_AREA', () => {
    const used = new Set(sources('src').flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/process\.env\.([A-Z_a-z0-9]+)|process\.env\[['"]([^'"]+)/g)].map((m) => m[1] ?? m[2]!)));
    expect([...used].sort()).toEqual(['JOURNAL_STREAM', 'KERNEL_INSTALL_STAGING_AREA', 'PATH']);
  });

  it('the built binary holds no IMGBASED_FAULT (fault injection is a root-owned flag file)', () => {
    expect(existsSync('dist/imgbase'), 'dist/imgbase: run npm run build first (npm test does)').toBe(true);
    expect(readFileSync('dist/imgbase').includes('IMGBASED_FAULT')).toBe(false);
  });
});
