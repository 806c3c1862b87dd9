// Whether an update would go back a release (Debian 13 -> 12), pure: from the running system's and the image's
// os-release. dpkg's database, the carried /etc and the admin's packages are of the newer release then, and the
// older one's maintainer scripts and daemons do not read newer formats: `update` refuses it.
import { parseOsRelease } from '../os-release';

/** "13", "12.8", "24.04" -> numbers; null when VERSION_ID is not dotted digits (testing, sid). */
function versionParts(v: string | undefined): number[] | null {
  if (!v || !/^\d+(\.\d+)*$/.test(v)) return null;
  return v.split('.').map(Number);
}

function compareParts(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d) return d;
  }
  return 0;
}

/**
 * The refusal line when the image is the same distribution (ID) at an older major release (VERSION_ID's first
 * number) than the running one; null otherwise (other point release, other distribution, no VERSION_ID).
 */
export function releaseDowngrade(running: string, image: string): string | null {
  const r = parseOsRelease(running);
  const i = parseOsRelease(image);
  const id = r.get('ID');
  if (!id || id !== i.get('ID')) return null;
  const rv = versionParts(r.get('VERSION_ID'));
  const iv = versionParts(i.get('VERSION_ID'));
  if (!rv || !iv || compareParts(iv.slice(0, 1), rv.slice(0, 1)) >= 0) return null;
  return `update: the image is ${id} ${i.get('VERSION_ID')}, older than the running ${id} ${r.get('VERSION_ID')}: an update does not go back a release; nothing changed`;
}
