// fsck(8) exit codes are a bit mask; a layer is bootable when only "errors corrected" (1) is set. Pure.

const BITS: Array<[number, string]> = [
  [1, 'errors corrected'],
  [2, 'system should be rebooted'],
  [4, 'errors left uncorrected'],
  [8, 'operational error'],
  [16, 'usage or syntax error'],
  [32, 'canceled by user request'],
  [128, 'shared-library error'],
];

/** "errors left uncorrected" for 4, "errors corrected, system should be rebooted" for 3. */
export function fsckExitMeaning(code: number): string {
  if (code === 0) return 'no errors';
  const parts = BITS.filter(([bit]) => (code & bit) !== 0).map(([, what]) => what);
  return parts.length > 0 ? parts.join(', ') : `exit ${code}`;
}

/** The exit status of fsck itself, as systemd-fsck reports it ("fsck failed with exit status 4."), if it does. */
export function fsckStatusFromLog(text: string): number | null {
  const m = /fsck failed with exit status (\d+)/.exec(text);
  return m ? Number(m[1]) : null;
}
