// Where things live: the repo, the lab cache (outside the work tree) and per-boot test output (ignored).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** The repository root: $IMGBASED_REPO, else the nearest parent of cwd whose package.json is "imgbased". */
export function repoRoot(): string {
  if (process.env.IMGBASED_REPO) return path.resolve(process.env.IMGBASED_REPO);
  let dir = process.cwd();
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'imgbased') return dir;
      } catch {
        /* keep looking */
      }
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`lab: cannot find the imgbased repo above ${process.cwd()} (set IMGBASED_REPO)`);
    dir = up;
  }
}

/** Lab cache: $IMGBASED_LAB_CACHE or /var/cache/imgbased-lab (survives clean clones on this machine). */
export function cacheDir(): string {
  return path.resolve(process.env.IMGBASED_LAB_CACHE ?? '/var/cache/imgbased-lab');
}

/** The lab's own source dir (hashed into cache keys). */
export function labDir(): string {
  return path.join(repoRoot(), 'test', 'vm', 'lab');
}

export function guestDir(): string {
  return path.join(labDir(), 'guest');
}

/** <repo>/test-output/<name>: serial logs, shares and overlays of one test (ignored by git). */
export function outputDir(name: string): string {
  if (!/^[A-Za-z0-9._+-]+$/.test(name)) throw new Error(`lab: bad output name ${JSON.stringify(name)}`);
  return path.join(repoRoot(), 'test-output', name);
}
