// /etc/imgbased/boot.conf: boot counting and health check settings (core/conf.ts: key=value lines, strict), pure.
import { DEFAULT_TRIES, MAX_TRIES } from './boot-state';
import { confBool, confNumber, parseConf } from './conf';

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

export function parseBootConfig(text: string | null, file = BOOT_CONF): BootConfig {
  const c = { ...DEFAULT_BOOT_CONFIG };
  parseConf(text, file, {
    tries: (v) => { c.tries = confNumber(v, 0, MAX_TRIES); },
    'check-timeout': (v) => { c.checkTimeoutS = confNumber(v, 1, 86400); },
    'reboot-on-failure': (v) => { c.rebootOnFailure = confBool(v); },
    'failed-units': (v) => { c.failedUnits = confBool(v); },
  });
  return c;
}
