// Reads /boot into a BootSnapshot (core/boot-plan): entries, kernel copies, leftovers of interrupted writes, GRUB's
// files and environment block. Reads only; the plan is computed from what this returns, once, before anything runs.
import { readdir, readFile, stat, statfs } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { entryCmdline, ownedLayer, parseBls, type BlsEntry } from '../core/bls';
import {
  KERNEL_RE, KERNEL_SUBDIR, OS_RELEASE_COPY, TEMP_MARK, entriesDir, initrdNamesFor, type BootSnapshot, type EntryFile,
  type GrubPaths, type GrubSnapshot, type KernelDir,
} from '../core/boot-plan';
import { GRUB_MENU_FILE } from '../core/grub-script';
import { compareLayerNames, rpmvercmp } from '../core/naming';
import { DEFAULT_BOOT_DIR, GRUB_D_DIR } from '../core/paths';
import { pathExists } from './fs';
import { log } from './log';

export { DEFAULT_BOOT_DIR } from '../core/paths';
/** statfs f_type of XFS ("XFSB"). */
const XFS_MAGIC = 0x58465342;

export async function readEntries(bootDir: string): Promise<EntryFile[]> {
  const dir = entriesDir(bootDir);
  const out: EntryFile[] = [];
  for (const file of (await readdir(dir).catch(() => [] as string[])).sort()) {
    if (!file.endsWith('.conf') || file.startsWith('.')) continue;
    let text: string;
    try {
      text = await readFile(join(dir, file), 'utf8');
    } catch (e) {
      log.warn(`cannot read ${join(dir, file)}: ${(e as Error).message}; left alone`);
      continue;
    }
    let entry: BlsEntry | null = null;
    try {
      entry = parseBls(text);
    } catch {
      entry = null;
    }
    out.push({ file, text, entry, layer: entry ? ownedLayer(file, entry) : null });
  }
  return out;
}

export async function readKernelDir(dir: string, owner: string): Promise<KernelDir | null> {
  const files = await readdir(dir).catch(() => null);
  if (!files) return null;
  const versions = files.map((n) => KERNEL_RE.exec(n)?.[1]).filter((v): v is string => !!v).sort((a, b) => -rpmvercmp(a, b));
  const version = versions[0] ?? null;
  const kernel = version ? files.find((n) => KERNEL_RE.exec(n)?.[1] === version) ?? null : null;
  const initrd = version ? initrdNamesFor(version).find((n) => files.includes(n)) ?? null : null;
  const osRelease = files.includes(OS_RELEASE_COPY) ? await readFile(join(dir, OS_RELEASE_COPY), 'utf8').catch(() => null) : null;
  return { owner, files: files.filter((f) => !f.includes(TEMP_MARK)).sort(), kernel, initrd, version, osRelease };
}

/** Kernel directories, and the temporaries an interrupted copy or write left (ours are named *.tmp-PID). */
async function readKernelDirs(bootDir: string): Promise<{ dirs: KernelDir[]; temps: string[] }> {
  const root = join(bootDir, KERNEL_SUBDIR);
  const dirs: KernelDir[] = [];
  const temps: string[] = [];
  for (const n of (await readdir(root).catch(() => [] as string[])).sort()) {
    if (n.includes(TEMP_MARK)) {
      temps.push(join(root, n));
      continue;
    }
    const kd = await readKernelDir(join(root, n), n);
    if (!kd) continue;
    dirs.push(kd);
    for (const f of await readdir(join(root, n)).catch(() => [] as string[])) if (f.includes(TEMP_MARK)) temps.push(join(root, n, f));
  }
  return { dirs, temps };
}

async function tempsIn(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[])).filter((f) => f.startsWith('.') && f.includes(TEMP_MARK)).map((f) => join(dir, f));
}

/** bootDir's path inside its own filesystem: "" when it is a mount point (separate /boot), else bootDir itself. */
export async function detectBootPrefix(bootDir: string): Promise<string> {
  try {
    const [a, b] = await Promise.all([stat(bootDir), stat(dirname(bootDir))]);
    return a.dev !== b.dev || dirname(bootDir) === bootDir ? '' : bootDir.replace(/\/+$/, '');
  } catch {
    return '';
  }
}

/** grub.cfg / grubenv under bootDir and the matching tools (grub2-* on Fedora-like systems), or null. */
export async function findGrub(bootDir: string): Promise<GrubPaths | null> {
  for (const sub of ['grub', 'grub2'] as const) {
    const dir = join(bootDir, sub);
    if (await pathExists(dir)) {
      return {
        dir: sub, cfg: join(dir, 'grub.cfg'), menu: join(dir, GRUB_MENU_FILE), env: join(dir, 'grubenv'),
        mkconfig: `${sub}-mkconfig`, editenv: `${sub}-editenv`, scriptCheck: `${sub}-script-check`,
      };
    }
  }
  return null;
}

