// The admin's packages on disk (core/update/packages decides): dpkg's status of a tree, the .debs kept by APT's
// hook, a .deb rebuilt from an installed package (what dpkg-repack does), and the install into a new layer by the
// layer's own dpkg in a chroot of it.
import { chmod, copyFile, lstat, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { constants as fsc } from 'node:fs';
import { basename, join } from 'node:path';
import { ImgbasedError } from '../core/errors';
import { refusedByDpkg } from '../core/dpkg/relations';
import { conffilesOf, debFileName, installedPackages, parseDebFileName, renderControl, type Package } from '../core/dpkg/status';
import { KEPT_DEBS_DIR, olderKept, type PkgSource } from '../core/update/packages';
import { UPDATE_REPORT, parseUpdateReport } from '../core/update/report';
import type { Step } from '../core/steps';
import { atomicWrite } from './atomic';
import { withApiMounts } from './chroot';
import { inTree, inTreeForWrite, realDirIn } from './confine';
import { run } from './exec';
import { withMounted } from './fs';
import { lvPath } from './lvm';

export const DPKG_STATUS = 'var/lib/dpkg/status';
const DPKG_INFO = '/var/lib/dpkg/info';
/** Kept apart from what the tree's own maintainer scripts may write: a staging tree per rebuilt package. */
const REPACK_DIR = '/var/tmp';
const CHROOT_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

/** The installed packages of the tree at root (its dpkg status, read inside it); none when it has no dpkg. */
export async function readInstalled(root: string): Promise<Map<string, Package>> {
  const text = await readFile(await inTree(root, DPKG_STATUS), 'utf8').catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? '' : Promise.reject(e)));
  return installedPackages(text);
}

/** The file names in the kept-.deb store ([] before the hook first ran). */
export async function keptFiles(dir = KEPT_DEBS_DIR): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.deb')).sort();
}

/** dpkg's info file of an installed package: NAME.EXT, or NAME:ARCH.EXT for a Multi-Arch: same one. */
async function infoFile(p: Package, ext: string): Promise<string | null> {
  for (const f of [`${p.name}:${p.arch}.${ext}`, `${p.name}.${ext}`]) {
    const path = join(DPKG_INFO, f);
    if (await lstat(path).then(() => true, () => false)) return path;
  }
  return null;
}

/** Where each package's .deb comes from on this host: a kept one, else rebuilt from its file list, else none. */
export async function packageSources(pkgs: readonly Package[]): Promise<{ sources: Map<string, PkgSource>; kept: Map<string, string> }> {
  const files = new Set(await keptFiles());
  const sources = new Map<string, PkgSource>();
  const kept = new Map<string, string>();
  for (const p of pkgs) {
    const deb = debFileName(p);
    if (files.has(deb)) {
      sources.set(p.key, 'kept');
      kept.set(p.key, join(KEPT_DEBS_DIR, deb));
    } else sources.set(p.key, (await infoFile(p, 'list')) ? 'rebuilt' : 'missing');
  }
  return { sources, kept };
}

/** Bytes the files of dir take. */
export async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const f of await readdir(dir).catch(() => [] as string[])) total += (await stat(join(dir, f)).catch(() => null))?.size ?? 0;
  return total;
}

/**
 * APT's Pre-Install-Pkgs hook (protocol version 1: one .deb path per line on stdin): each .deb copied into the
 * store as name_version_arch.deb, other versions of the same package removed. Returns the names kept.
 */
export async function keepDebs(paths: readonly string[], dir = KEPT_DEBS_DIR): Promise<string[]> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const out: string[] = [];
  for (const path of paths) {
    if (!path.endsWith('.deb')) continue;
    const r = await run('dpkg-deb', ['--show', '--showformat', '${Package}\\t${Version}\\t${Architecture}\\n', path]);
    const [name, version, arch] = r.stdout.trim().split('\t');
    if (!name || !version || !arch) throw new ImgbasedError(`packages: ${path} names no package, version and architecture`);
    const ref = { name, version, arch };
    const file = debFileName(ref);
    const tmp = join(dir, `.${file}.tmp`);
    await copyFile(path, tmp);
    await chmod(tmp, 0o644);
    await rename(tmp, join(dir, file));
    for (const old of olderKept(ref, await keptFiles(dir))) await rm(join(dir, old), { force: true });
    out.push(file);
  }
  return out;
}

