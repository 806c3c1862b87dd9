// Reading the serial log: "@@LAB KEY VALUE" markers, terminal-escape stripping, tails for failure messages.

const MARKER = /@@LAB ([A-Za-z0-9_.:+-]+)(?: (.*))?$/;

/** Remove ANSI/VT100 escape sequences (CSI, OSC, charset selects, single ESC codes) and carriage returns. */
export function stripEscapes(text: string): string {
  return text
    .replace(/\x1b\[[0-?]*[ -/]*[@-~]/g, '') // CSI ... final
    .replace(/\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)/g, '') // OSC
    .replace(/\x1b[()][A-Za-z0-9]/g, '') // charset select
    .replace(/\x1b[@-Z\\-_=>78]/g, '') // other 2-char escapes
    .replace(/\r/g, '')
    .replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g, '');
}

/** All markers in the log, values in order of appearance. */
export function parseMarkers(log: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const raw of stripEscapes(log).split('\n')) {
    const m = MARKER.exec(raw.trimEnd());
    if (!m) continue;
    const key = m[1]!;
    (out[key] ??= []).push((m[2] ?? '').trim());
  }
  return out;
}

/** Last `n` lines of the log, escapes stripped. */
export function tail(log: string, n = 40): string {
  const lines = stripEscapes(log).split('\n');
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  return lines.slice(-n).join('\n');
}

export interface GrubEntry {
  title: string;
  /** Drawn highlighted ("*" in the first column): the entry GRUB will boot. */
  selected: boolean;
}

/**
 * GRUB menu entries as drawn on the serial console, in screen order, from the last menu drawn. GRUB positions each
 * entry row with a cursor move to column 3 (ESC[row;3H) inside its box, the selected one starting with '*'.
 * Use this instead of matching raw text: the screen is escape sequences without newlines.
 */
export function grubMenu(log: string): GrubEntry[] {
  // The last menu drawn: GRUB clears the screen (ESC[H ESC[J) before each full redraw.
  const draws = log.split('GNU GRUB');
  const last = draws.length > 1 ? draws[draws.length - 1]! : '';
  const rows = new Map<number, GrubEntry>();
  for (const m of last.matchAll(/\x1b\[(\d+);3H([^\x1b\r\n]*)/g)) {
    const row = Number(m[1]);
    const text = m[2]!;
    const title = text.slice(1).trim();
    if (!title || /^[-+|]+$/.test(title)) {
      rows.delete(row);
      continue;
    }
    rows.set(row, { title, selected: text.startsWith('*') });
  }
  return [...rows.entries()].sort((a, b) => a[0] - b[0]).map(([, e]) => e);
}

/** Titles of grubMenu(log). */
export function grubMenuEntries(log: string): string[] {
  return grubMenu(log).map((e) => e.title);
}
