// Decision lines of the initramfs path go to the kernel log, so they reach the console, dmesg and the journal
// (which imports /dev/kmsg) even before journald runs.
import { closeSync, openSync, writeSync } from 'node:fs';

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
