// Package relations, pure: whether the admin's packages can be installed into a new image's package set before
// anything is written (Depends, Pre-Depends, Conflicts, Breaks, with Provides), and which packages dpkg refused
// when it is asked anyway (its output, the safety net).
import { field, type Package } from './status';
import { satisfiesVersion, type VersionOp } from './version';

export interface Relation {
  name: string;
  op?: VersionOp | '<' | '>';
  version?: string;
}

/** "a (>= 1) | b, c:any" -> [[a >= 1, b], [c]]; architecture lists and build profiles are dropped. */
export function parseRelations(text: string | undefined): Relation[][] {
  if (!text) return [];
  return text.split(',').map((group) => group.split('|').map((alt): Relation | null => {
    const m = /^\s*([a-z0-9][a-z0-9.+-]*)(?::[a-z0-9-]+)?\s*(?:\(\s*(<<|<=|>=|>>|=|<|>)\s*([^)\s]+)\s*\))?/.exec(alt.replace(/\s+/g, ' '));
    return m ? { name: m[1]!, ...(m[2] ? { op: m[2] as Relation['op'], version: m[3]! } : {}) } : null;
  }).filter((r): r is Relation => r !== null)).filter((g) => g.length > 0);
}

/** What answers a name: each real package of that name, and each package providing it (with its provided version). */
type Index = Map<string, Array<{ pkg: Package; version: string | null }>>;

function indexOf(pkgs: Iterable<Package>): Index {
  const idx: Index = new Map();
  const add = (n: string, e: { pkg: Package; version: string | null }): void => {
    idx.set(n, [...(idx.get(n) ?? []), e]);
  };
  for (const p of pkgs) {
    add(p.name, { pkg: p, version: p.version });
    for (const [prov] of parseRelations(field(p.stanza, 'Provides'))) {
      if (prov) add(prov.name, { pkg: p, version: prov.op === '=' ? prov.version! : null });
    }
  }
  return idx;
}

/** The packages of idx matching r (a versioned relation is met by a virtual package only at its provided version). */
function matches(idx: Index, r: Relation, except?: Package): Package[] {
  return (idx.get(r.name) ?? [])
    .filter((e) => e.pkg !== except)
    .filter((e) => !r.op || (e.version !== null && satisfiesVersion(e.version, r.op, r.version!)))
    .map((e) => e.pkg);
}

const show = (r: Relation): string => (r.op ? `${r.name} (${r.op} ${r.version})` : r.name);

/** Why p cannot go into `set` (the packages there with p among them), or null. */
function refusal(p: Package, set: Index, all: Package[]): string | null {
  for (const f of ['Pre-Depends', 'Depends']) {
    for (const group of parseRelations(field(p.stanza, f))) {
      if (!group.some((r) => matches(set, r).length > 0)) return `it depends on ${group.map(show).join(' | ')}, which the new image lacks`;
    }
  }
  for (const f of ['Conflicts', 'Breaks']) {
    for (const [r] of parseRelations(field(p.stanza, f))) {
      const hit = r ? matches(set, r, p).filter((q) => q.name !== p.name) : [];
      if (hit.length) return `it ${f === 'Conflicts' ? 'conflicts with' : 'breaks'} ${hit[0]!.name} ${hit[0]!.version}`;
    }
  }
  // The other way round: a package of the set that declares p unwelcome.
  for (const q of all) {
    if (q === p || q.name === p.name) continue;
    for (const f of ['Conflicts', 'Breaks']) {
      for (const [r] of parseRelations(field(q.stanza, f))) {
        if (r && matches(indexOf([p]), r).length) return `${q.name} ${q.version} ${f === 'Conflicts' ? 'conflicts with' : 'breaks'} it`;
      }
    }
  }
  return null;
}

export interface Installability {
  ok: Package[];
  refused: Array<{ pkg: Package; why: string }>;
}

/**
 * Which of `install` can join `image` (its installed packages, by name:arch): each must have its dependencies met by
 * the image and the other packages installed with it, and conflict with none of them. A refused package leaves the
 * set, so what depended on it is refused in turn (until nothing changes).
 */
export function checkInstallable(image: ReadonlyMap<string, Package>, install: readonly Package[]): Installability {
  let ok = [...install];
  const refused: Installability['refused'] = [];
  for (;;) {
    // A package installed replaces the image's own of that name:arch.
    const keys = new Set(ok.map((p) => p.key));
    const all = [...[...image.values()].filter((p) => !keys.has(p.key)), ...ok];
    const set = indexOf(all);
    const now = ok.map((p) => ({ pkg: p, why: refusal(p, set, all) }));
    const bad = now.filter((x): x is { pkg: Package; why: string } => x.why !== null);
    if (!bad.length) return { ok, refused };
    refused.push(...bad);
    ok = now.filter((x) => x.why === null).map((x) => x.pkg);
  }
}

/**
 * The packages dpkg refused, from its output: the list after "Errors were encountered while processing:" (package
 * names, or .deb paths mapped back through `debs`, path -> package name).
 */
export function refusedByDpkg(output: string, debs: ReadonlyMap<string, string>): string[] {
  const lines = output.split('\n');
  const at = lines.findIndex((l) => l.startsWith('Errors were encountered while processing:'));
  if (at < 0) return [];
  const out: string[] = [];
  for (const l of lines.slice(at + 1)) {
    if (!/^\s/.test(l) || !l.trim()) break;
    const item = l.trim();
    const name = debs.get(item) ?? item.replace(/:[a-z0-9-]+$/, '');
    if (!out.includes(name)) out.push(name);
  }
  return out;
}
