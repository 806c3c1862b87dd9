// The admin's packages across an update, pure: which installed packages are the admin's (not the base's, or newer
// than the base's), which of them the new image already has, which the admin removed from the base's set, and
// where each one's .deb comes from. The update re-installs them into the new layer (step install-debs).
import { checkInstallable } from '../dpkg/relations';
import { debFileName, parseDebFileName, type Package } from '../dpkg/status';
import { compareVersions } from '../dpkg/version';

/** Where `imgbase packages --keep` (APT's Pre-Install-Pkgs hook) keeps each .deb APT installs. */
export const KEPT_DEBS_DIR = '/var/lib/imgbased/debs';
/** The APT configuration snippet that runs the hook (build/install puts it there). */
export const APT_HOOK_FILE = '/etc/apt/apt.conf.d/80imgbased';

export type PackagePolicy = 'stop' | 'skip';
export const DEFAULT_PACKAGE_POLICY: PackagePolicy = 'stop';

export interface PkgRef {
  name: string;
  version: string;
  arch: string;
}

/** kept: the .deb APT installed it from; rebuilt: made from the installed files (dpkg -i'd); missing: neither. */
export type PkgSource = 'kept' | 'rebuilt' | 'missing';

export interface AdminPackages {
  /** Installed here, and not in the base or newer than the base's. */
  added: Package[];
  /** In the base, no longer installed here. */
  removed: Package[];
}

const ref = (p: Package): PkgRef => ({ name: p.name, version: p.version, arch: p.arch });

export function adminPackages(base: ReadonlyMap<string, Package>, here: ReadonlyMap<string, Package>): AdminPackages {
  const added = [...here.values()].filter((p) => {
    const b = base.get(p.key);
    return !b || compareVersions(p.version, b.version) > 0;
  });
  const removed = [...base.values()].filter((p) => !here.has(p.key));
  return { added: sortByName(added), removed: sortByName(removed) };
}

function sortByName(ps: Package[]): Package[] {
  return ps.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.arch < b.arch ? -1 : a.arch > b.arch ? 1 : 0));
}

/** The .deb kept for p, among the file names of KEPT_DEBS_DIR: only one of exactly its version counts. */
export function keptDeb(p: PkgRef, files: readonly string[]): string | null {
  const want = debFileName(p);
  return files.includes(want) ? want : null;
}

/** Kept files of another version of the same package and architecture: the hook removes them for a new one. */
export function olderKept(p: PkgRef, files: readonly string[]): string[] {
  return files.filter((f) => {
    const d = parseDebFileName(f);
    return d !== null && d.name === p.name && d.arch === p.arch && d.version !== p.version;
  });
}

export interface PackageEntry extends PkgRef {
  source: PkgSource;
}

export interface PackagePlan {
  /** To install into the new layer, from a kept .deb or rebuilt. */
  install: PackageEntry[];
  /** The new image has it at the same or a newer version. */
  inImage: Array<PkgRef & { image: string }>;
  /** Removed here from the base's set: reported, not removed from the new image (it may need them). */
  removed: PkgRef[];
  /**
   * Refused before anything is written (a dependency the image lacks, a conflict, no .deb to be had), with why: an
   * error under policy stop, left out under skip.
   */
  refused: Array<PkgRef & { why: string }>;
}

/** What an update does with the admin's packages. `sources`: each added package's source (by name:arch). */
export function planPackages(admin: AdminPackages, image: ReadonlyMap<string, Package>, sources: ReadonlyMap<string, PkgSource>): PackagePlan {
  const inImage: PackagePlan['inImage'] = [];
  const want: Package[] = [];
  for (const p of admin.added) {
    const n = image.get(p.key);
    if (n && compareVersions(n.version, p.version) >= 0) inImage.push({ ...ref(p), image: n.version });
    else want.push(p);
  }
  const source = (p: Package): PkgSource => sources.get(p.key) ?? 'missing';
  // One with no .deb is left out before the check, so what depends on it is refused too.
  const { ok, refused } = checkInstallable(image, want.filter((p) => source(p) !== 'missing'));
  return {
    install: ok.map((p) => ({ ...ref(p), source: source(p) })),
    inImage,
    removed: admin.removed.map(ref),
    refused: [
      ...want.filter((p) => source(p) === 'missing').map((p) => ({ ...ref(p), why: 'no kept .deb and no dpkg file list to rebuild it from' })),
      ...refused.map((r) => ({ ...ref(r.pkg), why: r.why })),
    ],
  };
}

/** One line naming the packages that stop an update. */
export function refusalLine(bad: ReadonlyArray<PkgRef & { why: string }>): string {
  return `update: the new image cannot take ${bad.length} of this host's package(s): ${bad.map((b) => `${b.name} ${b.version} (${b.why})`).join('; ')}`;
}

const show = (p: PkgRef): string => `${p.name} ${p.version} ${p.arch}`;

/** Lines of the update's output and record. */
export function describePackages(p: PackagePlan): string[] {
  return [
    ...p.install.map((x) => `  package ${show(x)}: re-installed (${x.source === 'kept' ? 'kept .deb' : 'rebuilt from this host'})`),
    ...p.inImage.map((x) => `  package ${show(x)}: already in the image (${x.image})`),
    ...p.refused.map((x) => `  package ${show(x)}: SKIPPED, ${x.why}`),
    ...p.removed.map((x) => `  package ${show(x)}: removed here from the old image's set (not removed from the new one)`),
  ];
}

