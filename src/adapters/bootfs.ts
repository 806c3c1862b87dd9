// Boot entries on disk: one BLS entry per layer in $BOOT/loader/entries, kernel + initrd copies per base under
// $BOOT/imgbased/<base>/ (or per layer, when a kernel was installed inside that layer), and the GRUB menu file
// ($BOOT/grub/imgbased.cfg) rendered from our entries, which the stub grub.d/42_imgbased put in grub.cfg sources.
//
// Planning reads files only; applying writes them. Entries we did not write are never rewritten or removed (byte for
// byte); every write is atomic (temp file in the same directory, fsync, rename, fsync the directory), kernels are
// copied before any entry points at them, and an entry is removed before the kernel copy it used.
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, statfs, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ImgbasedError } from '../core/errors';
import {
  GRUB_MENU_FILE, GRUB_STUB_VERSION, entryCmdline, entryFileName, entryId, grubStubVersion, layerCmdline, layerEntry,
  osReleasePrettyName, ownedLayer, parseBls, renderBls, renderGrubMenu, type BlsEntry,
} from '../core/bls';
import { compareLayerNames, parseLayerName, rpmvercmp } from '../core/naming';
import type { Base, Inventory, Layer } from '../core/inventory';
import { findCommand, run, type RunResult } from './exec';
import { pathExists, withMounted } from './fs';
import { activateLv, deactivateLv, lvPath } from './lvm';
import { log } from './log';
import { atomicWrite, fsyncPath } from './atomic';

export const DEFAULT_BOOT_DIR = '/boot';
/** Directory (inside $BOOT) holding our kernel copies: imgbased/<base>/ and imgbased/<layer>/. */
export const KERNEL_SUBDIR = 'imgbased';
const OS_RELEASE_COPY = 'os-release';
/** Kept free on /boot beyond the copies themselves (GRUB env block, a kernel update's initrd rebuild, ...). */
export const BOOT_RESERVE_BYTES = 16 * 1024 * 1024;

/** Kernel files found for a base, as absolute paths on this system (inside a mounted base, or the live /boot). */
export interface KernelFiles {
  version: string;
  kernel: string;
  initrd: string | null;
  osRelease: string | null;
}

class NoKernelError extends ImgbasedError {}

export type Exec = (cmd: string, args: string[], opts?: { allowFail?: boolean }) => Promise<RunResult>;

export interface BootfsOptions {
  inventory: Inventory;
  dryRun?: boolean;
  /** $BOOT: where loader/entries and imgbased/ live. Default /boot. */
  bootDir?: string;
  /** bootDir as seen from its own filesystem root ("" when it is a mount point). Default: detected. */
  bootPrefix?: string;
  /** Finds and copies out a base's kernel; `copy` is called with the files while they are reachable. */
  withBaseKernel?: <T>(base: Base, inv: Inventory, bootDir: string, fn: (k: KernelFiles | null) => Promise<T>) => Promise<T>;
  /** Command line new entries start from. Default: /etc/kernel/cmdline, else our newest entry, else /proc/cmdline. */
  cmdlineTemplate?: string;
  /** Keep the GRUB menu: 'auto' (when grub.cfg exists and 42_imgbased is installed or its stub is in grub.cfg), or false. */
  grub?: 'auto' | false;
  /** Where grub.d scripts live (for 'auto'). */
  grubDDir?: string;
  /** grub-script-check to validate the menu file with; null: none. Default: the GRUB's own (grub2-script-check) when on PATH. */
  grubScriptCheck?: string | null;
  exec?: Exec;
  /** Print the plan (dry run) or the changes made; default stdout. */
  print?: (line: string) => void;
}

export type BootAction =
  | { kind: 'copy-kernel'; owner: string; dir: string }
  | { kind: 'write-entry'; layer: string; file: string; why: 'create' | 'update'; content: string | null }
  | { kind: 'remove-entry'; layer: string; file: string }
  | { kind: 'remove-kernel-dir'; dir: string }
  | { kind: 'unset-grubenv'; file: string; key: string; value: string }
  /** content null: rendered once the entries are on disk (a kernel copy comes first). */
  | { kind: 'write-grub-menu'; file: string; content: string | null }
  /** Only while grub.cfg lacks the current stub: the menu file itself changes without grub-mkconfig. */
  | { kind: 'grub-mkconfig'; output: string; stub: number | null };

export interface BootPlan {
  bootDir: string;
  actions: BootAction[];
}

