// qemu-system-x86_64 argv (TCG only: this host has no usable KVM) and running it under an outer timeout.
import { execa } from 'execa';
import { readFileSync } from 'node:fs';

export interface DiskSpec {
  file: string;
  /** qcow2 | raw; default from the file extension (.qcow2 -> qcow2, else raw). */
  format?: 'qcow2' | 'raw';
  readonly?: boolean;
  /** qemu snapshot=on: the guest may write, writes are discarded at exit. */
  snapshot?: boolean;
}

export interface QemuSpec {
  disks: Array<string | DiskSpec>;
  serialLog: string;
  shareDir?: string;
  kernel?: string;
  initrd?: string;
  append?: string;
  smp: number;
  memMiB: number;
  /** Keep running across guest reboots (omit -no-reboot): a reset goes through the firmware again. */
  reboots?: boolean;
  /** uefi: OVMF (Debian's ovmf package) instead of SeaBIOS. */
  firmware?: 'bios' | 'uefi';
}

/** OVMF as Debian's ovmf package installs it: one image with its variable store, read-only to qemu's -bios. */
export const OVMF = '/usr/share/ovmf/OVMF.fd';

/**
 * One virtio disk as a -drive (the backend) and a -device (vda, vdb, ... in this order). The device offers neither
 * WRITE ZEROES nor DISCARD: with them, dm-thin zeroes the rest of each newly provisioned chunk with a WRITE ZEROES
 * request, and twice in one suite run (and once before) a long e2image into a thin LV stalled for good: every guest
 * writer waited for a request tag in blk_mq_get_tag under dm-thin's process_prepared_mapping while qemu sat idle with
 * nothing in flight. Without them dm-thin writes zero pages, an ordinary write. (The likely cause, not a proven one:
 * see "Stalled disks" in the lab README.)
 */
function driveArgs(d: string | DiskSpec, i: number): string[] {
  const spec: DiskSpec = typeof d === 'string' ? { file: d } : d;
  if (/[,]/.test(spec.file)) throw new Error(`lab: disk path must not contain ',': ${spec.file}`);
  const format = spec.format ?? (spec.file.endsWith('.qcow2') ? 'qcow2' : 'raw');
  const parts = [`file=${spec.file}`, 'if=none', `id=disk${i}`, `format=${format}`, 'cache=unsafe'];
  if (spec.readonly) parts.push('readonly=on', 'file.locking=off');
  if (spec.snapshot) parts.push('snapshot=on', 'file.locking=off');
  // event_idx=off: the guest kicks on every request batch qemu has not asked it to hold back, so a lost
  // notification cannot leave requests in the ring (a stall also seen with the two features above off).
  return ['-drive', parts.join(','), '-device', `virtio-blk-pci,drive=disk${i},write-zeroes=off,discard=off,event_idx=off`];
}

export function qemuArgv(spec: QemuSpec): string[] {
  const argv = [
    '-accel', 'tcg',
    '-m', String(spec.memMiB),
    '-smp', String(spec.smp),
    '-nodefaults',
    '-display', 'none',
    '-monitor', 'none',
    '-serial', `file:${spec.serialLog}`,
  ];
  if (!spec.reboots) argv.push('-no-reboot');
  if (spec.firmware === 'uefi') argv.push('-bios', OVMF);
  spec.disks.forEach((d, i) => argv.push(...driveArgs(d, i)));
  if (spec.shareDir) {
    if (/[,]/.test(spec.shareDir)) throw new Error(`lab: share path must not contain ',': ${spec.shareDir}`);
    argv.push('-virtfs', `local,path=${spec.shareDir},mount_tag=lab,security_model=none,id=lab`);
  }
  if (spec.kernel) {
    argv.push('-kernel', spec.kernel);
    if (spec.initrd) argv.push('-initrd', spec.initrd);
    argv.push('-append', spec.append ?? '');
  } else if (spec.initrd || spec.append) {
    throw new Error('lab: initrd/append need a kernel (direct boot)');
  }
  return argv;
}

export interface QemuRun {
  exitCode: number | undefined;
  timedOut: boolean;
  stderr: string;
  durationS: number;
}

/**
 * Run qemu; SIGTERM at the timeout and SIGKILL 5 s later. Never throws for a guest failure. With `cut`, qemu is
 * killed (SIGKILL: a power cut, nothing flushed) as soon as the serial log matches it.
 */
export async function runQemu(argv: string[], timeoutS: number, cut?: { log: string; pattern: RegExp }): Promise<QemuRun & { cut: boolean }> {
  const t0 = Date.now();
  const child = execa('qemu-system-x86_64', argv, {
    reject: false,
    timeout: timeoutS * 1000,
    killSignal: 'SIGTERM',
    forceKillAfterDelay: 5000,
    stdin: 'ignore',
    all: false,
  });
  let wasCut = false;
  const timer = cut
    ? setInterval(() => {
        let text = '';
        try {
          text = readFileSync(cut.log, 'utf8').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
        } catch {
          return;
        }
        if (!wasCut && cut.pattern.test(text)) {
          wasCut = true;
          child.kill('SIGKILL');
        }
      }, 100)
    : null;
  const r = await child.finally(() => timer && clearInterval(timer));
  return {
    exitCode: r.exitCode,
    timedOut: r.timedOut === true,
    stderr: String(r.stderr ?? ''),
    durationS: (Date.now() - t0) / 1000,
    cut: wasCut,
  };
}
