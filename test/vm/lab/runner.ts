// boot(): one guest run under QEMU TCG, pass/fail only from "@@LAB" markers on the serial log.
import { execa } from 'execa';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseMarkers, tail } from './markers.js';
import { qemuArgv, runQemu, type DiskSpec } from './qemu.js';
import { outputDir, repoRoot } from './paths.js';

export interface BootOptions {
  /** Main disk (vda), normally an overlay from overlay(). */
  disk: string;
  /** Direct boot (else the disk's own bootloader runs). */
  kernel?: string;
  initrd?: string;
  /** Kernel args for direct boots; console=ttyS0 panic=-1 are always appended. */
  append?: string;
  /** bash script run as root by the lab agent once udev + local filesystems are ready. */
  script?: string;
  /** Extra files put into the share next to script.sh (name -> host path or contents). */
  files?: Record<string, { path: string } | { text: string }>;
  timeoutS: number;
  /** Test-output folder name: logs in <repo>/test-output/<name>/. */
  name: string;
  /** vdb, vdc, ... */
  extraDisks?: Array<string | DiskSpec>;
  smp?: number;
  memMiB?: number;
  /**
   * One qemu run survives guest reboots (no -no-reboot): each reset goes through SeaBIOS and the disk's GRUB
   * again (a direct boot would rerun the same kernel), and the agent runs script.sh at every boot. The run ends when
   * the guest powers off (the script finished) or at timeoutS. Keep state across boots in $LAB_SHARE.
   */
  reboots?: boolean;
  /** Kill qemu (a power cut) as soon as the serial log (escape sequences stripped) matches this. */
  cutAt?: RegExp;
  /** Firmware for a boot through the disk's own boot loader (default bios: SeaBIOS). */
  firmware?: 'bios' | 'uefi';
}

export interface BootResult {
  name: string;
  log: string;
  logFile: string;
  markers: Record<string, string[]>;
  /** Files the script wrote to $LAB_OUT. */
  outDir: string;
  durationS: number;
  timedOut: boolean;
  /** Exit code of the script ("@@LAB done RC"), null if never reported. */
  rc: number | null;
  qemuExitCode: number | undefined;
  qemuStderr: string;
  /** qemu was killed at cutAt. */
  cut?: boolean;
}

export const DEFAULT_SMP = Number.parseInt(process.env.IMGBASED_LAB_SMP ?? '1', 10);
export const DEFAULT_MEM_MIB = 2048;

/** Kernel args every direct boot gets. */
export const BASE_APPEND = 'console=ttyS0,115200 panic=-1';

export async function boot(opts: BootOptions): Promise<BootResult> {
  const dir = outputDir(opts.name);
  rmSync(dir, { recursive: true, force: true });
  const share = path.join(dir, 'share');
  const out = path.join(share, 'out');
  mkdirSync(out, { recursive: true });
  if (opts.script !== undefined) writeFileSync(path.join(share, 'script.sh'), opts.script, { mode: 0o755 });
  for (const [name, src] of Object.entries(opts.files ?? {})) {
    const dst = path.join(share, name);
    mkdirSync(path.dirname(dst), { recursive: true });
    if ('path' in src) copyFileSync(src.path, dst);
    else writeFileSync(dst, src.text);
  }
  const logFile = path.join(dir, 'serial.log');
  writeFileSync(logFile, '');
  const append = opts.kernel ? `${opts.append ?? ''} ${BASE_APPEND}`.trim() : undefined;
  const argv = qemuArgv({
    disks: [opts.disk, ...(opts.extraDisks ?? [])],
    serialLog: logFile,
    shareDir: share,
    kernel: opts.kernel,
    initrd: opts.initrd,
    append,
    smp: opts.smp ?? DEFAULT_SMP,
    memMiB: opts.memMiB ?? DEFAULT_MEM_MIB,
    reboots: opts.reboots,
    firmware: opts.firmware,
  });
  writeFileSync(path.join(dir, 'qemu.argv.json'), JSON.stringify(['qemu-system-x86_64', ...argv], null, 1) + '\n');
  const run = await runQemu(argv, opts.timeoutS, opts.cutAt ? { log: logFile, pattern: opts.cutAt } : undefined);
  const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
  const markers = parseMarkers(log);
  const doneVals = markers.done ?? [];
  const last = doneVals[doneVals.length - 1];
  const rc = last !== undefined && /^-?\d+$/.test(last) ? Number.parseInt(last, 10) : null;
  const result: BootResult = {
    name: opts.name,
    log,
    logFile,
    markers,
    outDir: out,
    durationS: run.durationS,
    timedOut: run.timedOut,
    rc,
    qemuExitCode: run.exitCode,
    qemuStderr: run.stderr,
    cut: run.cut,
  };
  writeFileSync(
    path.join(dir, 'result.json'),
    JSON.stringify({ ...result, log: undefined }, null, 1) + '\n',
  );
  const slow = slowest(path.join(out, 't-seconds'));
  process.stderr.write(`lab ${opts.name}: ${run.durationS.toFixed(0)} s${slow ? `; longest commands: ${slow}` : ''}\n`);
  return result;
}