export function describeBootAction(a: BootAction): string {
  switch (a.kind) {
    case 'copy-kernel': return `copy the kernel and initrd of ${a.owner} to ${a.dir}`;
    case 'write-entry': return `${a.why} boot entry ${a.file} for layer ${a.layer}`;
    case 'remove-entry': return `remove boot entry ${a.file} (layer ${a.layer} is gone)`;
    case 'remove-kernel-dir': return `remove kernel copies ${a.dir} (no entry uses them)`;
    case 'unset-grubenv': return `unset ${a.key}=${a.value} in ${a.file} (layer is gone)`;
    case 'write-grub-menu': return `write the GRUB menu file ${a.file} (sourced by grub.cfg)`;
    case 'grub-mkconfig': return `regenerate ${a.output} once with grub-mkconfig (${a.stub === null ? 'it has no imgbased stub yet' : `its imgbased stub is v${a.stub}, this imgbase writes v${GRUB_STUB_VERSION}`})`;
  }
}

// -------------------------------------------------------------------------------------------------------------
// Reading what is on /boot.

export interface EntryFile {
  file: string;
  path: string;
  text: string;
  entry: BlsEntry | null;
  /** Layer when the file is ours, else null. */
  layer: string | null;
}

export function entriesDir(bootDir: string): string {
  return join(bootDir, 'loader', 'entries');
}

export async function readEntries(bootDir: string): Promise<EntryFile[]> {
  const dir = entriesDir(bootDir);
  const names = await readdir(dir).catch(() => [] as string[]);
  const out: EntryFile[] = [];
  for (const file of names.sort()) {
    if (!file.endsWith('.conf')) continue;
    const path = join(dir, file);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      log.warn(`cannot read ${path}: ${(e as Error).message}; left alone`);
      continue;
    }
    let entry: BlsEntry | null = null;
    try {
      entry = parseBls(text);
    } catch {
      entry = null;
    }
    out.push({ file, path, text, entry, layer: entry ? ownedLayer(file, entry) : null });
  }
  return out;
}

export interface KernelDir {
  /** Base or layer name. */
  owner: string;
  dir: string;
  /** Newest kernel in it, as file names. */
  kernel: string | null;
  initrd: string | null;
  version: string | null;
  osRelease: string | null;
}

const KERNEL_RE = /^(?:vmlinuz|vmlinux|bzImage|kernel)-(.+)$/;

function initrdNamesFor(version: string): string[] {
  return [`initrd.img-${version}`, `initramfs-${version}.img`, `initrd-${version}`, `initrd-${version}.img`];
}

export async function readKernelDir(dir: string, owner: string): Promise<KernelDir | null> {
  const names = await readdir(dir).catch(() => null);
  if (!names) return null;
  const versions = names.map((n) => KERNEL_RE.exec(n)?.[1]).filter((v): v is string => !!v).sort((a, b) => -rpmvercmp(a, b));
  const version = versions[0] ?? null;
  const kernel = version ? names.find((n) => KERNEL_RE.exec(n)?.[1] === version) ?? null : null;
  const initrd = version ? initrdNamesFor(version).find((n) => names.includes(n)) ?? null : null;
  const osRelease = names.includes(OS_RELEASE_COPY) ? await readFile(join(dir, OS_RELEASE_COPY), 'utf8').catch(() => null) : null;
  return { owner, dir, kernel, initrd, version, osRelease };
}

async function readKernelDirs(bootDir: string): Promise<Map<string, KernelDir>> {
  const root = join(bootDir, KERNEL_SUBDIR);
  const out = new Map<string, KernelDir>();
  for (const n of (await readdir(root).catch(() => [] as string[])).sort()) {
    if (n.includes('.tmp-')) continue;
    const kd = await readKernelDir(join(root, n), n);
    if (kd) out.set(n, kd);
  }
  return out;
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

async function defaultTemplate(ours: EntryFile[]): Promise<string> {
  const etc = await readFile('/etc/kernel/cmdline', 'utf8').catch(() => null);
  if (etc && etc.trim()) return etc.trim();
  const newest = [...ours].sort((a, b) => -compareLayerNames(a.layer!, b.layer!))[0];
  if (newest?.entry) return entryCmdline(newest.entry);
  return (await readFile('/proc/cmdline', 'utf8').catch(() => '')).trim();
}

// -------------------------------------------------------------------------------------------------------------
// GRUB discovery.

export interface GrubPaths {
  /** Directory name under $BOOT: "grub" or "grub2". */
  dir: string;
  cfg: string;
  /** The menu file the stub in grub.cfg sources. */
  menu: string;
  env: string;
  mkconfig: string;
  editenv: string;
  scriptCheck: string;
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
export async function readGrubEnv(file: string): Promise<Map<string, string>> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq > 0) out.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return out;
}

