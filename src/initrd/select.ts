// `imgbase initrd select`: runs once in the initramfs (imgbased-select.service). Waits for the imgbased VG,
// reads the inventory with one `lvs`, asks core for the ordered candidates, and takes the first layer that
// activates and whose filesystem passes fsck (plus a trial mount where fsck cannot tell). Then: the boot decision
// goes to /run/imgbased/boot-status.json, one line to the console and journal, and that LV gets the
// /dev/imgbased/root alias sysroot.mount waits for (see units.ts).
// Every command started here costs a few hundred ms of the one vCPU under TCG, so what can be read from /sys,
// /run/udev or the device itself is read in-process.
import { lstat, mkdir, readdir, readFile, realpath, rm, rmdir, writeFile } from 'node:fs/promises';
import { setPriority } from 'node:os';
import {
  BOOT_STATUS_DIR, BOOT_STATUS_PATH, renderBootStatus, showValue, type BootFallback, type BootStatus, type BootTiming,
} from '../core/boot-status';
import { imgbasedArgs, parseCmdline } from '../core/cmdline';
import { dmName } from '../core/dm';
import { buildInventory, findBase, findLayer, type Inventory } from '../core/inventory';
import { bootCandidates, isSafeLayerArg } from '../core/select';
import { badLayers } from '../core/boot-state';
import { processStartS } from '../core/proc';
import { atomicWrite } from '../adapters/atomic';
import { run } from '../adapters/exec';
import { bootFsck, pathExists, quickFsType } from '../adapters/fs';
import { log, setDebug } from '../adapters/log';
import { activateLv, deactivateLv, readLvRecords } from '../adapters/lvm';
import { deviceUnitName, parseJobs } from '../core/systemd-units';
import { rootMarkerPath } from './units';
import { console as kmsg } from './sys';

const PROBE_DIR = `${BOOT_STATUS_DIR}/probe`;
const UDEV_DB = '/run/udev/data';
const UDEV_CONTROL = '/run/udev/control';
const BLIND_RETRY_MS = 10_000;
/** dracut's hook directory in the initramfs. */
const DRACUT_HOOKS = '/lib/dracut/hooks';

export interface SelectOptions {
  cmdline?: string;
  /** Seconds to wait for the imgbased VG and its layers to appear. */
  waitS?: number;
}

