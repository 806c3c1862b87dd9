// One guest boot on a fresh overlay of the project disk runs a whole scenario script; the host asserts on what the
// script recorded. Shared by the verb scenarios (imgbase-verbs, plan-repair).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { boot, expectDone, outFile, overlay, type BootResult } from './lab';

/** Shell prelude: `t NAME CMD...` runs CMD and keeps its stdout, stderr and exit code in $LAB_OUT for the host. */
export const RECORD_SH = String.raw`O=$LAB_OUT
# Each command's seconds go to $O/t-seconds: where a chain's time goes (the VM tests print the longest).
t() {
  local n=$1 s rc; shift; s=$(cut -d' ' -f1 /proc/uptime)
  "$@" >"$O/$n.out" 2>"$O/$n.err"; rc=$?; echo $rc >"$O/$n.rc"; mark "rc-$n" "$rc"
  echo "$n $s $(cut -d' ' -f1 /proc/uptime)" >>"$O/t-seconds"
}
`;

/** `grub-editenv FILE list` output as key -> value (values may hold '='). */
export function grubEnv(text: string): Record<string, string> {
  return Object.fromEntries(text.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

/** Readers of what `t NAME ...` recorded in a finished boot. */
export function recorded(get: () => BootResult) {
  const rc = (name: string): number => Number(outFile(get(), `${name}.rc`).trim());
  const out = (name: string): string => outFile(get(), `${name}.out`);
  const err = (name: string): string => outFile(get(), `${name}.err`);
  const json = <T = unknown>(name: string): T => JSON.parse(out(name)) as T;
  return { rc, out, err, json };
}

export interface ScenarioOptions {
  name: string;
  script: string;
  /** Makes the files the guest finds in $LAB_SHARE, in a temp dir removed after the boot. */
  files?: (dir: string) => Record<string, string>;
  timeoutS: number;
}

/** Boots the scenario once (direct kernel boot of the project disk) and returns the result and the overlay path. */
export async function runScenario(o: ScenarioOptions): Promise<{ result: BootResult; disk: string }> {
  const lab = inject('lab');
  const dir = mkdtempSync(path.join(tmpdir(), 'imgbase-img-'));
  try {
    const files = Object.fromEntries(Object.entries(o.files?.(dir) ?? {}).map(([k, p]) => [k, { path: p }]));
    const disk = await overlay(lab.projectDisk, o.name);
    const result = await boot({
      name: o.name, disk, kernel: lab.projectKernel, initrd: lab.projectInitrd, append: lab.hostAppend,
      script: o.script, files, timeoutS: o.timeoutS,
    });
    expectDone(result);
    return { result, disk };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