/** Menuentry ids of ours present in GRUB script text (grub.cfg or the menu file). */
export function grubCfgIds(cfg: string): string[] {
  return [...cfg.matchAll(/--id '(imgbased-[^']*)'/g)].map((m) => m[1]!);
}

/** Our ids GRUB's menu will hold: those in grub.cfg plus, when its stub sources it, the menu file's. Null: no grub.cfg. */
export async function grubMenuIds(g: GrubPaths): Promise<{ ids: string[]; blscfg: boolean } | null> {
  const cfg = await readFile(g.cfg, 'utf8').catch(() => null);
  if (cfg === null) return null;
  const menu = grubStubVersion(cfg) !== null ? await readFile(g.menu, 'utf8').catch(() => '') : '';
  return { ids: [...grubCfgIds(cfg), ...grubCfgIds(menu)], blscfg: usesBlscfg(cfg) };
}

/** A grub.cfg whose GRUB reads the BLS entries itself: no menu of ours needed. */
function usesBlscfg(cfg: string): boolean {
  return /^\s*blscfg\b/m.test(cfg);
}

// -------------------------------------------------------------------------------------------------------------
// Planning.

interface Desired {
  layer: Layer;
  base: Base;
  /** Kernel dir the entry uses (existing, or about to be copied). */
  owner: string;
}

function refOf(kd: KernelDir, prefix: string, file: string): string {
  return `${prefix}/${KERNEL_SUBDIR}/${kd.owner}/${file}`;
}

function kernelOwnerOfPath(p: string): string | null {
  const m = new RegExp(`(?:^|/)${KERNEL_SUBDIR}/([^/]+)/`).exec(p);
  return m ? m[1]! : null;
}

/** Render the entry for one layer from a kernel dir (pure apart from its inputs). */
function renderLayerEntry(d: Desired, kd: KernelDir, vg: string, prefix: string, template: string, imgbasedLvs: string[]): string | null {
  if (!kd.kernel) return null;
  const e = layerEntry({
    layer: d.layer.name,
    base: d.base.nvr,
    index: d.layer.index,
    vg,
    prettyName: kd.osRelease ? osReleasePrettyName(kd.osRelease) : null,
    linux: refOf(kd, prefix, kd.kernel),
    initrd: kd.initrd ? [refOf(kd, prefix, kd.initrd)] : [],
    options: layerCmdline({ template, vg, layer: d.layer.name, imgbasedLvs }),
  });
  return renderBls(e);
}

interface PlanContext {
  opts: BootfsOptions;
  bootDir: string;
  prefix: string;
  entries: EntryFile[];
  kernelDirs: Map<string, KernelDir>;
  desired: Desired[];
  template: string;
  imgbasedLvs: string[];
  grub: GrubPaths | null;
}

async function buildContext(opts: BootfsOptions): Promise<PlanContext> {
  const bootDir = opts.bootDir ?? DEFAULT_BOOT_DIR;
  const prefix = opts.bootPrefix ?? (await detectBootPrefix(bootDir));
  const entries = await readEntries(bootDir);
  const kernelDirs = await readKernelDirs(bootDir);
  const inv = opts.inventory;
  const desired: Desired[] = [];
  for (const layer of inv.layers) {
    const base = inv.bases.find((b) => b.name === layer.base);
    if (!base) continue;
    const own = kernelDirs.get(layer.name);
    desired.push({ layer, base, owner: own?.kernel ? layer.name : base.name });
  }
  const ours = entries.filter((e) => e.layer !== null);
  const template = opts.cmdlineTemplate ?? (await defaultTemplate(ours));
  const imgbasedLvs = [...inv.bases.map((b) => b.name), ...inv.layers.map((l) => l.name)];
  const grub = opts.grub === false ? null : await findGrub(bootDir);
  return { opts, bootDir, prefix, entries, kernelDirs, desired, template, imgbasedLvs, grub };
}