/** key=value pairs of a GRUB environment block file (missing file: empty). */
export async function readGrubEnv(file: string): Promise<Record<string, string>> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

async function readGrub(bootDir: string, grubDDir: string): Promise<{ grub: GrubSnapshot | null; temps: string[] }> {
  const paths = await findGrub(bootDir);
  if (!paths) return { grub: null, temps: [] };
  return {
    grub: {
      paths,
      cfg: await readFile(paths.cfg, 'utf8').catch(() => null),
      menu: await readFile(paths.menu, 'utf8').catch(() => null),
      env: await readGrubEnv(paths.env),
      generator: await pathExists(join(grubDDir, '42_imgbased')),
    },
    temps: (await tempsIn(join(bootDir, paths.dir))).filter((p) => p.includes(GRUB_MENU_FILE)),
  };
}

async function cmdlineTemplate(entries: EntryFile[]): Promise<string> {
  const etc = await readFile('/etc/kernel/cmdline', 'utf8').catch(() => null);
  if (etc && etc.trim()) return etc.trim();
  const newest = entries.filter((e) => e.layer !== null && e.entry).sort((a, b) => -compareLayerNames(a.layer!, b.layer!))[0];
  if (newest?.entry) return entryCmdline(newest.entry);
  return (await readFile('/proc/cmdline', 'utf8').catch(() => '')).trim();
}

export interface BootReadOptions {
  bootDir?: string;
  grubDDir?: string;
  /** Overrides for tests. */
  cmdlineTemplate?: string;
  bootPrefix?: string;
}

export async function readBootSnapshot(opts: BootReadOptions = {}): Promise<BootSnapshot> {
  const bootDir = opts.bootDir ?? DEFAULT_BOOT_DIR;
  const entries = await readEntries(bootDir);
  const { dirs, temps } = await readKernelDirs(bootDir);
  const grub = await readGrub(bootDir, opts.grubDDir ?? GRUB_D_DIR);
  const fs = await statfs(bootDir).catch(() => null);
  const prefix = opts.bootPrefix ?? (await detectBootPrefix(bootDir));
  return {
    bootDir,
    prefix,
    // Freezing is only done to a /boot of its own: freezing the root filesystem would stall the system.
    xfs: fs !== null && Number(fs.type) === XFS_MAGIC && prefix === '',
    freeBytes: fs ? Number(fs.bavail) * Number(fs.bsize) : 0,
    entries,
    kernelDirs: dirs,
    temps: [...temps, ...(await tempsIn(entriesDir(bootDir))), ...grub.temps],
    grub: grub.grub,
    cmdlineTemplate: opts.cmdlineTemplate ?? (await cmdlineTemplate(entries)),
  };
}

// Listing (boot --list): every entry, ours first, with the files it names that are missing.

export interface ListedEntry {
  file: string;
  ours: boolean;
  layer: string | null;
  title: string | null;
  version: string | null;
  linux: string | null;
  initrd: string[];
  options: string;
  missing: string[];
}

export async function listBootEntries(bootDir = DEFAULT_BOOT_DIR): Promise<ListedEntry[]> {
  const entries = await readEntries(bootDir);
  const prefix = await detectBootPrefix(bootDir);
  const out: ListedEntry[] = [];
  for (const e of entries) {
    const en = e.entry;
    const files = [en?.linux ?? null, ...(en?.initrd ?? [])].filter((p): p is string => !!p);
    const missing: string[] = [];
    for (const p of files) {
      const onDisk = join(bootDir, prefix && p.startsWith(`${prefix}/`) ? p.slice(prefix.length) : p);
      if (!(await pathExists(onDisk))) missing.push(p);
    }
    out.push({
      file: e.file, ours: e.layer !== null, layer: e.layer, title: en?.title ?? null, version: en?.version ?? null,
      linux: en?.linux ?? null, initrd: en?.initrd ?? [], options: en ? entryCmdline(en) : '', missing,
    });
  }
  // Ours newest first, then the others by file name.
  return out.sort((a, b) => {
    if (a.ours !== b.ours) return a.ours ? -1 : 1;
    if (a.ours && b.ours) return -compareLayerNames(a.layer!, b.layer!);
    return a.file < b.file ? -1 : a.file > b.file ? 1 : 0;
  });
}
