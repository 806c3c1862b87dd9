// What /boot should hold for a set of layers, as steps: pure, from a snapshot of /boot read beforehand. One BLS entry
// per layer in loader/entries, kernel copies per base (or per layer, after kernel-install) under imgbased/<owner>/,
// the GRUB menu file rendered from our entries, grubenv pointers. Entries we did not write are never touched.
import { ENTRY_PREFIX, entryCmdline, entryFileName, entryId, layerCmdline, layerEntry, osReleasePrettyName, parseBls, renderBls, type BlsEntry } from './bls';
import { ImgbasedError } from './errors';
import { GRUB_STUB_VERSION, grubStubVersion, renderGrubMenu } from './grub-script';
import { compareLayerNames, parseLayerName, type Nvr } from './naming';
import type { KernelSource, Step } from './steps';
import { ARM_KEYS, ENV } from './boot-state';

import { ENTRIES_SUBDIR, KERNEL_SUBDIR } from './paths';

export { KERNEL_SUBDIR };
export const OS_RELEASE_COPY = 'os-release';
/** Kept free on /boot beyond the copies themselves (GRUB env block, a kernel update's initrd rebuild, ...). */
export const BOOT_RESERVE_BYTES = 16 * 1024 * 1024;
/** Temporary names our atomic writes use; one left behind means a write was cut short. */
export const TEMP_MARK = '.tmp-';

export interface EntryFile {
  file: string;
  text: string;
  entry: BlsEntry | null;
  /** The layer when the file is ours (name + marker), else null. */
  layer: string | null;
}

export interface KernelDir {
  owner: string;
  /** File names in the directory. */
  files: string[];
  /** Newest kernel in it, as file names (null: none). */
  kernel: string | null;
  initrd: string | null;
  version: string | null;
  osRelease: string | null;
}

export interface GrubPaths {
  /** Directory name under $BOOT: "grub" or "grub2". */
  dir: string;
  cfg: string;
  menu: string;
  env: string;
  mkconfig: string;
  editenv: string;
  scriptCheck: string;
}

export interface GrubSnapshot {
  paths: GrubPaths;
  /** grub.cfg text, null when missing. */
  cfg: string | null;
  menu: string | null;
  env: Record<string, string>;
  /** /etc/grub.d/42_imgbased is installed (it puts the stub that sources the menu file into grub.cfg). */
  generator: boolean;
}

/** Everything the boot part of a plan is computed from; read once by adapters/boot-read before planning. */
export interface BootSnapshot {
  bootDir: string;
  /** bootDir's path inside its own filesystem: "" when it is a mount point (separate /boot). */
  prefix: string;
  xfs: boolean;
  freeBytes: number;
  entries: EntryFile[];
  kernelDirs: KernelDir[];
  /** Leftover temporary files and directories of interrupted writes (absolute paths). */
  temps: string[];
  grub: GrubSnapshot | null;
  /** Command line new entries start from: /etc/kernel/cmdline, else our newest entry's, else /proc/cmdline. */
  cmdlineTemplate: string;
}

/** A layer as the boot plan needs it. */
export interface BootLayer {
  name: string;
  base: string;
  nvr: Nvr;
  index: number;
}

export function entriesDir(bootDir: string): string {
  return `${bootDir.replace(/\/+$/, '')}/${ENTRIES_SUBDIR}`;
}

export function kernelDirPath(bootDir: string, owner: string): string {
  return `${bootDir.replace(/\/+$/, '')}/${KERNEL_SUBDIR}/${owner}`;
}

export const KERNEL_RE = /^(?:vmlinuz|vmlinux|bzImage|kernel)-(.+)$/;

export function initrdNamesFor(version: string): string[] {
  return [`initrd.img-${version}`, `initramfs-${version}.img`, `initrd-${version}`, `initrd-${version}.img`];
}

/** The kernel files an owner's entries use: from its directory on /boot, or from a copy the plan makes. */
interface KernelView {
  owner: string;
  kernel: string;
  initrd: string | null;
  version: string;
  osRelease: string | null;
}

function viewOfDir(kd: KernelDir): KernelView | null {
  if (!kd.kernel || !kd.version) return null;
  return { owner: kd.owner, kernel: kd.kernel, initrd: kd.initrd, version: kd.version, osRelease: kd.osRelease };
}

function viewOfSource(owner: string, s: KernelSource): KernelView {
  return {
    owner, kernel: `vmlinuz-${s.version}`, initrd: s.initrd ? initrdNamesFor(s.version)[0]! : null, version: s.version,
    osRelease: s.osRelease,
  };
}

