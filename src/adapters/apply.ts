// Carries out a plan. Steps done so far are undone in reverse order when one fails, so a failed command
// leaves LVM as it found it. IMGBASED_FAULT=<kind> makes the step of that kind fail (tests inject faults).
import { readFile } from 'node:fs/promises';
import { atomicWrite } from './atomic';
import { ImgbasedError } from '../core/errors';
import { describe, rewriteFstabRoot, type Action } from '../core/plan';
import { copyImageSparse, growFs } from './image';
import { log } from './log';
import * as lvm from './lvm';
import { checkFs, newFilesystemUuid, withMounted } from './fs';

export interface ApplyOptions {
  dryRun: boolean;
  /** Called for the boot-sync step; the boot-entries adapter owns it. */
  bootSync?: () => Promise<void>;
  print?: (line: string) => void;
}

type Undo = () => Promise<void>;

async function perform(a: Action, opts: ApplyOptions): Promise<Undo | null> {
  switch (a.kind) {
    case 'vg-tag':
      await lvm.addVgTag(a.vg, a.tag);
      return () => lvm.delVgTag(a.vg, a.tag);
    case 'lv-tag':
      await lvm.addTag(a.vg, a.lv, a.tag);
      return () => lvm.delTag(a.vg, a.lv, a.tag);
    case 'lv-untag':
      await lvm.delTag(a.vg, a.lv, a.tag);
      return () => lvm.addTag(a.vg, a.lv, a.tag);
    case 'snapshot':
      await lvm.createThinSnapshot(a.vg, a.origin, a.name, a.tags);
      return () => removeQuietly(a.vg, a.name);
    case 'thin-lv':
      await lvm.createThinLv(a.vg, a.pool, a.name, a.sizeBytes, a.tags);
      return () => removeQuietly(a.vg, a.name);
    case 'copy-image':
      await copyImageSparse(a.image, lvm.lvPath(a.vg, a.lv), a.fsType);
      return null;
    case 'grow-fs':
      await growFs(lvm.lvPath(a.vg, a.lv));
      return null;
    case 'fsck':
      await checkFs(lvm.lvPath(a.vg, a.lv));
      return null;
    case 'new-fs-uuid':
      await newFilesystemUuid(lvm.lvPath(a.vg, a.lv));
      return null;
    case 'fstab-root':
      await withMounted(lvm.lvPath(a.vg, a.lv), async (dir) => {
        const path = `${dir}/etc/fstab`;
        const text = await readFile(path, 'utf8').catch(() => null);
        if (text === null) return;
        const next = rewriteFstabRoot(text, lvm.lvPath(a.vg, a.lv));
        if (next === text) return;
        await atomicWrite(path, next);
      });
      return null;
    case 'read-only':
      await lvm.setReadOnly(a.vg, a.lv, true);
      return () => lvm.setReadOnly(a.vg, a.lv, false);
    case 'activation-skip':
      await lvm.setActivationSkip(a.vg, a.lv, a.on);
      return () => lvm.setActivationSkip(a.vg, a.lv, !a.on);
    case 'activate':
      await lvm.activateLv(a.vg, a.lv, { ignoreSkip: true });
      return () => lvm.deactivateLv(a.vg, a.lv).catch(() => undefined);
    case 'deactivate':
      await lvm.deactivateLv(a.vg, a.lv);
      return null;
    case 'remove-lv':
      await lvm.removeLv(a.vg, a.lv);
      return null;
    case 'boot-sync':
      if (opts.bootSync) await opts.bootSync();
      return null;
  }
}

async function removeQuietly(vg: string, lv: string): Promise<void> {
  await lvm.deactivateLv(vg, lv).catch(() => undefined);
  await lvm.removeLv(vg, lv);
}

export async function applyPlan(plan: readonly Action[], opts: ApplyOptions): Promise<void> {
  const print = opts.print ?? ((l: string) => process.stdout.write(`${l}\n`));
  if (opts.dryRun) {
    for (const a of plan) print(`would ${describe(a)}`);
    return;
  }
  const fault = process.env.IMGBASED_FAULT;
  const undo: Undo[] = [];
  for (const a of plan) {
    log.debug(describe(a));
    try {
      if (fault && fault === a.kind) throw new ImgbasedError(`injected fault at step "${a.kind}"`);
      const u = await perform(a, opts);
      if (u) undo.push(u);
    } catch (e) {
      log.warn(`failed to ${describe(a)}; undoing ${undo.length} earlier step(s)`);
      for (const u of undo.reverse()) {
        await u().catch((ue: unknown) => log.warn(`undo failed: ${(ue as Error).message}`));
      }
      throw e;
    }
  }
}
