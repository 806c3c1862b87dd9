// The two effects of the initramfs path that are not lvm/udev commands: decision lines to the kernel log (so they
// reach the console, dmesg and the journal, which imports /dev/kmsg), and atomic files in /run.
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

/** syslog facility "user" (1) so journald files the record under identifier "imgbased", not "kernel". */
const FACILITY_USER = 8;
const LEVEL = { error: 3, warn: 4, notice: 5 } as const;

function emit(level: number, line: string): void {
  const text = line.replace(/[\x00-\x1f\x7f]/g, ' ');
  try {
    const fd = openSync('/dev/kmsg', 'w');
    try {
      writeSync(fd, `<${FACILITY_USER + level}>${text}\n`);
    } finally {
      closeSync(fd);
    }
  } catch {
    process.stderr.write(`${text}\n`);
  }
}

/** Decision lines: "imgbased: booting X (reason)", "imgbased: X unusable: WHY; falling back to Y". */
export const console = {
  notice: (line: string): void => emit(LEVEL.notice, line),
  warn: (line: string): void => emit(LEVEL.warn, line),
  error: (line: string): void => emit(LEVEL.error, line),
};

/** Write via a temp file in the same directory, fsync, rename: readers see the old or the new file, never half. */
export async function writeFileAtomic(path: string, content: string, mode = 0o644): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  const fh = await open(tmp, 'w', mode);
  try {
    await fh.writeFile(content);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  try {
    const d = openSync(dir, 'r');
    try {
      fsyncSync(d);
    } finally {
      closeSync(d);
    }
  } catch {
    /* directory fsync is best effort (tmpfs) */
  }
}