export async function selectStep(opts: SelectOptions = {}): Promise<number> {
  const cmdline = opts.cmdline ?? (await readFile('/proc/cmdline', 'utf8'));
  const args = imgbasedArgs(cmdline);
  if (!args.present || args.disabled) {
    log.info('initrd select: no imgbased.* kernel argument (or rd.imgbased=0); nothing to do');
    return 0;
  }
  setDebug(args.debug);
  log.debug('initrd select: started');
  const main = monotonicS();
  // From /proc: node's own process.uptime() was off by seconds in the TCG guest.
  const started = processStartS(await readFile('/proc/self/stat', 'utf8').catch(() => '')) ?? main;
  const timing = (lvm: number | null): BootTiming => ({
    process: round2(started), main: round2(main), lvm: lvm === null ? null : round2(lvm), decided: round2(monotonicS()),
  });
  const vg = args.vg && isSafeLayerArg(args.vg) ? args.vg : undefined;
  if (args.vg !== null && vg === undefined) kmsg.warn(`imgbased: ignoring invalid imgbased.vg=${showValue(args.vg)}`);

  const { inv, lvmAt } = await waitForInventory(vg, opts.waitS ?? 60);
  const requested = args.layer;
  const fallbacks: BootFallback[] = [];
  const unusable = new Map<string, string>();

  const bad = badLayers(inv);
  let candidates = bootCandidates({ requested, inventory: inv, bad });
  const first = candidates[0];
  const reqWhy = requested === null || requested === 'latest' ? null : requestProblem(inv, requested);
  if (reqWhy !== null) {
    fallbacks.push({ layer: requested ?? '', why: reqWhy });
    kmsg.warn(`imgbased: ${showValue(requested ?? '')} unusable: ${reqWhy}; ${fallingBackTo(first?.layer)}`);
  }

  while (candidates.length > 0) {
    const c = candidates[0]!;
    const layer = findLayer(inv, c.layer);
    const why = layer ? await tryLayer(inv.vg!, layer.name, rootInit(cmdline)) : { kernel: null, why: 'not in the inventory' };
    if (why.kernel !== null) {
      const status: BootStatus = {
        requested, booted: c.layer, reason: c.reason, fallbacks, time: new Date().toISOString(),
        vg: inv.vg, device: `/dev/${inv.vg}/${c.layer}`, timing: timing(lvmAt),
      };
      await atomicWrite(BOOT_STATUS_PATH, renderBootStatus(status));
      kmsg.notice(`imgbased: booting ${c.layer} (${c.reason})`);
      await publishAlias(why.kernel, c.layer);
      await stopWaitingForRoot(cmdline);
      return 0;
    }
    unusable.set(c.layer, why.why);
    fallbacks.push({ layer: c.layer, why: why.why });
    candidates = bootCandidates({ requested, inventory: inv, unusable, bad });
    kmsg.warn(`imgbased: ${c.layer} unusable: ${why.why}; ${fallingBackTo(candidates[0]?.layer)}`);
  }

  const reason = inv.vg === null
    ? 'no volume group tagged imgbased:vg found'
    : inv.layers.length === 0 ? `no layers in ${inv.vg}` : bad.size > 0 ? 'no usable layer (layers marked bad are not picked by themselves)' : 'no usable layer';
  const root = await lastResort(cmdline, new Set(unusable.keys()), inv.vg);
  await atomicWrite(BOOT_STATUS_PATH, renderBootStatus({
    requested, booted: null, reason, fallbacks, time: new Date().toISOString(), vg: inv.vg, device: root.device,
    timing: timing(lvmAt), lastResort: root.device,
  }));
  if (root.kernel !== null) {
    kmsg.warn(`imgbased: ${reason}; booting root=${root.spec} (${root.device}) as the last resort`);
    await publishAlias(root.kernel, `root=${root.spec}`);
    return 0;
  }
  kmsg.error(`imgbased: cannot boot: ${reason}; ${root.why}`);
  return 1;
}

const ROOT_WAIT_S = 30;

/**
 * The root= device as the last resort when no layer is usable: resolved (UUID=, LABEL=, PARTUUID=, PARTLABEL=, a
 * /dev path; an LV of it is activated), waited for, and checked like a layer. Not when it names a layer that was
 * just found unusable.
 */
async function lastResort(cmdline: string, unusable: ReadonlySet<string>, vg: string | null):
  Promise<{ spec: string; device: string | null; kernel: string | null; why: string }> {
  const spec = rootSpec(cmdline);
  if (spec === '') return { spec, device: null, kernel: null, why: 'no root= to fall back to' };
  const path = rootDevicePath(spec);
  if (path === null) return { spec, device: null, kernel: null, why: `root=${showValue(spec)} is not a device this fallback understands` };
  const lv = /^\/dev\/(?:mapper\/)?([A-Za-z0-9_.+-]+)\/([A-Za-z0-9_.+-]+)$/.exec(path);
  if (lv && lv[1] === vg && unusable.has(lv[2]!)) return { spec, device: path, kernel: null, why: `root= names layer ${lv[2]}, unusable too` };
  if (lv) await activateLv(lv[1]!, lv[2]!, { ignoreSkip: true, sysinit: true }).catch((e: Error) => log.debug(`root= activation: ${e.message}`));
  const deadline = Date.now() + ROOT_WAIT_S * 1000;
  let real: string | null = null;
  while (real === null && Date.now() < deadline) {
    real = await realpath(path).catch(() => null);
    if (real === null) await new Promise((r) => setTimeout(r, 500));
  }
  if (real === null || !real.startsWith('/dev/')) return { spec, device: path, kernel: null, why: `root=${showValue(spec)}: ${path} did not appear within ${ROOT_WAIT_S} s` };
  const why = await checkFilesystem(real, rootInit(cmdline));
  if (why !== null) return { spec, device: path, kernel: null, why: `root=${showValue(spec)} unusable too: ${why}` };
  return { spec, device: path, kernel: real.slice('/dev/'.length), why: '' };
}

