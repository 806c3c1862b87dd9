// Carries out a plan: the steps in plan order, one small function per step kind. When a step fails, the steps done
// since the last one that cannot be undone (an LV or kernel copy removed) are undone in reverse order; earlier ones
// stand, and the next write (or `imgbase check --repair`) finishes what they started.
// The crash-safety tests inject a failure or a power cut at a step through adapters/fault.
import { lstat, mkdir, readFile, rm, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ImgbasedError } from '../core/errors';
import { EXIT_POST_HOOK } from '../core/hooks';
import { UPDATE_REPORT } from '../core/update/report';
import { describeStep, rewriteFstabRoot, undoClass, type Step } from '../core/steps';
import { withFstabLine } from '../core/data';
import { withMountLines } from '../core/fstab';
import { atomicWrite, fsyncPath } from './atomic';
import { findCommand, run } from './exec';
import { checkFs, copyDirInto, copyIn, makeFs, newFilesystemUuid, pathExists, withMounted, withRootReadOnly } from './fs';
import { copyImageSparse, growFs } from './image';
import { runHook } from './hooks';
import { applyEtc, writeAccountFiles } from './etc-tree';
import { inTreeForWrite, realDirIn } from './confine';
import { powerCut, takeFault, type Fault } from './fault';
import { buildInitrd } from './initrd';
import { installDebs } from './packages';
import { diskStep } from './disk';
import { copyKernel } from './kernel';
import { log } from './log';
import * as lvm from './lvm';

export type Undo = () => Promise<void>;

export interface ApplyOptions {
  /** grub-script-check for the menu file; null: none (unit tests). Default: the GRUB's own, found on PATH (required). */
  grubScriptCheck?: string | null;
  editenv?: string;
  mkconfig?: string;
  /** Lines about what changed on /boot (the verb's stdout stays its own answer). */
  note?: (line: string) => void;
  /** A dry run's pre- hooks: never a fault. */
  dryRun?: boolean;
  /** The fault to inject (unit tests); default: the flag file's, when root left one (adapters/fault). */
  fault?: Fault | null;
  /** Replaces the step functions (unit tests record what runs, in which order). */
  perform?: (s: Step) => Promise<Undo | null>;
}

async function removeQuietly(vg: string, lv: string): Promise<void> {
  await lvm.deactivateLv(vg, lv).catch(() => undefined);
  await lvm.removeLv(vg, lv);
}

async function removeFile(path: string): Promise<void> {
  await unlink(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
  });
  await fsyncPath(dirname(path));
}

async function restoreFile(path: string, previous: string | null): Promise<void> {
  if (previous === null) await removeFile(path);
  else await atomicWrite(path, previous);
}

function grubTool(file: string, tool: 'editenv' | 'mkconfig' | 'script-check'): string {
  return `${basename(dirname(file)) === 'grub2' ? 'grub2' : 'grub'}-${tool}`;
}

async function editenv(file: string, args: string[], opts: ApplyOptions): Promise<void> {
  await run(opts.editenv ?? grubTool(file, 'editenv'), [file, ...args]);
}

async function writeMenu(file: string, content: string, opts: ApplyOptions): Promise<void> {
  const tool = grubTool(file, 'script-check');
  const checker = opts.grubScriptCheck !== undefined ? opts.grubScriptCheck : await findCommand(tool);
  // The menu is only ever written once GRUB's own checker accepted it: without the checker, not at all.
  if (checker === undefined || (checker === null && opts.grubScriptCheck === undefined)) {
    throw new ImgbasedError(`${tool} not found: the GRUB menu ${file} is written only after it passed; ${file} left as it was`, { hint: 'install GRUB\'s tools (grub-common)' });
  }
  await atomicWrite(file, content, 0o644, checker === null ? undefined : async (tmp) => {
    const r = await run(checker, [tmp], { allowFail: true });
    if (r.exitCode !== 0) {
      const why = `${r.stderr}\n${r.stdout}`.split('\n').map((l) => l.trim()).filter(Boolean)[0] ?? `exit ${r.exitCode}`;
      throw new ImgbasedError(`the new GRUB menu failed ${basename(checker)} (${why}); ${file} left as it was`);
    }
  });
}