/** "NAME START END" lines (uptime seconds) a guest script recorded per command: the 6 longest, "name 12s, ...". */
function slowest(file: string): string {
  if (!existsSync(file)) return '';
  const rows = readFileSync(file, 'utf8').split('\n').map((l) => l.split(' ')).filter((f) => f.length === 3)
    .map(([n, a, b]) => [n!, Number(b) - Number(a)] as const).filter(([, d]) => Number.isFinite(d));
  return rows.sort((x, y) => y[1] - x[1]).slice(0, 6).map(([n, d]) => `${n} ${d.toFixed(0)}s`).join(', ');
}

/** A failure message with context: what happened plus the last 40 serial lines. */
export function failure(result: BootResult, what: string): Error {
  const state = result.timedOut
    ? `guest TIMED OUT after ${result.durationS.toFixed(0)}s (killed)`
    : `guest ran ${result.durationS.toFixed(0)}s, script rc=${result.rc ?? 'none'}, qemu exit ${result.qemuExitCode}`;
  const stderr = result.qemuStderr.trim() ? `\nqemu stderr: ${result.qemuStderr.trim().slice(-2000)}` : '';
  return new Error(
    `[lab ${result.name}] ${what}; ${state}. Full log: ${result.logFile}${stderr}\n` +
    `--- where it was, and kernel warnings ---\n${landmarks(result.log)}\n` +
    `--- last 40 serial lines ---\n${tail(result.log, 40)}\n---`,
  );
}

/**
 * The script's last markers and the kernel's own complaints (hung tasks, I/O errors, a full thin pool): a guest
 * that hangs repeats one line until it is killed, so the tail alone rarely says where or why.
 */
function landmarks(log: string): string {
  const lines = log.split('\n');
  const marks = lines.filter((l) => l.startsWith('@@LAB ')).slice(-6);
  const kernel = lines.filter((l) => /blocked for more than|I\/O error|out of data space|No space left|Call Trace|BUG:|Oops/.test(l)).slice(0, 12);
  return [...marks, ...kernel].join('\n');
}

/**
 * The guest kernel itself crashed (an oops, not a panic of ours such as a dead init) before the script ended. Under
 * TCG this happens now and then without any fault of the code under test (an int3 oops while the kernel patches
 * its own code, seen with two vCPUs; a fault in early timer setup).
 */
export function kernelCrashed(r: BootResult): boolean {
  return r.rc === null && !r.timedOut && /Oops: |BUG: unable|general protection fault|Fatal exception/.test(r.log);
}

/** The script finished with "@@LAB done 0" (else throws with the serial tail). Returns the result for chaining. */
export function expectDone(result: BootResult, rc = 0): BootResult {
  if (result.rc !== rc) throw Object.assign(failure(result, `expected "@@LAB done ${rc}"`), { kernelCrashed: kernelCrashed(result) });
  return result;
}

/**
 * Runs a lab build step (fresh disks each time) once more when its guest's kernel crashed (kernelCrashed): a cache
 * entry that one emulator flake would otherwise fail for the whole test run. Any other failure is thrown as it is.
 */
export async function retryKernelCrash<T>(what: string, fn: () => Promise<T>, log: (s: string) => void): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (!(e as { kernelCrashed?: boolean }).kernelCrashed) throw e;
    log(`lab: ${what}: the guest kernel crashed under TCG (${String((e as Error).message).split('\n')[0]}); once more`);
    return fn();
  }
}

/** The last value of marker `key`; throws with the serial tail if absent. */
export function expectMarker(result: BootResult, key: string, expected?: string | RegExp): string {
  const vals = result.markers[key];
  const v = vals?.[vals.length - 1];
  if (v === undefined) throw failure(result, `marker "${key}" missing`);
  if (expected !== undefined) {
    const ok = typeof expected === 'string' ? v === expected : expected.test(v);
    if (!ok) throw failure(result, `marker "${key}" is ${JSON.stringify(v)}, expected ${String(expected)}`);
  }
  return v;
}

/** Read a file the guest wrote to $LAB_OUT. */
export function outFile(result: BootResult, name: string): string {
  const p = path.join(result.outDir, name);
  if (!existsSync(p)) throw failure(result, `guest did not write $LAB_OUT/${name}`);
  return readFileSync(p, 'utf8');
}

/** A fresh qcow2 overlay on `baseDisk` for one test: <repo>/test-output/overlays/<name>.qcow2. */
export async function overlay(baseDisk: string, name: string): Promise<string> {
  const dir = path.join(repoRoot(), 'test-output', 'overlays');
  mkdirSync(dir, { recursive: true });
  if (!/^[A-Za-z0-9._+-]+$/.test(name)) throw new Error(`lab: bad overlay name ${JSON.stringify(name)}`);
  const file = path.join(dir, `${name}.qcow2`);
  rmSync(file, { force: true });
  await execa('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', path.resolve(baseDisk), file]);
  return file;
}
