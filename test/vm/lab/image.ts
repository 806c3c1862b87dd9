// Guest image: Debian 12 (bookworm) minbase tree made by mmdebstrap, cached as tar.zst keyed by packages + scripts.
import { execa } from 'execa';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { contentKey, entryComplete, publishDir, readJson, writeJsonAtomic } from './cache.js';
import { guestDir, labDir } from './paths.js';

export const SUITE = 'bookworm';
const IMAGE_FORMAT = 'image-v1';

/** Packages of the guest (minbase adds only Essential + apt). binutils makes dracut's strip trap real. */
export const PACKAGES = [
  'linux-image-amd64', 'lvm2', 'thin-provisioning-tools', 'dracut', 'systemd-sysv', 'udev', 'e2fsprogs',
  'xfsprogs', 'grub-pc', 'systemd-boot', 'kmod', 'procps', 'util-linux', 'fdisk', 'squashfs-tools', 'zstd',
  'binutils', 'libstdc++6', 'findutils', 'iproute2', 'grub-efi-amd64-bin', 'dosfstools',
  // getfattr (imgbase update compares xattrs; a declared dependency) and setcap (the tests give a file a capability).
  'attr', 'libcap2-bin',
];

const DPKG_EXCLUDES = ['/usr/share/man/*', '/usr/share/doc/*', '/usr/share/info/*', '/usr/share/locale/*', '/usr/share/lintian/*'];

/** Files under guest/ that go into the image (provision.sh / project.sh are keyed by their own stages). */
const IMAGE_FILES = ['hook-essential', 'hook-customize', 'lab-agent', 'lab-agent.service', 'mark', 'dracut-lab.conf', 'dracut-bootstrap.conf'];

export interface ImageEntry {
  key: string;
  dir: string;
  tar: string;
  kver: string;
}

/**
 * Debian mirror lines (one-line sources.list format) for bookworm suites, read from the host's apt sources
 * (deb822 *.sources and classic *.list), so the lab uses whatever mirror/proxy apt here uses.
 */
export function mirrorLines(): string[] {
  const files: string[] = [];
  if (existsSync('/etc/apt/sources.list')) files.push('/etc/apt/sources.list');
  const d = '/etc/apt/sources.list.d';
  if (existsSync(d)) for (const f of readdirSync(d).sort()) files.push(path.join(d, f));
  const lines: string[] = [];
  const want = (suite: string) => suite === SUITE || suite.startsWith(`${SUITE}-`);
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    if (f.endsWith('.sources')) {
      for (const stanza of text.split(/\n\s*\n/)) {
        const field = (k: string) => {
          const m = new RegExp(`^${k}:\\s*(.*)$`, 'mi').exec(stanza);
          return m ? m[1]!.trim().split(/\s+/) : [];
        };
        if (/^Enabled:\s*no/im.test(stanza) || !field('Types').includes('deb')) continue;
        for (const uri of field('URIs'))
          for (const suite of field('Suites').filter(want)) lines.push(`deb ${uri} ${suite} ${field('Components').join(' ')}`);
      }
    } else if (f.endsWith('.list')) {
      for (const raw of text.split('\n')) {
        const l = raw.replace(/#.*/, '').trim();
        const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s+(.+)$/.exec(l);
        if (m && want(m[2]!)) lines.push(`deb ${m[1]} ${m[2]} ${m[3]}`);
      }
    }
  }
  if (!lines.some((l) => l.split(' ')[2] === SUITE))
    throw new Error(`lab: no Debian ${SUITE} mirror found in /etc/apt/sources.list{,.d}; the guest image needs one`);
  return [...new Set(lines)];
}

export async function imageKey(): Promise<string> {
  return contentKey({
    // Bump IMAGE_FORMAT when image.ts changes what it builds (the .ts file itself is not hashed).
    strings: [IMAGE_FORMAT, SUITE, ...PACKAGES, ...DPKG_EXCLUDES, ...mirrorLines()],
    files: IMAGE_FILES.map((f) => path.join(guestDir(), f)),
    base: labDir(),
  });
}

/** Returns the cached image, or builds it. `keepTree` receives the unpacked tree of a fresh build (saves an unpack). */
export async function ensureImage(cache: string, log: (s: string) => void, keepTree?: string): Promise<ImageEntry> {
  const key = await imageKey();
  const dir = path.join(cache, `image-${key}`);
  if (entryComplete(dir)) {
    const meta = readJson<{ kver: string }>(path.join(dir, 'meta.json'));
    return { key, dir, tar: path.join(dir, 'guest.tar.zst'), kver: meta.kver };
  }
  log(`lab: building guest image ${key} with mmdebstrap (cold cache: ~3-4 min)`);
  const t0 = Date.now();
  await publishDir(dir, async (tmp) => {
    const tree = path.join(tmp, 'tree');
    const g = guestDir();
    await execa('mmdebstrap', [
      '--variant=minbase',
      '--mode=root',
      '--format=directory',
      `--include=${PACKAGES.join(',')}`,
      ...DPKG_EXCLUDES.map((p) => `--dpkgopt=path-exclude=${p}`),
      '--aptopt=Acquire::Retries "3"',
      `--essential-hook=${path.join(g, 'hook-essential')}`,
      `--customize-hook=${path.join(g, 'hook-customize')}`,
      SUITE,
      tree,
      ...mirrorLines(),
    ], { stdout: ['pipe', { file: path.join(tmp, 'mmdebstrap.log') }], stderr: ['pipe', { file: path.join(tmp, 'mmdebstrap.err') }] })
      .catch((e: Error) => {
        const err = existsSync(path.join(tmp, 'mmdebstrap.err')) ? readFileSync(path.join(tmp, 'mmdebstrap.err'), 'utf8') : '';
        throw new Error(`lab: mmdebstrap failed: ${e.message.slice(0, 500)}\n${err.split('\n').slice(-40).join('\n')}`);
      });
    const kver = readFileSync(path.join(tree, 'etc', 'lab-kernel-version'), 'utf8').trim();
    if (!existsSync(path.join(tree, 'boot', `initrd.img-${kver}`))) throw new Error(`lab: guest has no initrd for ${kver}`);
    await execa('tar', ['-C', tree, '--numeric-owner', '--xattrs', '--zstd', '-cf', path.join(tmp, 'guest.tar.zst'), '.']);
    writeJsonAtomic(path.join(tmp, 'meta.json'), { kver, packages: PACKAGES, mirrors: mirrorLines(), built: new Date().toISOString() });
    if (keepTree) {
      rmSync(keepTree, { recursive: true, force: true });
      mkdirSync(path.dirname(keepTree), { recursive: true });
      await execa('mv', [tree, keepTree]);
    } else rmSync(tree, { recursive: true, force: true });
  });
  log(`lab: guest image built in ${((Date.now() - t0) / 1000).toFixed(0)}s`);
  const meta = readJson<{ kver: string }>(path.join(dir, 'meta.json'));
  return { key, dir, tar: path.join(dir, 'guest.tar.zst'), kver: meta.kver };
}

/** Unpack the cached tar into `dest` (fresh). */
export async function unpackImage(img: ImageEntry, dest: string): Promise<void> {
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dest, { recursive: true });
  await execa('tar', ['-C', dest, '--numeric-owner', '--xattrs', '--zstd', '-xf', img.tar]);
}