/** The root= value the kernel uses: the last one given ('' when none). */
function rootSpec(cmdline: string): string {
  return parseCmdline(cmdline).filter((a) => a.key === 'root').pop()?.value ?? '';
}

/** /dev path of a root= value, or null for what a fallback cannot resolve (nfs, live images, ...). */
export function rootDevicePath(spec: string): string | null {
  const tagged = /^(UUID|LABEL|PARTUUID|PARTLABEL)=(.+)$/.exec(spec);
  if (tagged) {
    const dir = { UUID: 'by-uuid', LABEL: 'by-label', PARTUUID: 'by-partuuid', PARTLABEL: 'by-partlabel' }[tagged[1] as 'UUID'];
    return /^[A-Za-z0-9._-]+$/.test(tagged[2]!) ? `/dev/disk/${dir}/${tagged[2]}` : null;
  }
  if (/^block:/.test(spec)) return rootDevicePath(spec.slice('block:'.length));
  return /^\/dev\/[A-Za-z0-9_.+\/-]+$/.test(spec) && !spec.includes('..') ? spec : null;
}

/**
 * What dracut's wait_for_dev made for the root= device (rootfs-block): the initqueue's "finished" hook, which holds
 * the switch to the root until that device exists, and the emergency hook naming it. Relative to dracut's hook
 * directory; '/' in the path written as dracut's str_replace writes it ('\x2f').
 */