/** Everything written to /boot reaches the disk; on XFS the log is also written back (GRUB never replays it). */
async function settleBoot(dir: string, xfs: boolean): Promise<void> {
  await run('sync', ['-f', dir]);
  if (xfs) {
    await run('xfs_freeze', ['-f', dir]);
    await run('xfs_freeze', ['-u', dir]);
  }
}

async function perform(s: Step, opts: ApplyOptions): Promise<Undo | null> {
  switch (s.kind) {
    case 'vg-tag':
      await lvm.addVgTag(s.vg, s.tag, s.drop);
      return () => lvm.delVgTag(s.vg, s.tag);
    case 'lv-tag':
      await lvm.addTag(s.vg, s.lv, s.tag);
      return () => lvm.delTag(s.vg, s.lv, s.tag);
    case 'lv-untag':
      await lvm.delTag(s.vg, s.lv, s.tag);
      return () => lvm.addTag(s.vg, s.lv, s.tag);
    case 'snapshot':
      await lvm.createThinSnapshot(s.vg, s.origin, s.name, s.tags);
      return () => removeQuietly(s.vg, s.name);
    case 'thin-lv':
      await lvm.createThinLv(s.vg, s.pool, s.name, s.sizeBytes, s.tags, s.autoActivate === true);
      return () => removeQuietly(s.vg, s.name);
    case 'activate':
      await lvm.activateLv(s.vg, s.lv, { ignoreSkip: true });
      return () => lvm.deactivateLv(s.vg, s.lv).catch(() => undefined);
    case 'deactivate':
      await lvm.deactivateLv(s.vg, s.lv);
      return null;
    case 'read-only':
      await lvm.setReadOnly(s.vg, s.lv, true);
      return () => lvm.setReadOnly(s.vg, s.lv, false);
    case 'remove-lv':
      await removeQuietly(s.vg, s.lv);
      return null;
    case 'copy-image':
      await copyImageSparse(s.image, lvm.lvPath(s.vg, s.lv), s.fsType);
      return null;
    case 'grow-fs':
      await growFs(lvm.lvPath(s.vg, s.lv));
      return null;
    case 'new-fs-uuid':
      await newFilesystemUuid(lvm.lvPath(s.vg, s.lv));
      return null;
    case 'fstab-root':
      await withMounted(lvm.lvPath(s.vg, s.lv), async (dir) => {
        // A tree without /etc is no system to boot (a data-only image): nothing to point.
        if (!(await lstatOrNull(`${dir}/etc`))) return;
        const path = await fstabIn(dir);
        const text = await readFile(path, 'utf8').catch(() => null);
        const next = withMountLines(rewriteFstabRoot(text ?? '', lvm.lvPath(s.vg, s.lv)), s.mounts);
        if (next !== (text ?? '')) await atomicWrite(path, next);
      });
      return null;
    case 'fstab-line':
      await withMounted(lvm.lvPath(s.vg, s.lv), async (dir) => {
        const path = await fstabIn(dir);
        await atomicWrite(path, withFstabLine((await readFile(path, 'utf8').catch(() => null)) ?? '', s.line));
      });
      return null;
    case 'carry-etc':
      await withMounted(lvm.lvPath(s.vg, s.lv), async (dir) => {
        for (const n of await applyEtc(s.actions, s.from, await etcIn(dir))) opts.note?.(`/etc/${n.path}: ${n.note}`);
        await atomicWrite(await inTreeForWrite(dir, UPDATE_REPORT), s.report);
      });
      return null;
    case 'carry-files': {
      // Read from a read-only bind of the running tree, as it was listed: what is mounted on it stays out of a copy.
      const from = (fn: (src: string) => Promise<void>): Promise<void> => (s.from === '/' ? withRootReadOnly(fn) : fn(s.from));
      await withMounted(lvm.lvPath(s.vg, s.lv), (dir) => from(async (src) => {
        for (const n of await applyEtc(s.actions, src, dir)) opts.note?.(`/${n.path}: ${n.note}`);
      }));
      return null;
    }
    case 'write-accounts':
      await withMounted(lvm.lvPath(s.vg, s.lv), async (dir) => writeAccountFiles(await etcIn(dir), s.files));
      return null;
    case 'build-initrd':
      await buildInitrd(s);
      return null;
    case 'install-debs':
      await installDebs(s, opts.note);
      return null;
    case 'mkfs':
      await makeFs(lvm.lvPath(s.vg, s.lv), s.fsType);
      return null;
    case 'copy-dir':
      await copyDirInto(s.from, lvm.lvPath(s.vg, s.lv));
      return null;
    case 'fstab-add':
      await atomicWrite(s.file, withFstabLine(s.previous ?? '', s.line));
      return () => restoreFile(s.file, s.previous);
    case 'mount':
      await mkdir(s.path, { recursive: true });
      await run('mount', [lvm.lvPath(s.vg, s.lv), s.path]);
      return async () => {
        await run('umount', [s.path]);
      };
    case 'remove-temp':
      await rm(s.path, { recursive: true, force: true });
      return null;
    case 'copy-kernel':
      return copyKernel(s);
    case 'write-entry':
      await atomicWrite(s.file, s.content);
      opts.note?.(`boot: ${s.previous === null ? 'created' : 'updated'} ${basename(s.file)}`);
      return () => restoreFile(s.file, s.previous);
    case 'remove-entry':
      await removeFile(s.file);
      opts.note?.(`boot: removed ${basename(s.file)}`);
      return () => atomicWrite(s.file, s.previous);
    case 'write-menu':
      await writeMenu(s.file, s.content, opts);
      opts.note?.(`boot: wrote ${s.file}`);
      return () => restoreFile(s.file, s.previous);
    case 'grub-mkconfig':
      await run(opts.mkconfig ?? grubTool(s.output, 'mkconfig'), ['-o', s.output]);
      opts.note?.(`boot: regenerated ${s.output}`);
      return null;
    case 'grubenv-set':
      await editenv(s.file, ['set', `${s.key}=${s.value}`], opts);
      return () => editenv(s.file, s.previous === null ? ['unset', s.key] : ['set', `${s.key}=${s.previous}`], opts);
    case 'grubenv-unset':
      await editenv(s.file, ['unset', s.key], opts);
      return () => editenv(s.file, ['set', `${s.key}=${s.previous}`], opts);
    case 'remove-kernel-files':
      if (s.files === 'all') await rm(s.dir, { recursive: true, force: true });
      else for (const f of s.files) await rm(join(s.dir, f), { force: true });
      await fsyncPath(s.files === 'all' ? dirname(s.dir) : s.dir);
      opts.note?.(`boot: removed ${s.files === 'all' ? `kernel copies ${s.dir}` : `${s.files.join(', ')} from ${s.dir}`}`);
      return null;
    case 'settle-boot':
      await settleBoot(s.dir, s.xfs);
      return null;
    case 'hook':
      await runHookStep(s);
      return null;
    case 'wipe-disk': case 'partition': case 'mkfs-dev': case 'pv-create': case 'vg-create': case 'pool-create': case 'grub-install':
      await diskStep(s);
      return null;
    case 'fstab-write':
      await withMounted(lvm.lvPath(s.vg, s.lv), async (dir) => atomicWrite(await fstabIn(dir), s.content));
      return null;
    case 'copy-in':
      await withMounted(lvm.lvPath(s.vg, s.lv), (dir) => copyIn(dir, s.files));
      return null;
    case 'mount-dev':
      await mkdir(s.path, { recursive: true });
      await run('mount', [s.dev, s.path]);
      return async () => {
        await run('umount', [s.path]);
      };
    case 'umount':
      await run('umount', [s.path]);
      return null;
  }
}

