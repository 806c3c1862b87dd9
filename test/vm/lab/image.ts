// Guest image: a Debian (bookworm or trixie, see release.ts) minbase tree made by mmdebstrap, cached as tar.zst keyed by packages + scripts.
import { execa } from 'execa';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { contentKey, entryComplete, publishDir, readJson, writeJsonAtomic } from './cache.js';
import { guestDir, labDir } from './paths.js';
import { type AptSource, mirrorLinesFor, packagesFor, parseAptSources, type Release } from './release.js';

const IMAGE_FORMAT = 'image-v1';

const DPKG_EXCLUDES = ['/usr/share/man/*', '/usr/share/doc/*', '/usr/share/info/*', '/usr/share/locale/*', '/usr/share/lintian/*'];

/** Files under guest/ that go into the image (provision.sh / project.sh are keyed by their own stages). */
const IMAGE_FILES = ['hook-essential', 'hook-customize', 'lab-agent', 'lab-agent.service', 'mark', 'dracut-lab.conf', 'dracut-bootstrap.conf'];

export interface ImageEntry {
  key: string;
  dir: string;
  tar: string;
  kver: string;
  release: Release;
}

/** The host's apt sources (deb822 *.sources and classic *.list), so the lab uses whatever mirror/proxy apt here uses. */
function hostAptSources(): AptSource[] {
  const files: string[] = [];
  if (existsSync('/etc/apt/sources.list')) files.push('/etc/apt/sources.list');
  const d = '/etc/apt/sources.list.d';
  if (existsSync(d)) for (const f of readdirSync(d).sort()) files.push(path.join(d, f));
  return files.flatMap((f) => parseAptSources(f, readFileSync(f, 'utf8')));
}

/** Debian mirror lines (one-line sources.list format) for the release's suites. */
export function mirrorLines(release: Release): string[] {
  return mirrorLinesFor(release, hostAptSources());
}

export async function imageKey(release: Release): Promise<string> {
  return contentKey({
    // Bump IMAGE_FORMAT when image.ts changes what it builds (the .ts file itself is not hashed).
    strings: [IMAGE_FORMAT, release, ...packagesFor(release), ...DPKG_EXCLUDES, ...mirrorLines(release)],
    files: IMAGE_FILES.map((f) => path.join(guestDir(), f)),
    base: labDir(),
  });
}

/** Returns the cached image, or builds it. `keepTree` receives the unpacked tree of a fresh build (saves an unpack). */
export async function ensureImage(cache: string, release: Release, log: (s: string) => void, keepTree?: string): Promise<ImageEntry> {
  const key = await imageKey(release);
  const dir = path.join(cache, `image-${key}`);
  if (entryComplete(dir)) {
    const meta = readJson<{ kver: string }>(path.join(dir, 'meta.json'));
    return { key, dir, tar: path.join(dir, 'guest.tar.zst'), kver: meta.kver, release };
  }
  log(`lab: building ${release} guest image ${key} with mmdebstrap (cold cache: ~3-4 min)`);
  const t0 = Date.now();
  await publishDir(dir, async (tmp) => {
    const tree = path.join(tmp, 'tree');
    const g = guestDir();
    await execa('mmdebstrap', [
      '--variant=minbase',
      '--mode=root',
      '--format=directory',
      `--include=${packagesFor(release).join(',')}`,
      ...DPKG_EXCLUDES.map((p) => `--dpkgopt=path-exclude=${p}`),
      '--aptopt=Acquire::Retries "3"',
      `--essential-hook=${path.join(g, 'hook-essential')}`,
      `--customize-hook=${path.join(g, 'hook-customize')}`,
      release,
      tree,
      ...mirrorLines(release),
    ], { stdout: ['pipe', { file: path.join(tmp, 'mmdebstrap.log') }], stderr: ['pipe', { file: path.join(tmp, 'mmdebstrap.err') }] })
      .catch((e: Error) => {
        const err = existsSync(path.join(tmp, 'mmdebstrap.err')) ? readFileSync(path.join(tmp, 'mmdebstrap.err'), 'utf8') : '';
        throw new Error(`lab: mmdebstrap failed: ${e.message.slice(0, 500)}\n${err.split('\n').slice(-40).join('\n')}`);
      });
    const kver = readFileSync(path.join(tree, 'etc', 'lab-kernel-version'), 'utf8').trim();
    if (!existsSync(path.join(tree, 'boot', `initrd.img-${kver}`))) throw new Error(`lab: guest has no initrd for ${kver}`);
    await execa('tar', ['-C', tree, '--numeric-owner', '--xattrs', '--zstd', '-cf', path.join(tmp, 'guest.tar.zst'), '.']);
    writeJsonAtomic(path.join(tmp, 'meta.json'), { kver, release, packages: packagesFor(release), mirrors: mirrorLines(release), built: new Date().toISOString() });
    if (keepTree) {
      rmSync(keepTree, { recursive: true, force: true });
      mkdirSync(path.dirname(keepTree), { recursive: true });
      await execa('mv', [tree, keepTree]);
    } else rmSync(tree, { recursive: true, force: true });
  });
  log(`lab: ${release} guest image built in ${((Date.now() - t0) / 1000).toFixed(0)}s`);
  const meta = readJson<{ kver: string }>(path.join(dir, 'meta.json'));
  return { key, dir, tar: path.join(dir, 'guest.tar.zst'), kver: meta.kver, release };
}

/** Unpack the cached tar into `dest` (fresh). */
export async function unpackImage(img: ImageEntry, dest: string): Promise<void> {
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dest, { recursive: true });
  await execa('tar', ['-C', dest, '--numeric-owner', '--xattrs', '--zstd', '-xf', img.tar]);
}
