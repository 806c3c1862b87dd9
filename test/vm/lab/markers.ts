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

/**
 * GRUB menu entry titles as drawn on the serial console. GRUB redraws the menu with cursor moves; after stripping
 * escapes, entry lines look like "*Debian GNU/Linux" / " Advanced options..." framed by box characters.
 */
export function grubMenuEntries(log: string): string[] {
  const text = stripEscapes(log);
  const seen: string[] = [];
  for (const line of text.split('\n')) {
    // Box-drawing may be ASCII (+-|) or UTF-8; entries are between '|' / '│' frame chars.
    const m = /^[|│]\s?([* ])(.+?)\s*[|│]?\s*$/.exec(line);
    if (!m) continue;
    const title = m[2]!.trim();
    if (!title || /^[-─+]+$/.test(title)) continue;
    if (!seen.includes(title)) seen.push(title);
  }
  return seen;
}
