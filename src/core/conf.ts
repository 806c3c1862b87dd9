// The `key=value` files under /etc/imgbased (# comments, blank lines), pure. An unknown key or a bad value is an
// error naming the file and line, so a typo never silently turns a setting off.

export interface ConfValue {
  key: string;
  value: string;
  /** "FILE:LINE", for the error message. */
  where: string;
}

export function confNumber(v: ConfValue, min: number, max: number): number {
  if (!/^\d+$/.test(v.value) || Number(v.value) < min || Number(v.value) > max) throw new Error(`${v.where}: ${v.key} must be a whole number from ${min} to ${max}`);
  return Number(v.value);
}

export function confChoice<T extends string>(v: ConfValue, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(v.value)) throw new Error(`${v.where}: ${v.key} must be ${choices.join(' or ')}`);
  return v.value as T;
}

export function confBool(v: ConfValue): boolean {
  if (/^(1|yes|true|on)$/i.test(v.value)) return true;
  if (/^(0|no|false|off)$/i.test(v.value)) return false;
  throw new Error(`${v.where}: ${v.key} must be yes or no`);
}

/** Calls set[key] for each line; a key without a setter is an error listing the known ones. */
export function parseConf(text: string | null, file: string, set: Record<string, (v: ConfValue) => void>): void {
  (text ?? '').split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') return;
    const m = /^([a-z-]+)\s*=\s*(.*)$/.exec(line);
    const where = `${file}:${i + 1}`;
    if (!m) throw new Error(`${where}: expected key=value, got ${JSON.stringify(raw.trim())}`);
    const setter = set[m[1]!];
    if (!setter) throw new Error(`${where}: unknown setting ${m[1]} (known: ${Object.keys(set).join(', ')})`);
    setter({ key: m[1]!, value: m[2]!, where });
  });
}
