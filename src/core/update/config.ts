// /etc/imgbased/imgbased.conf (core/conf.ts: key=value lines, strict), pure: what update and gc keep, what update
// carries outside /etc (core/update/carry), and what it does with the admin's packages (core/update/packages).
import { confChoice, confNumber, parseConf } from '../conf';
import { parseSize } from '../space';
import { CARRY_POLICIES, DEFAULT_CARRY_LIMIT, type CarryPolicy } from './carry';
import { DEFAULT_KEEP } from './gc';
import { DEFAULT_PACKAGE_POLICY, type PackagePolicy } from './packages';

export const IMGBASED_CONF = '/etc/imgbased/imgbased.conf';

export interface ImgbasedConfig {
  /** Bases GC keeps besides the pinned ones and those of the running, default and last good layers. */
  keepBases: number;
  /** What update does when the new image cannot take one of the admin's packages: stop (nothing changes) or skip it. */
  packages: PackagePolicy;
  /** What update does with the admin's files outside /etc: carry them, go on without (warn), or refuse. */
  carry: CarryPolicy;
  /** Above this many bytes to carry, update refuses. */
  carryLimit: number;
}

export function parseImgbasedConfig(text: string | null, file = IMGBASED_CONF): ImgbasedConfig {
  const c: ImgbasedConfig = { keepBases: DEFAULT_KEEP, packages: DEFAULT_PACKAGE_POLICY, carry: 'yes', carryLimit: DEFAULT_CARRY_LIMIT };
  parseConf(text, file, {
    'keep-bases': (v) => { c.keepBases = confNumber(v, 1, 1000); },
    packages: (v) => { c.packages = confChoice(v, ['stop', 'skip'] as const); },
    carry: (v) => { c.carry = confChoice(v, CARRY_POLICIES); },
    'carry-limit': (v) => {
      const n = parseSize(v.value);
      if (n === null) throw new Error(`${v.where}: carry-limit must be a size (1G, 500M, 0)`);
      c.carryLimit = n;
    },
  });
  return c;
}
