// dpkg's database as text, pure: the status file's stanzas (deb822, as /var/lib/dpkg/status holds them), which
// packages are installed, and the control file a package is rebuilt with (what dpkg-repack writes).

/** One stanza: fields in file order, names as written, values without the space after the colon. */
export type Stanza = Array<[string, string]>;

export interface Package {
  name: string;
  version: string;
  arch: string;
  /** name:arch, the identity dpkg keeps apart (Multi-Arch: same packages exist once per architecture). */
  key: string;
  stanza: Stanza;
}

/** Stanzas of a deb822 text: blank lines part them, a line starting with space or tab continues the field before. */
export function parseStanzas(text: string): Stanza[] {
  const out: Stanza[] = [];
  let cur: Stanza = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      if (cur.length) out.push(cur);
      cur = [];
    } else if (/^[ \t]/.test(line) && cur.length) {
      cur[cur.length - 1]![1] += `\n${line}`;
    } else {
      const m = /^([^:\s]+):\s?(.*)$/.exec(line);
      if (m) cur.push([m[1]!, m[2]!.trimEnd()]);
    }
  }
  if (cur.length) out.push(cur);
  return out;
}

export function field(s: Stanza, name: string): string | undefined {
  const n = name.toLowerCase();
  return s.find(([k]) => k.toLowerCase() === n)?.[1];
}

/** Installed: the Status field's state word is `installed` (want and error flags aside: a held package counts). */
export function isInstalled(s: Stanza): boolean {
  return (field(s, 'Status') ?? '').trim().split(/\s+/)[2] === 'installed';
}

export function packageOf(s: Stanza): Package | null {
  const name = field(s, 'Package')?.trim();
  const version = field(s, 'Version')?.trim();
  if (!name || !version) return null;
  const arch = field(s, 'Architecture')?.trim() || 'all';
  return { name, version, arch, key: `${name}:${arch}`, stanza: s };
}

/** The installed packages of a status file, by name:arch. */
export function installedPackages(statusText: string): Map<string, Package> {
  const out = new Map<string, Package>();
  for (const s of parseStanzas(statusText)) {
    const p = isInstalled(s) ? packageOf(s) : null;
    if (p) out.set(p.key, p);
  }
  return out;
}

/** The conffiles dpkg still tracks for the package (obsolete ones are no longer the package's). */
export function conffilesOf(s: Stanza): string[] {
  return (field(s, 'Conffiles') ?? '').split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => f[0]?.startsWith('/') && !f.includes('obsolete')).map((f) => f[0]!);
}

/** Fields only dpkg's database has: a .deb's control file never carries them. */
const DATABASE_ONLY = new Set(['status', 'conffiles', 'config-version']);

/** DEBIAN/control for a package rebuilt from its database stanza: its fields in their order, Package first. */
export function renderControl(s: Stanza): string {
  const kept = s.filter(([k]) => !DATABASE_ONLY.has(k.toLowerCase()));
  const ordered = [...kept.filter(([k]) => k.toLowerCase() === 'package'), ...kept.filter(([k]) => k.toLowerCase() !== 'package')];
  return ordered.map(([k, v]) => `${k}: ${v}\n`).join('');
}

/** The .deb file name Debian gives a package: name_version_arch.deb, the epoch's colon as %3a. */
export function debFileName(p: { name: string; version: string; arch: string }): string {
  return `${p.name}_${p.version.replace(/:/g, '%3a')}_${p.arch}.deb`;
}

/** name and arch of a file named by debFileName (package names hold no `_`), or null. */
export function parseDebFileName(file: string): { name: string; version: string; arch: string } | null {
  const m = /^([a-z0-9][a-z0-9.+-]*)_([^_/]+)_([a-z0-9-]+)\.deb$/.exec(file);
  return m ? { name: m[1]!, version: m[2]!.replace(/%3a/gi, ':'), arch: m[3]! } : null;
}