/** The new layer's /etc: a real directory of its own (an image whose /etc is a symlink is refused). */
function etcIn(dir: string): Promise<string> {
  return realDirIn(dir, 'etc', 'the new layer');
}

/** Its /etc/fstab, to be replaced (a symlink there is replaced, not written through). */
async function fstabIn(dir: string): Promise<string> {
  return inTreeForWrite(await etcIn(dir), 'fstab');
}

async function lstatOrNull(p: string): Promise<unknown> {
  return lstat(p).catch(() => null);
}

type HookStep = Extract<Step, { kind: 'hook' }>;

/** A hook, with the new layer mounted read-write as IMGBASED_NEW_ROOT when the step says so. */
async function runHookStep(s: HookStep): Promise<void> {
  const run1 = (newRoot: string): Promise<void> =>
    runHook({ name: s.name, path: s.path, timeoutS: s.timeoutS, env: { ...s.env, IMGBASED_NEW_ROOT: newRoot } });
  if (!s.newRoot) return run1('');
  const { vg, lv } = s.newRoot;
  await lvm.activateLv(vg, lv, { ignoreSkip: true });
  try {
    await withMounted(lvm.lvPath(vg, lv), run1);
  } finally {
    await lvm.deactivateLv(vg, lv).catch(() => undefined);
  }
}

