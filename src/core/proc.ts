// /proc/<pid>/stat, read for when a process was started. Pure.

/** USER_HZ: the unit of /proc's tick counts (100 on every architecture Debian ships). */
export const USER_HZ = 100;

/**
 * Seconds after boot the process was started (field 22, "starttime"), or null. The command name (field 2) is in
 * parentheses and may itself hold spaces or ")", so fields are counted from the last ")".
 */
export function processStartS(stat: string, hz = USER_HZ): number | null {
  const close = stat.lastIndexOf(')');
  if (close < 0) return null;
  const fields = stat.slice(close + 2).trim().split(' ');
  const ticks = Number(fields[19]);
  return Number.isFinite(ticks) && fields[19] !== '' ? ticks / hz : null;
}