function planFrom(ctx: PlanContext): BootPlan {
  const { bootDir, entries, kernelDirs, desired, prefix } = ctx;
  const vg = ctx.opts.inventory.vg ?? '';
  const actions: BootAction[] = [];
  const byLayer = new Map(entries.filter((e) => e.layer).map((e) => [e.layer!, e]));
  const wanted = new Set(desired.map((d) => d.layer.name));

  // 1. Kernel copies still missing (one per base that has layers).
  const copying = new Set<string>();
  for (const d of desired) {
    const kd = kernelDirs.get(d.owner);
    if ((!kd || !kd.kernel) && !copying.has(d.owner)) {
      copying.add(d.owner);
      actions.push({ kind: 'copy-kernel', owner: d.owner, dir: join(bootDir, KERNEL_SUBDIR, d.owner) });
    }
  }
  // 2. Entries to create or update (content null: rendered once the kernel copy exists).
  const referenced = new Set<string>();
  for (const d of desired) {
    referenced.add(d.owner);
    const have = byLayer.get(d.layer.name);
    // Options the layer already has (user edits) are the template for its own entry.
    const template = have?.entry ? entryCmdline(have.entry) : ctx.template;
    const kd = kernelDirs.get(d.owner);
    const content = kd?.kernel && !copying.has(d.owner) ? renderLayerEntry(d, kd, vg, prefix, template, ctx.imgbasedLvs) : null;
    if (have && content !== null && have.text === content) continue;
    actions.push({ kind: 'write-entry', layer: d.layer.name, file: join(entriesDir(bootDir), entryFileName(d.layer.name)), why: have ? 'update' : 'create', content });
  }
  // 3. Our entries whose layer is gone. Foreign entries are never touched.
  for (const e of entries) {
    if (e.layer !== null && !wanted.has(e.layer)) actions.push({ kind: 'remove-entry', layer: e.layer, file: e.path });
  }
  // 4. Kernel copies no remaining entry (ours or anyone's) uses.
  for (const e of entries) {
    if (e.layer !== null) continue;
    for (const p of [e.entry?.linux ?? '', ...(e.entry?.initrd ?? [])]) {
      const o = kernelOwnerOfPath(p);
      if (o) referenced.add(o);
    }
  }
  for (const [owner, kd] of kernelDirs) {
    if (!referenced.has(owner)) actions.push({ kind: 'remove-kernel-dir', dir: kd.dir });
  }
  return { bootDir, actions };
}

/** Our entries as the plan leaves them (null: some are rendered only after a kernel copy). */
function entriesAfter(ctx: PlanContext, plan: BootPlan): Array<{ layer: string; entry: BlsEntry }> | null {
  const byLayer = new Map(ctx.entries.filter((e) => e.layer !== null && e.entry !== null).map((e) => [e.layer!, e.entry!]));
  for (const a of plan.actions) {
    if (a.kind === 'remove-entry') byLayer.delete(a.layer);
    if (a.kind === 'write-entry') {
      if (a.content === null) return null;
      byLayer.set(a.layer, parseBls(a.content));
    }
  }
  return [...byLayer].map(([layer, entry]) => ({ layer, entry }));
}

/** The menu file for our entries: valid layer names only, newest first. */
function menuFor(entries: Array<{ layer: string; entry: BlsEntry }>): string {
  return renderGrubMenu({
    entries: entries.filter((e) => parseLayerName(e.layer) !== null).sort((a, b) => -compareLayerNames(a.layer, b.layer)),
  });
}

async function planGrub(ctx: PlanContext, plan: BootPlan): Promise<void> {
  const g = ctx.grub;
  if (!g) return;
  const wanted = new Set(ctx.desired.map((d) => entryId(d.layer.name)));
  // Stale grubenv pointers at our layers that are gone (a saved_entry naming nothing would leave GRUB on entry 0).
  const env = await readGrubEnv(g.env);
  for (const key of ['saved_entry', 'next_entry']) {
    const v = env.get(key);
    if (v && v.startsWith('imgbased-') && !wanted.has(v)) plan.actions.push({ kind: 'unset-grubenv', file: g.env, key, value: v });
  }
  const cfg = await readFile(g.cfg, 'utf8').catch(() => null);
  if (cfg === null || usesBlscfg(cfg)) return;
  const generator = await pathExists(join(ctx.opts.grubDDir ?? '/etc/grub.d', '42_imgbased'));
  const stub = grubStubVersion(cfg);
  // Nothing would ever source the menu file: no generator to put the stub in grub.cfg, and no stub there.
  if (!generator && stub === null) return;
  const after = entriesAfter(ctx, plan);
  const content = after === null ? null : menuFor(after);
  const have = await readFile(g.menu, 'utf8').catch(() => null);
  if (content === null || content !== have) plan.actions.push({ kind: 'write-grub-menu', file: g.menu, content });
  // grub.cfg itself changes only to get the (current) stub: once after install, or after an upgrade of its format.
  if (generator && stub !== GRUB_STUB_VERSION) plan.actions.push({ kind: 'grub-mkconfig', output: g.cfg, stub });
}