/**
 * The boot state the plan is walked against: our entries by layer, the menu file and grubenv as they are after the
 * steps planned so far. Each phase reads it and records what its steps change, so the next phase plans from there.
 */
export class BootSim {
  readonly entries = new Map<string, string>();
  menu: string | null;
  readonly env: Map<string, string>;
  /** Owners with a kernel copy on /boot (after the steps planned so far). */
  readonly dirs = new Map<string, KernelDir>();
  /** Layers tagged bad (after the steps planned so far): the menu lists them last and never as the default. */
  bad = new Set<string>();

  constructor(readonly snap: BootSnapshot) {
    for (const e of snap.entries) if (e.layer !== null) this.entries.set(e.layer, e.text);
    this.menu = snap.grub?.menu ?? null;
    this.env = new Map(Object.entries(snap.grub?.env ?? {}));
    for (const kd of snap.kernelDirs) this.dirs.set(kd.owner, kd);
  }

  /** File names of foreign entries that take the name of one of our layers' entries. */
  foreignNamed(layer: string): string | null {
    const file = entryFileName(layer);
    return this.snap.entries.some((e) => e.file === file && e.layer === null) ? file : null;
  }

  /** Whether the menu file is ours to keep: a GRUB without blscfg whose grub.cfg sources it (or will). */
  managesMenu(): boolean {
    const g = this.snap.grub;
    if (!g || g.cfg === null || /^\s*blscfg\b/m.test(g.cfg)) return false;
    return g.generator || grubStubVersion(g.cfg) !== null;
  }
}

export interface Wanted {
  vg: string;
  /** Every layer after the plan, oldest first. */
  layers: BootLayer[];
  /** Names of every base and layer (their rd.lvm.lv= is never carried from a template to another layer). */
  imgbasedLvs: string[];
  /** Kernels read from bases (and layers) whose copy is not on /boot yet; null: the tree holds none. */
  kernels: ReadonlyMap<string, KernelSource | null>;
  /** Layers whose own kernel copy (kernel-install) is dropped: they boot their base's kernel again. */
  dropOwn?: ReadonlySet<string>;
}

/** Which owner's kernel a layer boots: its own copy when it has one (kernel-install), else its base's. */
function ownerOf(sim: BootSim, w: Wanted, l: BootLayer): string {
  const own = sim.dirs.get(l.name);
  return own?.kernel && !w.dropOwn?.has(l.name) ? l.name : l.base;
}

function viewFor(sim: BootSim, w: Wanted, owner: string): KernelView | null {
  const kd = sim.dirs.get(owner);
  if (kd) return viewOfDir(kd);
  const src = w.kernels.get(owner);
  return src ? viewOfSource(owner, src) : null;
}

function refOf(prefix: string, owner: string, file: string): string {
  return `${prefix}/${KERNEL_SUBDIR}/${owner}/${file}`;
}

/** The entry text for one layer, or null when its owner has no kernel. Options the layer's entry already has stay. */
export function renderLayerEntry(sim: BootSim, w: Wanted, l: BootLayer): string | null {
  const v = viewFor(sim, w, ownerOf(sim, w, l));
  if (!v) return null;
  const have = sim.entries.get(l.name);
  let template = sim.snap.cmdlineTemplate;
  if (have !== undefined) {
    try {
      template = entryCmdline(parseBls(have));
    } catch {
      // an unparsable entry of ours is simply rewritten from the template
    }
  }
  const e = layerEntry({
    layer: l.name, base: l.nvr, index: l.index, vg: w.vg,
    prettyName: v.osRelease ? osReleasePrettyName(v.osRelease) : null,
    linux: refOf(sim.snap.prefix, v.owner, v.kernel),
    initrd: v.initrd ? [refOf(sim.snap.prefix, v.owner, v.initrd)] : [],
    options: layerCmdline({ template, vg: w.vg, layer: l.name, imgbasedLvs: w.imgbasedLvs }),
  });
  return renderBls(e);
}

function menuText(sim: BootSim): string {
  const entries: Array<{ layer: string; entry: BlsEntry }> = [];
  for (const [layer, text] of sim.entries) {
    if (parseLayerName(layer) === null) continue;
    try {
      entries.push({ layer, entry: parseBls(text) });
    } catch {
      // unparsable: no menu entry
    }
  }
  return renderGrubMenu({ entries: entries.sort((a, b) => -compareLayerNames(a.layer, b.layer)), bad: sim.bad });
}

