// getfattr is a dependency of update's /etc listing: without it the listing fails, it never drops xattrs quietly.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listEtc } from '../../src/adapters/etc-tree';

afterEach(() => vi.unstubAllEnvs());

describe('listEtc and xattrs', () => {
  it('without getfattr on PATH: an error naming it, not a listing without xattrs', async () => {
    const etc = mkdtempSync(join(tmpdir(), 'etc-'));
    writeFileSync(join(etc, 'a.conf'), 'x');
    vi.stubEnv('PATH', mkdtempSync(join(tmpdir(), 'empty-path-')));
    await expect(listEtc(etc)).rejects.toThrow(/getfattr: command not found/);
  });
});
