// Boot helpers shared by the initrd VM tests (see initrd-fixture.ts for the layers they boot).
import { expect } from 'vitest';
import { boot, expectDone, expectMarker, failure, outFile, type BootResult } from './lab/index.js';
import type { Lab } from './lab/lab.js';
import { dm, PROBE_SCRIPT, SETUP_SCRIPT } from './initrd-fixture.js';

export interface StatusJson {
  imgbased: boolean;
  requested?: string | null;
  booted?: string | null;
  reason?: string;
  fallbacks?: Array<{ layer: string; why: string }>;
  message?: string;
}

/** First boot on a fresh overlay of the project disk: layers made, broken layer broken, strip proof. */
export async function setupLayers(lab: Lab, disk: string, name: string): Promise<BootResult> {
  const r = await boot({
    name, disk, kernel: lab.projectKernel, initrd: lab.projectInitrd, append: lab.hostAppend, timeoutS: 600,
    script: SETUP_SCRIPT,
  });
  expectDone(r);
  expectMarker(r, 'layers', 'host-1.0-1+1 host-1.0-1+2 host-2.0-1+1 host-2.0-1+2');
  expectMarker(r, 'broken-blkid', 'ext4');
  expectMarker(r, 'broken-mounts', 'no');
  return r;
}

/** Boots the project kernel + initramfs with `append` and runs the probe. */
export async function probeBoot(lab: Lab, disk: string, name: string, append: string): Promise<BootResult> {
  const r = await boot({ name, disk, kernel: lab.projectKernel, initrd: lab.projectInitrd, append, timeoutS: 420, script: PROBE_SCRIPT });
  expectDone(r);
  return r;
}

/** / is `layer`: by its dm device and by the name written inside it. */
export function expectRoot(r: BootResult, layer: string): void {
  expectMarker(r, 'root-dm', dm(layer));
  expectMarker(r, 'layer-id', layer);
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
  expect(append).not.toMatch(/(^|\s)(root|rd\.lvm\.lv|rd\.lvm\.vg)=/);
}