export function rootWaitHooks(spec: string): string[] {
  const path = rootDevicePath(spec);
  if (path === null) return [];
  const name = path.replace(/\//g, '\\x2f');
  return [`initqueue/finished/devexists-${name}.sh`, `emergency/80-${name}.sh`];
}

/**
 * Once a layer is chosen, / is its alias (sysroot.mount waits for that): the root= device is a safety net nobody
 * mounts, and when it is gone (the requested layer's LV removed) dracut's waits for it would hold the boot for
 * ever (rd.timeout is unset by default). So both are cancelled: the initqueue hook, as dracut's own
 * cancel_wait_for_dev does, and the start job its rootfs generator queued for the device unit.
 */
async function stopWaitingForRoot(cmdline: string): Promise<void> {
  const spec = rootSpec(cmdline);
  for (const hook of rootWaitHooks(spec)) await rm(`${DRACUT_HOOKS}/${hook}`, { force: true });
  const path = rootDevicePath(spec);
  if (path === null) return;
  const unit = deviceUnitName(path);
  const listed = await run('systemctl', ['list-jobs', '--no-legend', '--no-pager'], { allowFail: true });
  const ids = parseJobs(listed.stdout).filter((j) => j.unit === unit && j.type === 'start').map((j) => String(j.id));
  if (ids.length === 0) return;
  const cancelled = await run('systemctl', ['cancel', ...ids], { allowFail: true });
  if (cancelled.exitCode !== 0) log.debug(`systemctl cancel ${ids.join(' ')}: ${cancelled.stderr.trim()}`);
  else log.debug(`cancelled the wait for ${unit}`);
}

/** The end of an "unusable" console line: the next layer to try, or that the last resort decides next. */
function fallingBackTo(layer: string | undefined): string {
  return layer !== undefined ? `falling back to ${layer}` : 'no other layer to try';
}

/** Why the requested value itself is not bootable (null: it is an existing layer). */
export function requestProblem(inv: Inventory, requested: string): string | null {
  if (!isSafeLayerArg(requested)) {
    return requested === '' ? 'empty imgbased.layer= value' : 'invalid layer name';
  }
  if (findLayer(inv, requested)) return null;
  if (findBase(inv, requested)) return 'is a base, not a layer; bases are never booted';
  return `not found in ${inv.vg ?? 'any imgbased volume group'}`;
}

/** Paths a layer must have to be bootable (null: init= names something else; not checked). */
function rootInit(cmdline: string): string[] | null {
  if (parseCmdline(cmdline).some((a) => a.key === 'init' && a.value)) return null;
  return ['sbin/init', 'usr/sbin/init', 'usr/lib/systemd/systemd'];
}

/**
 * Waits for the imgbased VG and its layers. No `udevadm settle` (it waits for every device, ~20 s under TCG): lvs
 * runs when udev has identified a new LVM physical volume, and every BLIND_RETRY_MS once udevd runs in case udev
 * never says so (rare: an lvs under TCG costs seconds of the one vCPU the disk probing needs too). The service
 * starts before udevd so that node's start-up overlaps the early boot.
 */
async function waitForInventory(vg: string | undefined, waitS: number): Promise<{ inv: Inventory; lvmAt: number | null }> {
  const deadline = Date.now() + waitS * 1000;
  let inv: Inventory | null = null;
  let lvmAt: number | null = null;
  let seen = '';
  let lastTry = Date.now();
  for (let attempt = 1; ; ) {
    const pvs = await pvsKnownToUdev();
    if ((pvs !== '' && pvs !== seen) || (Date.now() - lastTry > BLIND_RETRY_MS && (await pathExists(UDEV_CONTROL)))) {
      if (pvs !== seen) log.debug(`initrd select: LVM PVs known to udev: ${pvs || 'none'}`);
      seen = pvs;
      lastTry = Date.now();
      lvmAt ??= monotonicS();
      fullPriority();
      try {
        inv = buildInventory(await readLvRecords(), vg ? { vg } : {});
        if (inv.vg !== null && inv.layers.length > 0) return { inv, lvmAt };
        log.debug(`initrd select: attempt ${attempt}: ${inv.vg === null ? 'no imgbased VG yet' : `no layers in ${inv.vg} yet`}`);
      } catch (e) {
        log.debug(`initrd select: attempt ${attempt}: ${(e as Error).message}`);
      }
      attempt++;
    }
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  return { inv: inv ?? { vg: vg ?? null, pool: null, bases: [], layers: [], foreign: [], problems: [], others: [] }, lvmAt };
}

/** CLOCK_MONOTONIC in seconds: the clock of the kernel's log and of systemd's timestamps. */
function monotonicS(): number {
  return Number(process.hrtime.bigint()) / 1e9;
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

/**
 * imgbased-select.service starts at Nice=19 so that node's start-up only takes CPU the early boot leaves idle (with
 * one vCPU it otherwise delays udevd and the disks by seconds). From the first LVM command on, select is the boot's
 * critical path: back to normal priority (children inherit it).
 */
function fullPriority(): void {
  try {
    setPriority(0);
  } catch (e) {
    log.debug(`initrd select: cannot reset priority: ${(e as Error).message}`);
  }
}

/** Block devices udev has so far identified as LVM PVs (its database: /run/udev/data/b<major>:<minor>). */
async function pvsKnownToUdev(): Promise<string> {
  const names = (await readdir(UDEV_DB).catch(() => [] as string[])).filter((n) => n.startsWith('b')).sort();
  const pvs: string[] = [];
  for (const n of names) {
    const text = await readFile(`${UDEV_DB}/${n}`, 'utf8').catch(() => '');
    if (/^E:ID_FS_TYPE=LVM2_member$/m.test(text)) pvs.push(n);
  }
  return pvs.join(' ');
}

/** Activates the layer and checks its filesystem: { kernel: "dm-N" } or { why }. */
async function tryLayer(vg: string, lv: string, initPaths: string[] | null): Promise<{ kernel: string; why?: undefined } | { kernel: null; why: string }> {
  try {
    await activateLv(vg, lv, { ignoreSkip: true, sysinit: true });
  } catch (e) {
    return { kernel: null, why: `activation failed: ${oneLine((e as Error).message)}` };
  }
  const kernel = await dmKernelName(dmName(vg, lv));
  if (kernel === null) {
    await deactivateLv(vg, lv).catch(() => undefined);
    return { kernel: null, why: 'activated but no device-mapper device appeared' };
  }
  const why = await checkFilesystem(`/dev/${kernel}`, initPaths);
  if (why !== null) {
    await deactivateLv(vg, lv).catch(() => undefined);
    return { kernel: null, why };
  }
  return { kernel };
}

/** "dm-N" of a device-mapper name, from sysfs (does not depend on udev having made links yet). */
async function dmKernelName(name: string): Promise<string | null> {
  const entries = await readdir('/sys/block').catch(() => [] as string[]);
  for (const e of entries) {
    if (!e.startsWith('dm-')) continue;
    const n = await readFile(`/sys/block/${e}/dm/name`, 'utf8').catch(() => '');
    if (n.trim() === name) return e;
  }
  return null;
}

/**
 * null = usable. First the fsck stock dracut runs on a root= device before mounting it; a layer it cannot clean is
 * skipped, not booted half-repaired. For ext2/3/4 that is the whole check: e2fsck reads what a mount would (the
 * superblock, group descriptors, journal), so a trial mount would only repeat it (~0.8 s of the one vCPU under
 * TCG). fsck cannot tell for other filesystems (fsck.xfs does nothing), so those get a read-only trial mount, and
 * an init inside is looked for while it is mounted.
 */
export async function checkFilesystem(dev: string, initPaths: string[] | null): Promise<string | null> {
  let type: string;
  try {
    type = await quickFsType(dev);
  } catch (e) {
    return `cannot read the device: ${oneLine((e as Error).message)}`;
  }
  if (type === '') return 'no filesystem found';
  if (!/^[a-z0-9_]+$/.test(type)) return `unexpected filesystem type ${showValue(type)}`;
  const fsckWhy = await bootFsck(dev);
  if (fsckWhy !== null || /^ext[234]$/.test(type)) return fsckWhy;
  return trialMount(dev, type, initPaths);
}

/** A read-only mount (no journal replay) and an init inside. */
async function trialMount(dev: string, type: string, initPaths: string[] | null): Promise<string | null> {
  const options = ['ro'];
  if (type === 'xfs') options.push('norecovery', 'nouuid');
  await mkdir(PROBE_DIR, { recursive: true });
  const m = await run('mount', ['-t', type, '-o', options.join(','), dev, PROBE_DIR], { allowFail: true });
  if (m.exitCode !== 0) return `${type} filesystem does not mount: ${mountError(m.stderr, m.exitCode)}`;
  let why: string | null = null;
  try {
    if (initPaths !== null) {
      // lstat, not access: /sbin/init is often an absolute symlink, which would resolve inside the initramfs.
      const found = await Promise.all(initPaths.map((p) => lstat(`${PROBE_DIR}/${p}`).then(() => true, () => false)));
      if (!found.some(Boolean)) why = `no init in the filesystem (${initPaths.map((p) => `/${p}`).join(', ')})`;
    }
  } finally {
    await run('umount', [PROBE_DIR], { allowFail: true });
    await rmdir(PROBE_DIR).catch(() => undefined);
  }
  return why;
}

/**
 * Gives the chosen dm device the /dev/imgbased/root alias: the marker the static rule tests, then a change event
 * (what `udevadm trigger` would write, without starting it). No settle: sysroot.mount waits for that device.
 */
async function publishAlias(kernel: string, layer: string): Promise<void> {
  await atomicWrite(rootMarkerPath(kernel), `${layer}\n`);
  await writeFile(`/sys/class/block/${kernel}/uevent`, 'change');
}

/** util-linux puts the reason on the first line ("mount: DIR: wrong fs type, bad superblock on ...") and a
 *  useless hint ("dmesg(1) may have more information ...") on the last. */
export function mountError(stderr: string, exitCode: number): string {
  const first = stderr.split('\n').map((l) => l.trim()).find((l) => l !== '' && !/^dmesg\(1\)/.test(l));
  if (!first) return `mount exit ${exitCode}`;
  return oneLine(first.replace(/^mount: [^:]*: /, '').replace(/\.$/, ''));
}

function oneLine(s: string): string {
  const lines = s.split('\n').map((l) => l.trim()).filter(Boolean);
  const l = lines[lines.length - 1] ?? s;
  return l.length > 200 ? `${l.slice(0, 200)}…` : l;
}
