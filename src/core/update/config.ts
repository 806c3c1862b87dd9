// /etc/imgbased/imgbased.conf (core/conf.ts: key=value lines, strict), pure: what update and gc keep, and what
// update carries outside /etc (core/update/carry).
import { confNumber, parseConf } from '../conf';
import { parseSize } from '../space';
import { CARRY_POLICIES, DEFAULT_CARRY_LIMIT, type CarryPolicy } from './carry';
import { DEFAULT_KEEP } from './gc';

export const IMGBASED_CONF = '/etc/imgbased/imgbased.conf';

export interface ImgbasedConfig {
  /** Bases GC keeps besides the pinned ones and those of the running, default and last good layers. */
  keepBases: number;
  /** What update does with the admin's files outside /etc: carry them, go on without (warn), or refuse. */
  carry: CarryPolicy;
  /** Above this many bytes to carry, update refuses. */
  carryLimit: number;
}

export function parseImgbasedConfig(text: string | null, file = IMGBASED_CONF): ImgbasedConfig {
  const c: ImgbasedConfig = { keepBases: DEFAULT_KEEP, carry: 'yes', carryLimit: DEFAULT_CARRY_LIMIT };
  parseConf(text, file, {
    'keep-bases': (v) => { c.keepBases = confNumber(v, 1, 1000); },
    carry: (v) => {
      if (!(CARRY_POLICIES as readonly string[]).includes(v.value)) throw new Error(`${v.where}: carry must be one of ${CARRY_POLICIES.join(', ')}`);
      c.carry = v.value as CarryPolicy;
    },
    'carry-limit': (v) => {
      const n = parseSize(v.value);
      if (n === null) throw new Error(`${v.where}: carry-limit must be a size (1G, 500M, 0)`);
      c.carryLimit = n;
    },
  });
  return c;
}