/** What a sync would do (reads /boot, writes nothing). */
export async function planBootEntries(opts: BootfsOptions): Promise<BootPlan> {
  const ctx = await buildContext(opts);
  const plan = planFrom(ctx);
  await planGrub(ctx, plan);
  return plan;
}

// -------------------------------------------------------------------------------------------------------------
// Applying.

async function atomicRemove(path: string): Promise<void> {
  await unlink(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
  });
  await fsyncPath(dirname(path));
}

/** Free bytes for an unprivileged-or-root writer on the filesystem holding `dir`. */
export async function freeBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return Number(s.bavail) * Number(s.bsize);
}

/** Throws before anything is written when /boot cannot hold `bytes` more plus the reserve. */
export async function preflightBootSpace(bootDir: string, bytes: number): Promise<void> {
  const free = await freeBytes(bootDir);
  if (bytes + BOOT_RESERVE_BYTES > free) {
    const mib = (n: number): string => `${Math.ceil(n / 1048576)} MiB`;
    throw new ImgbasedError(`not enough space on ${bootDir}: kernel copies need ${mib(bytes)} + ${mib(BOOT_RESERVE_BYTES)} reserve, ${mib(free)} free`, {
      hint: `remove unused layers or bases ('imgbase layer --remove', 'imgbase base --remove') or grow ${bootDir}`,
    });
  }
}

/** Copy a base's kernel, initrd and os-release into dir, assembled in a temp dir and renamed into place. */
async function copyKernel(k: KernelFiles, dir: string): Promise<void> {
  const parent = dirname(dir);
  await mkdir(parent, { recursive: true });
  const sizes = (await Promise.all([k.kernel, k.initrd].filter((p): p is string => !!p).map((p) => stat(p)))).reduce((n, s) => n + s.size, 0);
  await preflightBootSpace(parent, sizes);
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp);
  try {
    const put = async (src: string, name: string): Promise<void> => {
      await copyFile(src, join(tmp, name));
      await fsyncPath(join(tmp, name));
    };
    await put(k.kernel, `vmlinuz-${k.version}`);
    if (k.initrd) await put(k.initrd, initrdNamesFor(k.version)[0]!);
    if (k.osRelease) await atomicWrite(join(tmp, OS_RELEASE_COPY), k.osRelease);
    await fsyncPath(tmp);
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
    await fsyncPath(parent);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw e;
  }
}

/**
 * Bring /boot in line with the inventory: create missing entries (copying kernels first), update ours that differ,
 * remove ours whose layer is gone, rewrite the GRUB menu file when it changed, drop kernel copies nothing uses, and
 * run grub-mkconfig only while grub.cfg lacks the stub that sources the menu file.
 * Idempotent: a second run plans nothing. On dryRun, prints and returns the plan without writing.
 */
