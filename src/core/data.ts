// Data volumes, pure: a thin LV mounted at a path by an /etc/fstab line, shared by every layer. /etc is merged by
// `update`, so the line reaches every new layer, and the data is never copied: an update or a rollback costs nothing
// for it. Which paths may be one, what its LV is called, and the fstab line.
import { TAGS, type LvRecord } from './inventory';
import { MAX_NAME_LENGTH } from './naming';

/**
 * Paths that belong to the image (they must change with it) or to the running system. /var as a whole is one of
 * them: Debian keeps its package database in /var/lib/dpkg, and a /var shared by layers of different images would
 * give each image the other's package list.
 */
const IMAGE_OWNED = [
  '/etc', '/usr', '/boot', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/opt', '/var', '/var/lib',
  '/var/lib/dpkg', '/var/lib/apt', '/var/lib/rpm', '/var/lib/ucf', '/var/lib/systemd', '/var/lib/imgbased', '/var/cache',
  '/var/tmp', '/var/run', '/var/lock', '/proc', '/sys', '/dev', '/run', '/tmp', '/mnt', '/media', '/lost+found',
];
/** Under these nothing may be a data volume either (the image's files, or the kernel's). */
const IMAGE_OWNED_TREES = ['/etc', '/usr', '/boot', '/bin', '/sbin', '/lib', '/lib64', '/proc', '/sys', '/dev', '/run', '/var/lib/dpkg', '/var/lib/apt', '/var/lib/rpm', '/var/lib/imgbased'];

/** Why `path` cannot be a data volume, or null. */
export function validateDataPath(path: string): string | null {
  if (!path.startsWith('/')) return `${JSON.stringify(path)} is not an absolute path`;
  if (path === '/') return '/ is the layer itself';
  if (!/^(\/[A-Za-z0-9._+-]+)+$/.test(path)) return `${JSON.stringify(path)}: use a plain path (letters, digits, . _ + - between single slashes, no trailing slash)`;
  if (path.split('/').some((c) => c === '.' || c === '..')) return `${path}: no . or .. components`;
  if (IMAGE_OWNED.includes(path)) {
    return path === '/var' || path === '/var/lib'
      ? `${path} holds the image's package database (/var/lib/dpkg): make the paths under it that hold data volumes, e.g. /var/lib/libvirt`
      : `${path} belongs to the image or to the running system`;
  }
  const tree = IMAGE_OWNED_TREES.find((t) => path.startsWith(`${t}/`));
  if (tree) return `${path} is inside ${tree}, which belongs to the image or to the running system`;
  return null;
}

/**
 * What `install` and `layout --init` make data volumes unless told otherwise: the admin's homes, and the logs and
 * crash dumps that explain a bad boot — they must outlive the layer that wrote them, so a rollback or an update
 * keeps the journal of every earlier boot. (The original imgbased made these its own volumes too.)
 */
export const DEFAULT_DATA_PATHS: readonly string[] = ['/home', '/var/log', '/var/crash'];

/** The data volumes asked for: the default set (unless `none`) and the extra paths, each once, in that order. */
export function requestedDataPaths(o: { none: boolean; extra: readonly string[] }): Array<{ path: string; byDefault: boolean }> {
  const out = o.none ? [] : DEFAULT_DATA_PATHS.map((path) => ({ path, byDefault: true }));
  for (const path of o.extra) {
    const known = out.find((d) => d.path === path);
    if (known) known.byDefault = false;
    else out.push({ path, byDefault: false });
  }
  return out;
}

/**
 * The default paths something else already mounts (a line in the fstab that will apply, or a mount) are left to it;
 * a path asked for by name is kept, so its check refuses it with the reason.
 */
export function withoutTaken(wanted: ReturnType<typeof requestedDataPaths>, taken: ReadonlySet<string>): { make: string[]; leftOut: string[] } {
  const leftOut = wanted.filter((d) => d.byDefault && taken.has(d.path)).map((d) => d.path);
  return { make: wanted.map((d) => d.path).filter((p) => !leftOut.includes(p)), leftOut };
}

/** The LV a data volume for `path` gets by default: /var/lib/libvirt -> data-var-lib-libvirt. */
export function dataLvName(path: string): string {
  return `data${path.replace(/\//g, '-')}`.slice(0, MAX_NAME_LENGTH);
}

/** Why `name` cannot name a data volume's LV, or null (LVM's own rules, and not one of ours). */
export function validateDataLvName(name: string): string | null {
  if (!/^[A-Za-z0-9_.+][A-Za-z0-9_.+-]*$/.test(name)) return `${JSON.stringify(name)} is not a valid LV name`;
  if (name.length > MAX_NAME_LENGTH) return `${name} is longer than ${MAX_NAME_LENGTH} characters`;
  if (name.includes('+')) return `${name}: '+' is kept for layer names`;
  return null;
}

export function fstabLine(device: string, path: string, fsType: string): string {
  return `${device} ${path} ${fsType} defaults 0 2`;
}

/** The fstab entries (device, mount point) of `text`, comments and blank lines left out. */
export function fstabEntries(text: string): Array<{ device: string; path: string }> {
  return text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(/\s+/)).filter((f) => f.length >= 2).map((f) => ({ device: f[0]!, path: f[1]! }));
}

/** `text` with `line` appended (a missing final newline added first). */
export function withFstabLine(text: string, line: string): string {
  return `${text}${text === '' || text.endsWith('\n') ? '' : '\n'}${line}\n`;
}

export interface DataVolume {
  lv: string;
  sizeBytes: number;
  /** Where the running system's /etc/fstab mounts it; null: no line (it is mounted nowhere at boot). */
  path: string | null;
}

/** The data volumes of vg, with where fstab mounts each (by /dev/VG/LV or /dev/mapper/VG-LV). */
export function dataVolumes(records: readonly LvRecord[], vg: string, fstab: string): DataVolume[] {
  const entries = fstabEntries(fstab);
  return records.filter((r) => r.vg === vg && r.tags.includes(TAGS.data) && !r.tags.includes(TAGS.incomplete))
    .map((r) => {
      const names = [`/dev/${vg}/${r.name}`, `/dev/mapper/${vg.replace(/-/g, '--')}-${r.name.replace(/-/g, '--')}`];
      return { lv: r.name, sizeBytes: r.sizeBytes, path: entries.find((e) => names.includes(e.device))?.path ?? null };
    })
    .sort((a, b) => a.lv.localeCompare(b.lv));
}
