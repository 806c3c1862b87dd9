// /etc/imgbased/imgbased.conf (core/conf.ts: key=value lines, strict), pure: what update and gc keep.
import { confNumber, parseConf } from '../conf';
import { DEFAULT_KEEP } from './gc';

export const IMGBASED_CONF = '/etc/imgbased/imgbased.conf';

export interface ImgbasedConfig {
  /** Bases GC keeps besides the pinned ones and those of the running, default and last good layers. */
  keepBases: number;
}

export function parseImgbasedConfig(text: string | null, file = IMGBASED_CONF): ImgbasedConfig {
  const c: ImgbasedConfig = { keepBases: DEFAULT_KEEP };
  parseConf(text, file, { 'keep-bases': (v) => { c.keepBases = confNumber(v, 1, 1000); } });
  return c;
}