export async function syncBootEntries(opts: BootfsOptions): Promise<BootPlan> {
  const print = opts.print ?? ((l: string) => process.stdout.write(`${l}\n`));
  const ctx = await buildContext(opts);
  const plan = planFrom(ctx);
  await planGrub(ctx, plan);
  if (opts.dryRun) {
    for (const a of plan.actions) print(`would ${describeBootAction(a)}`);
    return plan;
  }
  const exec: Exec = opts.exec ?? run;
  const vg = opts.inventory.vg ?? '';
  // Copies first: nothing is written or removed when /boot is full. A base without a usable kernel (an image
  // without a kernel package, an unreadable filesystem) only costs its layers their entries, with a warning:
  // the LVM change that triggered the sync stands, and the next sync tries again.
  const skipped = new Set<string>();
  for (const a of plan.actions) {
    if (a.kind !== 'copy-kernel') continue;
    const d = ctx.desired.find((x) => x.owner === a.owner)!;
    const withKernel = opts.withBaseKernel ?? withBaseKernelFromLvm;
    try {
      await withKernel(d.base, opts.inventory, ctx.bootDir, async (k) => {
        if (!k) throw new NoKernelError(`no kernel found in base ${d.base.name} (looked in its /boot, /usr/lib/modules/*/vmlinuz and ${ctx.bootDir})`);
        log.info(`copying kernel ${k.version} of ${d.base.name} to ${a.dir}`);
        await copyKernel(k, a.dir);
      });
    } catch (e) {
      if (e instanceof ImgbasedError && e.message.startsWith('not enough space')) throw e;
      log.warn(`${(e as Error).message}; layers of ${d.base.name} get no boot entry`);
      skipped.add(a.owner);
      continue;
    }
    const kd = await readKernelDir(a.dir, a.owner);
    if (kd) ctx.kernelDirs.set(a.owner, kd);
  }
  for (const a of plan.actions) {
    if (a.kind === 'write-entry') {
      let content = a.content;
      if (content === null) {
        const d = ctx.desired.find((x) => x.layer.name === a.layer)!;
        const have = ctx.entries.find((e) => e.layer === a.layer);
        const template = have?.entry ? entryCmdline(have.entry) : ctx.template;
        const kd = ctx.kernelDirs.get(d.owner);
        if (skipped.has(d.owner)) continue;
        content = kd ? renderLayerEntry(d, kd, vg, ctx.prefix, template, ctx.imgbasedLvs) : null;
        if (content === null) {
          log.warn(`no kernel for layer ${a.layer} in ${join(ctx.bootDir, KERNEL_SUBDIR, d.owner)}; no boot entry`);
          continue;
        }
      }
      await atomicWrite(a.file, content);
      print(`boot: ${a.why === 'create' ? 'created' : 'updated'} ${basename(a.file)}`);
    }
  }
  for (const a of plan.actions) {
    if (a.kind === 'remove-entry') {
      await atomicRemove(a.file);
      print(`boot: removed ${basename(a.file)}`);
    }
  }
  // The menu follows the entries now on disk, before any kernel copy an old entry used is removed.
  for (const a of plan.actions) {
    if (a.kind === 'write-grub-menu') await writeGrubMenu(ctx, a.file, exec, print);
  }
  for (const a of plan.actions) {
    if (a.kind === 'remove-kernel-dir') {
      await rm(a.dir, { recursive: true, force: true });
      await fsyncPath(dirname(a.dir));
      print(`boot: removed kernel copies ${a.dir}`);
    }
  }
  for (const a of plan.actions) {
    if (a.kind === 'unset-grubenv') await exec(ctx.grub!.editenv, [a.file, 'unset', a.key]);
  }
  for (const a of plan.actions) {
    if (a.kind === 'grub-mkconfig') {
      await exec(ctx.grub!.mkconfig, ['-o', a.output]);
      print(`boot: regenerated ${a.output}`);
    }
  }
  return plan;
}

/**
 * Render the menu file from the entries on disk and replace it atomically when it differs; when grub-script-check
 * is there, the temp file must pass it first, else the old file stays and the sync fails.
 */
async function writeGrubMenu(ctx: PlanContext, file: string, exec: Exec, print: (l: string) => void): Promise<void> {
  const content = await grubMenu(ctx.bootDir);
  if ((await readFile(file, 'utf8').catch(() => null)) === content) return;
  const checker = ctx.opts.grubScriptCheck !== undefined ? ctx.opts.grubScriptCheck : await findCommand(ctx.grub!.scriptCheck);
  await atomicWrite(file, content, 0o644, checker === null ? undefined : async (tmp) => {
    const r = await exec(checker, [tmp], { allowFail: true });
    if (r.exitCode !== 0) {
      const why = `${r.stderr}\n${r.stdout}`.split('\n').map((l) => l.trim()).filter(Boolean)[0] ?? `exit ${r.exitCode}`;
      throw new ImgbasedError(`the new GRUB menu failed ${basename(checker)} (${why}); ${file} left as it was`);
    }
  });
  print(`boot: wrote ${file}`);
}

/** A kernel installed inside a running layer (kernel-install): $BOOT/imgbased/<layer>/ now holds that kernel. */
export async function installLayerKernel(bootDir: string, layer: string, k: KernelFiles): Promise<void> {
  await copyKernel(k, join(bootDir, KERNEL_SUBDIR, layer));
}

