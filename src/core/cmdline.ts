// Kernel command line parsing. Takes the text as a string (only the caller reads /proc/cmdline) so every
// rule is testable. Values are returned raw: deciding whether a value is acceptable is select's job.

export interface CmdlineArg {
  key: string;
  value: string | null;
}

/**
 * The kernel's own rules (lib/cmdline.c next_arg): whitespace separates, double quotes group (and may start
 * mid-word: key="a b"), a quote right after '=' and a matching closing quote are dropped, the first '='
 * splits key from value, a bare word has value null. "--" ends the kernel's arguments (the rest is init's).
 */
export function parseCmdline(text: string): CmdlineArg[] {
  const out: CmdlineArg[] = [];
  const isSpace = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\v' || c === '\f';
  let i = 0;
  while (i < text.length) {
    while (i < text.length && isSpace(text[i])) i++;
    if (i >= text.length) break;
    let start = i;
    let quoted = false;
    if (text[i] === '"') {
      quoted = true;
      start = ++i;
    }
    let inQuote = quoted;
    let equals = -1;
    for (; i < text.length; i++) {
      const c = text[i];
      if (isSpace(c) && !inQuote) break;
      // The kernel keeps "no '=' yet" as equals == 0, so a leading '=' does not count and a later one can.
      if ((equals < 0 || equals === start) && c === '=') equals = i;
      if (c === '"') inQuote = !inQuote;
    }
    let end = i;
    const closedByQuote = end > start && text[end - 1] === '"';
    let key: string;
    let value: string | null = null;
    if (equals <= start) {
      if (quoted && closedByQuote) end--;
      key = text.slice(start, end);
    } else {
      key = text.slice(start, equals);
      let vStart = equals + 1;
      if (text[vStart] === '"') {
        vStart++;
        if (closedByQuote && end > vStart) end--;
      } else if (quoted && closedByQuote) {
        end--;
      }
      value = text.slice(vStart, Math.max(vStart, end));
    }
    if (key === '--' && value === null) break;
    out.push({ key, value });
  }
  return out;
}

export interface ImgbasedArgs {
  /** Any imgbased.* argument given; without one, the initramfs module changes nothing. */
  present: boolean;
  /** Raw imgbased.layer= value ("" for a bare or empty imgbased.layer), null when absent. */
  layer: string | null;
  vg: string | null;
  debug: boolean;
  /** rd.imgbased=0: kill switch, like dracut's rd.lvm=0. */
  disabled: boolean;
}

/** Kernel and systemd treat '-' and '_' in parameter names alike. */
function keyIs(key: string, want: string): boolean {
  return key.replace(/-/g, '_') === want.replace(/-/g, '_');
}

const FALSE_WORDS = new Set(['0', 'no', 'false', 'off', 'n']);

/** imgbased.layer=, imgbased.vg=, imgbased.debug[=0|1], rd.imgbased=0; the last occurrence of each wins. */
export function imgbasedArgs(text: string): ImgbasedArgs {
  const r: ImgbasedArgs = { present: false, layer: null, vg: null, debug: false, disabled: false };
  for (const { key, value } of parseCmdline(text)) {
    if (key.startsWith('imgbased.')) r.present = true;
    if (keyIs(key, 'imgbased.layer')) r.layer = value ?? '';
    else if (keyIs(key, 'imgbased.vg')) r.vg = value ?? '';
    else if (keyIs(key, 'imgbased.debug')) r.debug = value === null || !FALSE_WORDS.has(value.toLowerCase());
    else if (keyIs(key, 'rd.imgbased')) r.disabled = value !== null && FALSE_WORDS.has(value.toLowerCase());
  }
  return r;
}