export class PartialApplyError extends ImgbasedError {}

/** The work is done, but a post- hook failed (its own exit status, documented in README). */
export class PostHookError extends ImgbasedError {
  override exitCode: number = EXIT_POST_HOOK;
}

export async function applyPlan(steps: readonly Step[], opts: ApplyOptions = {}): Promise<void> {
  const fault = opts.dryRun ? null : opts.fault !== undefined ? opts.fault : await takeFault();
  let undo: Undo[] = [];
  let forward = 0;
  const step = opts.perform ?? ((x: Step) => perform(x, opts));
  const postFailures: string[] = [];
  for (const [i, s] of steps.entries()) {
    const n = i + 1;
    log.debug(`step ${n}: ${describeStep(s)}`);
    if (s.kind === 'hook' && s.phase === 'post') {
      // The work is done: a failing post- hook is reported, the other hooks still run, nothing is undone.
      await step(s).catch((e: unknown) => {
        log.warn((e as Error).message);
        postFailures.push(s.path);
      });
      continue;
    }
    try {
      if (fault?.at === 'fail' && (fault.step === n || (fault.step === null && fault.kind === s.kind))) {
        throw new ImgbasedError(`injected fault at step ${n} (${s.kind})`);
      }
      const u = await step(s);
      if (undoClass(s) === 'forward') {
        // Nothing before an irreversible step can be undone meaningfully: repair finishes from here.
        forward = n;
        undo = [];
      } else if (u) undo.push(u);
    } catch (e) {
      if (forward > 0) {
        log.warn(`failed to ${describeStep(s)}; steps up to ${forward} cannot be undone, undoing ${undo.length} later step(s)`);
      } else if (undo.length > 0) {
        log.warn(`failed to ${describeStep(s)}; undoing ${undo.length} earlier step(s)`);
      }
      for (const u of undo.reverse()) {
        await u().catch((ue: unknown) => log.warn(`undo failed: ${(ue as Error).message}`));
      }
      if (forward > 0) {
        throw new PartialApplyError(`${(e as Error).message}`, { hint: "run 'imgbase check --repair' to finish what was started" });
      }
      throw e;
    }
    if (fault?.at === 'powercut' && fault.step === n) await powerCut(n);
  }
  if (postFailures.length > 0) {
    throw new PostHookError(`the command's work is done, but ${postFailures.length} post- hook(s) failed: ${postFailures.join(', ')}`);
  }
}
