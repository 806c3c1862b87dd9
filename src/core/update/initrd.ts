// When a new image's initramfs cannot pick layers (it lacks imgbased's dracut module, or there is none), update
// builds one with the new layer's own dracut in a chroot. Pure: what marks our module inside an initramfs, what of
// imgbased the layer needs for that build, and where the kernel copy then reads the initramfs from.
import type { KernelSource } from '../steps';
import { initrdNamesFor } from '../boot-plan';

/** A file only our dracut module puts into an initramfs. */
export const INITRD_MARK = 'imgbased-select.service';

/**
 * lsinitrd's argument that extracts INITRD_MARK from any directory (cpio matches it as a glob): one pass over the
 * archive, where lsinitrd's full listing decompresses it five times (a minute under TCG for Debian 13's initramfs).
 */
export const INITRD_MARK_GLOB = `*/${INITRD_MARK}`;

/** What dracut needs of imgbased to build our module in: copied from this host into the layer when it lacks them. */
export const MODULE_FILES = [
  '/usr/sbin/imgbase',
  '/usr/lib/dracut/modules.d/90imgbased',
  '/usr/lib/dracut/dracut.conf.d/90-imgbased.conf',
] as const;

/** Where dracut in the layer may live (the image must hold one of them to build). */
export const DRACUT_PATHS = ['usr/bin/dracut', 'usr/sbin/dracut'] as const;

/** Budget on /boot for an initramfs not built yet: the image's own when it has one, else this. */
export const INITRD_ESTIMATE_BYTES = 64 * 1024 * 1024;

/** `lsinitrd -f INITRD_MARK_GLOB` printed our module's unit (it prints nothing when the archive has no such file). */
export function extractHasModule(extracted: string): boolean {
  return extracted.trim() !== '';
}

export interface InitrdBuild {
  /** Where dracut writes it, relative to the layer's root. */
  out: string;
  /** Host paths copied into the layer first (MODULE_FILES it lacks). */
  install: string[];
}

/** The build's output path in the layer's tree (the image's own initramfs there is replaced; its base keeps it). */
export function initrdBuild(version: string, missing: readonly string[]): InitrdBuild {
  return { out: `boot/${initrdNamesFor(version)[0]!}`, install: [...missing] };
}

/**
 * The new base's kernel copy, read from the layer once the build has run there: the kernel as before, the built
 * initramfs. Its size is not known before the build: the image's own stands for it, or INITRD_ESTIMATE_BYTES.
 */
export function builtSource(image: KernelSource, layer: string, build: InitrdBuild): KernelSource {
  return { ...image, lv: layer, initrd: { in: 'lv', path: build.out }, bytes: image.bytes + (image.initrd ? 0 : INITRD_ESTIMATE_BYTES) };
}
