// /etc/imgbased/boot.conf: boot counting and health check settings, `key=value` lines (# comments). Pure parse;
// an unknown key or a bad value is an error that names the line, so a typo never silently turns a safety off.
import { DEFAULT_TRIES, MAX_TRIES } from './boot-state';

export const BOOT_CONF = '/etc/imgbased/boot.conf';

export interface BootConfig {
  /** Tries a new default layer is armed with by layer --add (0: boot counting off for new layers). */
  tries: number;
  /** Seconds one health check may run before it is killed (and counts as failed). */
  checkTimeoutS: number;
  /** After a required check fails on the layer being tried: reboot into the previous good layer. */
  rebootOnFailure: boolean;
  /** A systemd unit that failed by the end of the boot counts as a failed required check. */
  failedUnits: boolean;
}

export const DEFAULT_BOOT_CONFIG: BootConfig = { tries: DEFAULT_TRIES, checkTimeoutS: 60, rebootOnFailure: true, failedUnits: false };

function bool(v: string): boolean | null {
  if (/^(1|yes|true|on)$/i.test(v)) return true;
  if (/^(0|no|false|off)$/i.test(v)) return false;
  return null;
}

export function parseBootConfig(text: string | null, file = BOOT_CONF): BootConfig {
  const c = { ...DEFAULT_BOOT_CONFIG };
  (text ?? '').split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') return;
    const m = /^([a-z-]+)\s*=\s*(.*)$/.exec(line);
    const where = `${file}:${i + 1}`;
    if (!m) throw new Error(`${where}: expected key=value, got ${JSON.stringify(raw.trim())}`);
    const [, key, v] = m as unknown as [string, string, string];
    const num = (min: number, max: number): number => {
      if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new Error(`${where}: ${key} must be a whole number from ${min} to ${max}`);
      return Number(v);
    };
    const yes = (): boolean => {
      const b = bool(v);
      if (b === null) throw new Error(`${where}: ${key} must be yes or no`);
      return b;
    };
    switch (key) {
      case 'tries': c.tries = num(0, MAX_TRIES); break;
      case 'check-timeout': c.checkTimeoutS = num(1, 86400); break;
      case 'reboot-on-failure': c.rebootOnFailure = yes(); break;
      case 'failed-units': c.failedUnits = yes(); break;
      default: throw new Error(`${where}: unknown setting ${key} (known: tries, check-timeout, reboot-on-failure, failed-units)`);
    }
  });
  return c;
}