export function menuStep(sim: BootSim): Step[] {
  if (!sim.managesMenu()) return [];
  const content = menuText(sim);
  if (content === sim.menu) return [];
  // No menu file and nothing to put in it: writing one would only add a step, and grub-script-check rejects a
  // script without commands (the stub sources the file only when it exists).
  if (sim.menu === null && content === renderGrubMenu({ entries: [] })) return [];
  const step: Step = { kind: 'write-menu', file: sim.snap.grub!.paths.menu, content, previous: sim.menu };
  sim.menu = content;
  return [step];
}

export function settle(sim: BootSim, steps: Step[]): Step[] {
  return steps.length === 0 ? [] : [...steps, { kind: 'settle-boot', dir: sim.snap.bootDir, xfs: sim.snap.xfs }];
}

/** Leftovers of interrupted writes: removed first (nothing reads them). */
export function tempSteps(sim: BootSim): Step[] {
  return sim.snap.temps.map((path): Step => ({ kind: 'remove-temp', path }));
}

/**
 * Phase "detach", before any LV goes away: our entries whose layer will not exist are removed, the menu follows,
 * grubenv pointers at them are unset, then /boot is flushed. After it, nothing GRUB reads points at those LVs.
 */
export function detachSteps(sim: BootSim, keep: ReadonlySet<string>): Step[] {
  const steps: Step[] = [];
  const file = (layer: string): string => `${entriesDir(sim.snap.bootDir)}/${entryFileName(layer)}`;
  for (const [layer, text] of [...sim.entries]) {
    if (keep.has(layer)) continue;
    steps.push({ kind: 'remove-entry', layer, file: file(layer), previous: text });
    sim.entries.delete(layer);
  }
  steps.push(...menuStep(sim));
  const g = sim.snap.grub;
  const kept = new Set([...keep].map(entryId));
  if (g) {
    const unset = (key: string): void => {
      const v = sim.env.get(key);
      if (v === undefined) return;
      steps.push({ kind: 'grubenv-unset', file: g.paths.env, key, previous: v });
      sim.env.delete(key);
    };
    for (const key of ['saved_entry', 'next_entry', ENV.fallback]) {
      const v = sim.env.get(key);
      // A pointer at an entry that is gone would leave GRUB on menu entry 0, which may not be ours.
      if (v && v.startsWith(ENTRY_PREFIX) && !kept.has(v)) unset(key);
    }
    // A try armed for a layer that goes away is no try.
    const t = sim.env.get(ENV.try);
    if (t && !keep.has(t)) ARM_KEYS.forEach(unset);
  }
  return settle(sim, steps);
}

/** Kernel copies the wanted layers' entries need and /boot lacks; refuses when /boot cannot hold them. */
export function kernelCopySteps(sim: BootSim, w: Wanted): Step[] {
  const steps: Step[] = [];
  const seen = new Set<string>();
  for (const l of w.layers) {
    const owner = ownerOf(sim, w, l);
    if (seen.has(owner) || sim.dirs.has(owner)) continue;
    seen.add(owner);
    const src = w.kernels.get(owner);
    if (!src) continue;
    steps.push({ kind: 'copy-kernel', owner, dir: kernelDirPath(sim.snap.bootDir, owner), source: src, into: 'new-dir' });
  }
  checkBootSpace(sim.snap, steps);
  for (const s of steps) {
    if (s.kind !== 'copy-kernel') continue;
    const v = viewOfSource(s.owner, s.source);
    const files = [v.kernel, ...(v.initrd ? [v.initrd] : []), ...(v.osRelease !== null ? [OS_RELEASE_COPY] : [])];
    sim.dirs.set(s.owner, { owner: s.owner, files, kernel: v.kernel, initrd: v.initrd, version: v.version, osRelease: v.osRelease });
  }
  return steps;
}

export function checkBootSpace(snap: BootSnapshot, steps: readonly Step[]): void {
  const need = steps.reduce((n, s) => n + (s.kind === 'copy-kernel' ? s.source.bytes : 0), 0);
  if (need === 0) return;
  if (need + BOOT_RESERVE_BYTES > snap.freeBytes) {
    const mib = (n: number): string => `${Math.ceil(n / 1048576)} MiB`;
    throw new ImgbasedError(
      `not enough space on ${snap.bootDir}: kernel copies need ${mib(need)} + ${mib(BOOT_RESERVE_BYTES)} reserve, ${mib(snap.freeBytes)} free`,
      { hint: `remove unused layers or bases ('imgbase layer --remove', 'imgbase base --remove') or grow ${snap.bootDir}` },
    );
  }
}