/**
 * A .deb made from the package as this host has it installed, written to outDir: its database stanza as the
 * control file, its listed files as they are now (owners and modes kept, the admin's conffiles as they are), its
 * maintainer scripts. Files the admin deleted are left out.
 */
export async function rebuildDeb(p: Package, outDir: string): Promise<string> {
  const list = await infoFile(p, 'list');
  if (!list) throw new ImgbasedError(`packages: ${p.name} has no file list in ${DPKG_INFO}; it cannot be rebuilt`);
  const stage = await mkdtemp(join(REPACK_DIR, 'imgbased-repack-'));
  try {
    const root = join(stage, 'root');
    await mkdir(join(root, 'DEBIAN'), { recursive: true, mode: 0o755 });
    const present: string[] = [];
    for (const line of (await readFile(list, 'utf8')).split('\n')) {
      if (!line.startsWith('/') || line === '/.') continue;
      if (await lstat(line).then(() => true, () => false)) present.push(line.slice(1));
    }
    if (present.length) {
      const names = join(stage, 'files');
      await writeFile(names, present.map((f) => `${f}\0`).join(''));
      // One archive of exactly the listed paths (directories without their contents), unpacked as it was.
      await run('tar', ['--create', '--file', join(stage, 'files.tar'), '--no-recursion', '--null', '-C', '/', '--files-from', names]);
      await run('tar', ['--extract', '--file', join(stage, 'files.tar'), '--same-permissions', '--same-owner', '-C', root]);
    }
    await writeFile(join(root, 'DEBIAN', 'control'), renderControl(p.stanza), { mode: 0o644 });
    const conffiles = conffilesOf(p.stanza).filter((c) => present.includes(c.slice(1)));
    if (conffiles.length) await writeFile(join(root, 'DEBIAN', 'conffiles'), conffiles.map((c) => `${c}\n`).join(''), { mode: 0o644 });
    for (const [ext, mode] of [['preinst', 0o755], ['postinst', 0o755], ['prerm', 0o755], ['postrm', 0o755], ['config', 0o755], ['templates', 0o644], ['triggers', 0o644], ['shlibs', 0o644], ['symbols', 0o644]] as const) {
      const f = await infoFile(p, ext);
      if (f) {
        await copyFile(f, join(root, 'DEBIAN', ext));
        await chmod(join(root, 'DEBIAN', ext), mode);
      }
    }
    const out = join(outDir, debFileName(p));
    await run('dpkg-deb', ['--build', root, out]);
    return out;
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}

type InstallStep = Extract<Step, { kind: 'install-debs' }>;

/** In the layer: the store its next update reads, so the .debs installed stay there (kept ones and rebuilt ones). */
const LAYER_STORE = KEPT_DEBS_DIR.slice(1);
/** invoke-rc.d asks it before starting anything: 101 "action forbidden", so no daemon starts in the chroot. */
const POLICY_RC_D = 'usr/sbin/policy-rc.d';

/** dpkg's last line of complaint, for an error that names no package. */
function lastWords(text: string): string {
  return text.split('\n').map((l) => l.trim()).filter(Boolean).at(-1) ?? '';
}

/**
 * Carries out install-debs: the .debs into the layer's store (rebuilt ones made there), then one `dpkg -i` of all
 * of them in a chroot, daemons forbidden. What dpkg refuses fails the step (policy stop) or is purged and left out,
 * the rest installed again and the refusal added to the layer's update record (skip).
 */
export async function installDebs(s: InstallStep, note?: (l: string) => void): Promise<void> {
  const installed = s.rebuild.length ? await readInstalled('/') : new Map<string, Package>();
  await withMounted(lvPath(s.vg, s.lv), async (dir) => {
    const store = await realDirIn(dir, LAYER_STORE, 'the new layer', true);
    await mkdir(store, { recursive: true, mode: 0o755 });
    /** chroot path -> package name, for mapping dpkg's complaints back. */
    const debs = new Map<string, string>();
    // A name the image left in its store is replaced, never written through.
    const fresh = async (name: string): Promise<string> => {
      await rm(join(store, name), { force: true, recursive: true });
      return join(store, name);
    };
    for (const host of s.debs) {
      await copyFile(host, await fresh(basename(host)), fsc.COPYFILE_EXCL);
      debs.set(`/${LAYER_STORE}/${basename(host)}`, parseDebFileName(basename(host))?.name ?? basename(host));
    }
    for (const key of s.rebuild) {
      const p = installed.get(key);
      if (!p) throw new ImgbasedError(`update: ${key} is no longer installed on this host; nothing to rebuild it from`);
      await fresh(debFileName(p));
      const out = await rebuildDeb(p, store);
      debs.set(`/${LAYER_STORE}/${basename(out)}`, p.name);
    }
    await withPolicyRcD(dir, () => withApiMounts(dir, async () => {
      const dpkg = (args: string[]) => run('chroot', [dir, 'dpkg', ...args], { allowFail: true, env: { DEBIAN_FRONTEND: 'noninteractive', PATH: CHROOT_PATH } });
      const first = await dpkg(['--install', '--force-confold', ...debs.keys()]);
      if (first.exitCode === 0) return;
      const output = `${first.stdout}\n${first.stderr}`;
      const refused = refusedByDpkg(output, debs);
      const names = refused.length ? refused.join(', ') : `(${lastWords(output) || `exit ${first.exitCode}`})`;
      if (s.policy === 'stop' || !refused.length) {
        throw new ImgbasedError(`update: dpkg in the new layer refused package(s) ${names}; nothing changed`, { hint: `set packages = skip in /etc/imgbased/imgbased.conf to update without them` });
      }
      await dpkg(['--purge', '--force-depends', ...refused]);
      const rest = [...debs].filter(([, n]) => !refused.includes(n));
      for (const [path, n] of debs) if (refused.includes(n)) await rm(join(dir, path), { force: true });
      const again = rest.length ? await dpkg(['--install', '--force-confold', ...rest.map(([p]) => p)]) : first;
      if (rest.length && again.exitCode !== 0) {
        throw new ImgbasedError(`update: dpkg in the new layer failed again without ${names}: ${lastWords(`${again.stdout}\n${again.stderr}`)}; nothing changed`);
      }
      for (const n of refused) note?.(`package ${n}: refused by dpkg in the new layer, skipped`);
      await recordRefused(dir, refused);
    }));
  });
}

/** A policy-rc.d of ours for fn only; the tree's own (if any) set aside and put back. */
async function withPolicyRcD<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const path = await inTreeForWrite(dir, POLICY_RC_D);
  const saved = `${path}.imgbased-saved`;
  const had = await lstat(path).then(() => true, () => false);
  if (had) await rename(path, saved);
  try {
    await writeFile(path, '#!/bin/sh\n# imgbased: no daemon starts while packages are installed into a layer not running\nexit 101\n', { mode: 0o755 });
    return await fn();
  } finally {
    await rm(path, { force: true });
    if (had) await rename(saved, path);
  }
}

/** The packages dpkg refused (policy skip), added to the layer's update record. */
async function recordRefused(dir: string, names: readonly string[]): Promise<void> {
  const path = await inTreeForWrite(dir, UPDATE_REPORT);
  const report = parseUpdateReport(await readFile(path, 'utf8').catch(() => ''));
  if (!report?.packages) return;
  const pk = report.packages;
  const moved = pk.install.filter((p) => names.includes(p.name));
  pk.install = pk.install.filter((p) => !names.includes(p.name));
  pk.refused.push(...moved.map((p) => ({ name: p.name, version: p.version, arch: p.arch, why: 'refused by dpkg in the new layer' })));
  await atomicWrite(path, `${JSON.stringify(report, null, 1)}\n`);
}
