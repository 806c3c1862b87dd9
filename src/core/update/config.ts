// /etc/imgbased/imgbased.conf (core/conf.ts: key=value lines, strict), pure: what update and gc keep.
import { confChoice, confNumber, parseConf } from '../conf';
import { DEFAULT_KEEP } from './gc';
import { DEFAULT_PACKAGE_POLICY, type PackagePolicy } from './packages';

export const IMGBASED_CONF = '/etc/imgbased/imgbased.conf';

export interface ImgbasedConfig {
  /** Bases GC keeps besides the pinned ones and those of the running, default and last good layers. */
  keepBases: number;
  /** What update does when the new image cannot take one of the admin's packages: stop (nothing changes) or skip it. */
  packages: PackagePolicy;
}

export function parseImgbasedConfig(text: string | null, file = IMGBASED_CONF): ImgbasedConfig {
  const c: ImgbasedConfig = { keepBases: DEFAULT_KEEP, packages: DEFAULT_PACKAGE_POLICY };
  parseConf(text, file, {
    'keep-bases': (v) => { c.keepBases = confNumber(v, 1, 1000); },
    packages: (v) => { c.packages = confChoice(v, ['stop', 'skip'] as const); },
  });
  return c;
}