export interface AttachResult {
  steps: Step[];
  /** Layers that get no entry, and why (printed as notes). */
  notes: string[];
}

/**
 * Phase "attach", after the LVs are complete: an entry per wanted layer (created or brought up to date), the menu,
 * grubenv changes the verb asked for (an id is only set once its entry and menu entry exist), grub-mkconfig while
 * grub.cfg lacks the current stub, then /boot is flushed.
 */
export function attachSteps(sim: BootSim, w: Wanted, env: Step[] = []): AttachResult {
  const steps: Step[] = [];
  const notes: string[] = [];
  for (const l of w.layers) {
    const foreign = sim.foreignNamed(l.name);
    if (foreign) {
      notes.push(`layer ${l.name} has no boot entry: ${foreign} in ${entriesDir(sim.snap.bootDir)} was not written by imgbase and is left alone`);
      continue;
    }
    const content = renderLayerEntry(sim, w, l);
    if (content === null) continue;
    const previous = sim.entries.get(l.name) ?? null;
    if (previous === content) continue;
    steps.push({ kind: 'write-entry', layer: l.name, file: `${entriesDir(sim.snap.bootDir)}/${entryFileName(l.name)}`, content, previous });
    sim.entries.set(l.name, content);
  }
  steps.push(...menuStep(sim));
  for (const s of env) {
    if (s.kind === 'grubenv-set') {
      if (sim.env.get(s.key) === s.value) continue;
      steps.push({ ...s, previous: sim.env.get(s.key) ?? null });
      sim.env.set(s.key, s.value);
    } else if (s.kind === 'grubenv-unset') {
      const have = sim.env.get(s.key);
      if (have === undefined) continue;
      steps.push({ ...s, previous: have });
      sim.env.delete(s.key);
    }
  }
  const g = sim.snap.grub;
  if (g && g.generator && g.cfg !== null && sim.managesMenu()) {
    const stub = grubStubVersion(g.cfg);
    if (stub !== GRUB_STUB_VERSION) {
      const why = stub === null ? 'it has no imgbased stub yet' : `its imgbased stub is v${stub}, this imgbase writes v${GRUB_STUB_VERSION}`;
      steps.push({ kind: 'grub-mkconfig', output: g.paths.cfg, why });
    }
  }
  return { steps: settle(sim, steps), notes };
}

/** Layers of wanted that get no entry because their base holds no kernel (for the note the verb prints). */
export function layersWithoutKernel(sim: BootSim, w: Wanted): string[] {
  return w.layers.filter((l) => viewFor(sim, w, ownerOf(sim, w, l)) === null).map((l) => l.name);
}

/**
 * Phase "gc", last: kernel copies no entry (ours or anyone's) uses, and files of older kernels in directories that
 * are still used. Removing them is what comes last, so a power cut before it only leaves them for the next write.
 */
export function gcSteps(sim: BootSim, w: Wanted): Step[] {
  const used = new Map<string, Set<string>>();
  const use = (owner: string, file: string): void => {
    if (!used.has(owner)) used.set(owner, new Set([OS_RELEASE_COPY]));
    used.get(owner)!.add(file);
  };
  for (const l of w.layers) {
    const v = viewFor(sim, w, ownerOf(sim, w, l));
    if (!v) continue;
    use(v.owner, v.kernel);
    if (v.initrd) use(v.owner, v.initrd);
  }
  const re = new RegExp(`(?:^|/)${KERNEL_SUBDIR}/([^/]+)/([^/]+)$`);
  for (const e of sim.snap.entries) {
    if (e.layer !== null || !e.entry) continue;
    for (const p of [e.entry.linux ?? '', ...e.entry.initrd]) {
      const m = re.exec(p);
      if (m) use(m[1]!, m[2]!);
    }
  }
  const steps: Step[] = [];
  for (const [owner, kd] of [...sim.dirs]) {
    const dir = kernelDirPath(sim.snap.bootDir, owner);
    const keep = used.get(owner);
    if (!keep) {
      steps.push({ kind: 'remove-kernel-files', dir, files: 'all' });
      sim.dirs.delete(owner);
      continue;
    }
    const extra = kd.files.filter((f) => !keep.has(f));
    if (extra.length > 0) steps.push({ kind: 'remove-kernel-files', dir, files: extra });
  }
  return settle(sim, steps);
}