/** Undo installLayerKernel for `version`; when the layer has no kernel of its own left, it boots its base's again. */
export async function removeLayerKernel(bootDir: string, layer: string, version: string): Promise<void> {
  const dir = join(bootDir, KERNEL_SUBDIR, layer);
  const kd = await readKernelDir(dir, layer);
  if (!kd || kd.version !== version) return;
  await rm(dir, { recursive: true, force: true });
  await fsyncPath(dirname(dir));
}

// -------------------------------------------------------------------------------------------------------------
// Finding a base's kernel.

async function listDir(p: string): Promise<string[]> {
  return readdir(p).catch(() => [] as string[]);
}

async function firstExisting(paths: string[]): Promise<string | null> {
  for (const p of paths) if (await pathExists(p)) return p;
  return null;
}

/**
 * Kernel files inside a mounted root tree: for each /usr/lib/modules/<ver> (newest first) the image from
 * <root>/boot/vmlinuz-<ver> or /usr/lib/modules/<ver>/vmlinuz, else — for a base made from the running host,
 * whose /boot is a separate partition — from the live bootDir; the initrd likewise.
 */
export async function findKernelInTree(root: string, liveBoot: string | null): Promise<KernelFiles | null> {
  const modDirs = [join(root, 'usr/lib/modules'), join(root, 'lib/modules')];
  const versions = new Set<string>();
  for (const d of modDirs) for (const v of await listDir(d)) versions.add(v);
  // Trees without modules (tests, odd images): fall back to kernels in the tree's /boot.
  for (const n of await listDir(join(root, 'boot'))) {
    const v = KERNEL_RE.exec(n)?.[1];
    if (v) versions.add(v);
  }
  const osRelease = (await readFile(join(root, 'etc/os-release'), 'utf8').catch(() => null))
    ?? (await readFile(join(root, 'usr/lib/os-release'), 'utf8').catch(() => null));
  for (const v of [...versions].sort((a, b) => -rpmvercmp(a, b))) {
    const bootDirs = [join(root, 'boot'), ...(liveBoot ? [liveBoot] : [])];
    const kernel = await firstExisting([
      join(root, 'boot', `vmlinuz-${v}`),
      ...modDirs.map((d) => join(d, v, 'vmlinuz')),
      ...(liveBoot ? [join(liveBoot, `vmlinuz-${v}`)] : []),
    ]);
    if (!kernel) continue;
    const initrd = await firstExisting([
      ...bootDirs.flatMap((b) => initrdNamesFor(v).map((n) => join(b, n))),
      ...modDirs.flatMap((d) => [join(d, v, 'initrd'), join(d, v, 'initramfs.img')]),
    ]);
    return { version: v, kernel, initrd, osRelease };
  }
  return null;
}

/** Default kernel source: activate the base read-only (or, if that fails, one of its layers) and look inside. */
export async function withBaseKernelFromLvm<T>(base: Base, inv: Inventory, bootDir: string, fn: (k: KernelFiles | null) => Promise<T>): Promise<T> {
  const vg = inv.vg!;
  const candidates = [base.lv, ...base.layers.map((l) => l.lv)];
  let lastErr: unknown = null;
  for (const lv of candidates) {
    const wasActive = lv.active;
    try {
      if (!wasActive) await activateLv(vg, lv.name, { ignoreSkip: true });
      try {
        return await withMounted(lvPath(vg, lv.name), async (dir) => fn(await findKernelInTree(dir, bootDir)), { readOnly: true });
      } finally {
        if (!wasActive) await deactivateLv(vg, lv.name).catch(() => undefined);
      }
    } catch (e) {
      if (e instanceof NoKernelError || (e instanceof ImgbasedError && e.message.startsWith('not enough space'))) throw e;
      lastErr = e;
      log.warn(`cannot read the kernel from ${vg}/${lv.name}: ${(e as Error).message}`);
    }
  }
  throw lastErr instanceof Error ? lastErr : new ImgbasedError(`cannot read the kernel of base ${base.name}`);
}

// -------------------------------------------------------------------------------------------------------------
// Listing and the GRUB menu.

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

/** The menu file as imgbase would write it now, from the entries on disk. */
export async function grubMenu(bootDir = DEFAULT_BOOT_DIR): Promise<string> {
  return menuFor((await readEntries(bootDir)).filter((e) => e.layer !== null && e.entry !== null).map((e) => ({ layer: e.layer!, entry: e.entry! })));
}
