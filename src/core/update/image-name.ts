// The name of the base an image becomes (`imgbase update` without --name), pure: from the image's os-release,
// IMAGE_ID and IMAGE_VERSION (os-release(5)'s fields for image-based systems) else ID and VERSION_ID. A version
// with a '-' gives version and release ("2.1-3"); without one the release is 0.
import { parseOsRelease } from '../os-release';
import { validateBaseName } from '../naming';

export function baseNameFromOsRelease(text: string): { name: string } | { error: string } {
  const vars = parseOsRelease(text);
  const id = vars.get('IMAGE_ID') || vars.get('ID');
  const version = vars.get('IMAGE_VERSION') || vars.get('VERSION_ID');
  if (!id || !version) return { error: "the image's os-release names no IMAGE_ID/ID and IMAGE_VERSION/VERSION_ID; give --name NAME-VERSION-RELEASE" };
  // LV names allow A-Z a-z 0-9 . _ - (and no '-' inside the name part would be read as the version's).
  const name = id.replace(/[^A-Za-z0-9._]/g, '_');
  const v = version.replace(/[^A-Za-z0-9._-]/g, '_');
  const nvr = v.includes('-') ? `${name}-${v}` : `${name}-${v}-0`;
  const problem = validateBaseName(nvr);
  return problem ? { error: `the image's os-release gives the base name "${nvr}", which ${problem}; give --name NAME-VERSION-RELEASE` } : { name: nvr };
}
