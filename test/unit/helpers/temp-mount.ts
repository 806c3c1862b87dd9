// core/paths with MOUNT_DIR (/run/imgbased/mnt, where withMounted makes its mount points) a temporary directory:
// for `vi.mock('../../src/core/paths', (orig) => import('./helpers/temp-mount').then((m) => m.tempMountDir(orig)))`.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function tempMountDir(importOriginal: () => Promise<unknown>): Promise<Record<string, unknown>> {
  return { ...(await importOriginal() as Record<string, unknown>), MOUNT_DIR: mkdtempSync(join(tmpdir(), 'imgbased-mnt-')) };
}
