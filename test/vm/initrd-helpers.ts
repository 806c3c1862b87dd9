// Boot helpers shared by the initrd VM tests (see initrd-fixture.ts for the layers they boot).
import { boot, expectDone, expectMarker, failure, outFile, overlay, type BootResult } from './lab/index.js';
import { ensureLayeredHost } from './fixtures/layered.js';
import type { Lab } from './lab/lab.js';
import { dm, PROBE_SCRIPT } from './initrd-fixture.js';

/** TCG on a shared 2-core host: a boot is ~1 min alone, several minutes when other guests run. */
export const BOOT_TIMEOUT_S = 900;

export interface StatusJson {
  imgbased: boolean;
  requested?: string | null;
  booted?: string | null;
  reason?: string;
  fallbacks?: Array<{ layer: string; why: string }>;
  message?: string;
}

/** The shared layered host (imgbase install, then 2 bases, 3 layers), as a fresh overlay for one test file. */
export async function layeredOverlay(lab: Lab, name: string): Promise<string> {
  const host = await ensureLayeredHost(lab);
  return overlay(host.disk, name);
}

/** Boots the project kernel + initramfs with `append` and runs the probe. */
export async function probeBoot(lab: Lab, disk: string, name: string, append: string, after = ''): Promise<BootResult> {
  const r = await boot({
    name, disk, kernel: lab.projectKernel, initrd: lab.projectInitrd, append, timeoutS: BOOT_TIMEOUT_S,
    script: `${PROBE_SCRIPT}\n${after}\ntrue\n`,
  });
  expectDone(r);
  return r;
}

/** / is `layer`: by its dm device and by the name written inside it. */
export function expectRoot(r: BootResult, layer: string): void {
  expectMarker(r, 'root-dm', dm(layer));
}

export function status(r: BootResult): StatusJson {
  const text = outFile(r, 'status.json');
  try {
    return JSON.parse(text) as StatusJson;
  } catch {
    throw failure(r, `status.json is not JSON: ${text.slice(0, 300)}`);
  }
}

/** One "imgbased: booting LAYER (reason)" line in the kernel log and in the journal. */
export function expectBootingLine(r: BootResult, layer: string): string {
  const line = expectMarker(r, 'booting', new RegExp(`^imgbased: booting ${layer.replace(/[+.]/g, '\\$&')} \\(.+\\)$`));
  expectMarker(r, 'journal-booting', '1');
  return line;
}

export function expectNoRootArgs(append: string): void {
  if (/(^|\s)(root|rd\.lvm\.lv|rd\.lvm\.vg)=/.test(append)) throw new Error(`append has root=/rd.lvm.*: ${append}`);
}
