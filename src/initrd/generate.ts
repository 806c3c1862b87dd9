// `imgbase initrd generate NORMAL EARLY LATE`: the systemd generator. Writes generatorFiles() into the EARLY
// directory (it outranks the normal one, where systemd-fstab-generator puts root= units). Writes nothing when the
// command line has no imgbased.* argument or has rd.imgbased=0.
import { mkdir, readFile, symlink, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { generatorFiles } from './units';

export async function generateStep(dirs: string[], cmdline?: string): Promise<number> {
  const target = dirs[1] ?? dirs[0];
  if (!target) {
    process.stderr.write('usage: imgbase initrd generate NORMAL_DIR [EARLY_DIR [LATE_DIR]]\n');
    return 2;
  }
  const text = cmdline ?? (await readFile('/proc/cmdline', 'utf8'));
  for (const f of generatorFiles(text)) {
    const p = join(target, f.path);
    await mkdir(dirname(p), { recursive: true });
    if ('symlink' in f) {
      await unlink(p).catch(() => undefined);
      await symlink(f.symlink, p);
    } else {
      await writeFile(p, f.content);
    }
  }
  return 0;
}
