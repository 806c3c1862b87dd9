// The Debian release of the lab's guests, and what differs per release: the suites of the mirror lines and the
// package list. Pure (no I/O) so the unit tests can check the derivation of mirror lines.

export const RELEASES = ['bookworm', 'trixie'] as const;
export type Release = (typeof RELEASES)[number];
/** npm test's guests: Debian 13, the current stable release (Debian 12 runs with IMGBASED_LAB_RELEASE=bookworm). */
export const DEFAULT_RELEASE: Release = 'trixie';

const VERSIONS: Record<Release, string> = { bookworm: '12', trixie: '13' };

/** `IMGBASED_LAB_RELEASE`: a codename or Debian version (12, 13); unset or empty means the default. */
export function parseRelease(value: string | undefined): Release {
  const v = (value ?? '').trim().toLowerCase();
  if (!v) return DEFAULT_RELEASE;
  for (const r of RELEASES) if (v === r || v === VERSIONS[r]) return r;
  throw new Error(`lab: unknown Debian release ${JSON.stringify(value)} (want one of ${RELEASES.join(', ')}, or 12, 13)`);
}

export function releaseFromEnv(env: NodeJS.ProcessEnv = process.env): Release {
  return parseRelease(env.IMGBASED_LAB_RELEASE);
}

export function debianVersion(r: Release): string {
  return VERSIONS[r];
}

/** Packages of the guest (minbase adds only Essential + apt). binutils makes dracut's strip trap real. */
const COMMON_PACKAGES = [
  'linux-image-amd64', 'lvm2', 'thin-provisioning-tools', 'dracut', 'systemd-sysv', 'udev', 'e2fsprogs',
  'xfsprogs', 'grub-pc', 'systemd-boot', 'kmod', 'procps', 'util-linux', 'fdisk', 'squashfs-tools', 'zstd',
  'binutils', 'libstdc++6', 'findutils', 'iproute2', 'grub-efi-amd64-bin', 'dosfstools',
  // getfattr (imgbase update compares xattrs; a declared dependency) and setcap (the tests give a file a capability).
  'attr', 'libcap2-bin',
  // A service and a config file every admin touches (update carries its config and its disabled state).
  'openssh-server',
];

/** Extra packages a release needs to give the guest the same tools as bookworm's list. */
const EXTRA_PACKAGES: Record<Release, string[]> = {
  bookworm: [],
  trixie: [],
};

export function packagesFor(r: Release): string[] {
  return [...COMMON_PACKAGES, ...EXTRA_PACKAGES[r]];
}

/** One `deb` source: what both apt source formats (one-line and deb822) reduce to. */
export interface AptSource {
  uri: string;
  suite: string;
  components: string[];
}

/** `bookworm-updates` → `{ release: 'bookworm', pocket: '-updates' }`; suites of no known release → null. */
function splitSuite(suite: string): { release: Release; pocket: string } | null {
  for (const r of RELEASES) if (suite === r || suite.startsWith(`${r}-`)) return { release: r, pocket: suite.slice(r.length) };
  return null;
}

/**
 * Mirror lines (one-line sources.list format) for `release`, from the host's apt sources: the release's own
 * suites when the host lists them, else those of another Debian release the host lists, renamed (bookworm →
 * trixie, bookworm-updates → trixie-updates, bookworm-security → trixie-security: the same Debian mirror serves
 * every release). Suites of other archives (e.g. `cloud-sdk-bookworm`) and non-Debian sources are left out.
 */
export function mirrorLinesFor(release: Release, sources: AptSource[]): string[] {
  const known = sources.flatMap((s) => {
    const sp = splitSuite(s.suite);
    return sp ? [{ ...s, ...sp }] : [];
  });
  const own = known.filter((s) => s.release === release);
  let chosen = own;
  if (!own.some((s) => s.pocket === '')) {
    // The host's own release first (the one with a main suite listed), then any other with one.
    const donor = RELEASES.find((r) => known.some((s) => s.release === r && s.pocket === ''));
    chosen = donor ? known.filter((s) => s.release === donor) : [];
  }
  const lines = chosen.map((s) => `deb ${s.uri} ${release}${s.pocket} ${s.components.join(' ')}`);
  if (!lines.some((l) => l.split(' ')[2] === release))
    throw new Error(`lab: no Debian mirror for ${release} found in /etc/apt/sources.list{,.d}; the guest image needs one`);
  return [...new Set(lines)];
}

/** Parses apt source files: `name` decides the format (*.sources deb822, *.list one-line). */
export function parseAptSources(name: string, text: string): AptSource[] {
  const out: AptSource[] = [];
  if (name.endsWith('.sources')) {
    for (const stanza of text.split(/\n\s*\n/)) {
      const field = (k: string) => {
        const m = new RegExp(`^${k}:\\s*(.*)$`, 'mi').exec(stanza);
        return m ? m[1]!.trim().split(/\s+/) : [];
      };
      if (/^Enabled:\s*no/im.test(stanza) || !field('Types').includes('deb')) continue;
      for (const uri of field('URIs')) for (const suite of field('Suites')) out.push({ uri, suite, components: field('Components') });
    }
  } else if (name.endsWith('.list')) {
    for (const raw of text.split('\n')) {
      const l = raw.replace(/#.*/, '').trim();
      const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s+(.+)$/.exec(l);
      if (m) out.push({ uri: m[1]!, suite: m[2]!, components: m[3]!.split(/\s+/) });
    }
  }
  return out;
}
