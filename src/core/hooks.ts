// Lifecycle hooks, pure: which events exist, which executables an event runs (from a scan of the hook directories),
// in which order, and what each is refused, masked, replaced or skipped for. The conventions of kernel-install's
// plugin directories: /usr/lib and /etc sorted together by name, the same name in /etc replaces, a symlink to
// /dev/null masks. Unlike run-parts, every executable name runs.
import { ImgbasedError } from './errors';

export const HOOK_DIRS = { usr: '/usr/lib/imgbased/hooks.d', etc: '/etc/imgbased/hooks.d' } as const;
export const HOOK_TIMEOUT_DEFAULT_S = 300;
/** Exit status of a command whose work was done but a post- hook failed (pre- hook failures are plain failures). */
export const EXIT_POST_HOOK = 5;

export const EVENTS = [
  'pre-layout-init', 'post-layout-init',
  'pre-base-add', 'post-base-add',
  'pre-base-remove', 'post-base-remove',
  'pre-layer-add', 'post-layer-add',
  'pre-layer-remove', 'post-layer-remove',
  'post-install',
  'boot-good', 'boot-bad', 'fallback',
] as const;
export type HookEvent = (typeof EVENTS)[number];

/** Directory names of the Python imgbased's events that map cleanly onto ours. */
export const ALIASES: Readonly<Record<string, HookEvent>> = {
  'post-init-layout': 'post-layout-init',
  'new-layer-added': 'post-layer-add',
  'new-base-with-tree-added': 'post-base-add',
  'pre-base-removed': 'pre-base-remove',
  'base-removed': 'post-base-remove',
  'pre-layer-removed': 'pre-layer-remove',
  'layer-removed': 'post-layer-remove',
  'os-upgraded': 'post-install',
};

export function isEvent(s: string): s is HookEvent {
  return (EVENTS as readonly string[]).includes(s);
}

/** The directory names holding hooks of `event`: its own and its aliases'. */
export function eventDirs(event: HookEvent): string[] {
  return [event, ...Object.keys(ALIASES).filter((a) => ALIASES[a] === event)];
}

/** One file found in a hook directory (adapters/hooks reads them with lstat/stat). */
export interface FoundFile {
  root: keyof typeof HOOK_DIRS;
  /** Directory name under hooks.d (the event or an alias). */
  dir: string;
  name: string;
  path: string;
  /** A symlink to /dev/null (or an empty /dev/null-like mask). */
  masked: boolean;
  /** A regular file (after following links) with an x bit. */
  executable: boolean;
  uid: number;
  mode: number;
  /** The directory it lies in: owner and mode (a writable directory lets others swap the hook). */
  dirUid: number;
  dirMode: number;
  /** hooks.d and the directory above it: whoever can write there can rename event directories. */
  parents?: Array<{ path: string; uid: number; mode: number }>;
}

export type HookStatus = 'run' | 'masked' | 'replaced' | 'skipped' | 'refused';

export interface ResolvedHook {
  name: string;
  path: string;
  status: HookStatus;
  /** Why it does not run (masked, replaced by, not executable, refused because ...). */
  why: string | null;
}

/** Not owned by root, or writable by group or others: anyone but root could change what root runs. */
function unsafe(f: FoundFile): string | null {
  for (const p of f.parents ?? []) {
    if (p.uid !== 0) return `${p.path} is owned by uid ${p.uid}, not root`;
    // Sticky (like /tmp): others may write there but not rename or remove what root owns.
    if (p.mode & 0o022 && !(p.mode & 0o1000)) return `${p.path} is writable by group or others (mode ${(p.mode & 0o777).toString(8)})`;
  }
  if (f.dirUid !== 0) return `its directory is owned by uid ${f.dirUid}, not root`;
  if (f.dirMode & 0o022) return `its directory is writable by group or others (mode ${(f.dirMode & 0o777).toString(8)})`;
  if (f.masked) return null;
  if (f.uid !== 0) return `it is owned by uid ${f.uid}, not root`;
  if (f.mode & 0o022) return `it is writable by group or others (mode ${(f.mode & 0o777).toString(8)})`;
  return null;
}

/** C-locale order: by bytes, as `LC_ALL=C sort`. */
function byName(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * What `event` runs, in order, with every file found for it: /usr/lib and /etc together by name; /etc wins a tie
 * (and a mask there hides /usr/lib's); within one root an event's own directory wins over an alias's.
 */
export function resolveHooks(found: readonly FoundFile[], event: HookEvent): ResolvedHook[] {
  return resolveDirs(found, eventDirs(event));
}

/** The same rules for any set of directory names (the first one outranks the others): hooks and health checks. */
export function resolveDirs(found: readonly FoundFile[], dirs: readonly string[]): ResolvedHook[] {
  const mine = found.filter((f) => dirs.includes(f.dir));
  const rank = (f: FoundFile): number => (f.root === 'etc' ? 0 : 2) + (f.dir === dirs[0] ? 0 : 1);
  const names = [...new Set(mine.map((f) => f.name))].sort(byName);
  const out: ResolvedHook[] = [];
  for (const name of names) {
    const same = mine.filter((f) => f.name === name).sort((a, b) => rank(a) - rank(b));
    const [winner, ...others] = same;
    for (const o of others) out.push({ name, path: o.path, status: 'replaced', why: `replaced by ${winner!.path}` });
    const w = winner!;
    const bad = unsafe(w);
    if (bad) out.push({ name, path: w.path, status: 'refused', why: bad });
    else if (w.masked) out.push({ name, path: w.path, status: 'masked', why: 'a symlink to /dev/null' });
    else if (!w.executable) out.push({ name, path: w.path, status: 'skipped', why: 'not executable' });
    else out.push({ name, path: w.path, status: 'run', why: null });
  }
  return out;
}

/** Throws when a hook that would run for one of these events is refused: before the command changes anything. */
export function refuseUnsafe(found: readonly FoundFile[], events: readonly HookEvent[]): void {
  for (const e of events) {
    const r = resolveHooks(found, e).find((h) => h.status === 'refused');
    if (r) throw new ImgbasedError(`hook ${r.path} (${e}) is refused: ${r.why}`, { hint: 'chown root and chmod go-w the hook and its directory' });
  }
}

export interface HookContext {
  vg: string;
  base?: string | null;
  layer?: string | null;
  prevLayer?: string | null;
}

/** The environment a hook gets (on top of PATH and LANG): the contract in README. */
export function hookEnv(event: HookEvent, c: HookContext, newRoot: string | null): Record<string, string> {
  return {
    IMGBASED_EVENT: event,
    IMGBASED_VG: c.vg,
    IMGBASED_BASE: c.base ?? '',
    IMGBASED_LAYER: c.layer ?? '',
    IMGBASED_PREV_LAYER: c.prevLayer ?? '',
    IMGBASED_NEW_ROOT: newRoot ?? '',
    IMGBASED_DRY_RUN: '0',
  };
}

/** `timeout=SECONDS` from /etc/imgbased/hooks.conf (other lines and comments ignored); the default otherwise. */
export function parseHookTimeout(conf: string | null): number {
  for (const line of (conf ?? '').split('\n')) {
    const m = /^\s*timeout\s*=\s*(\d+)\s*$/.exec(line);
    if (m && Number(m[1]) > 0) return Number(m[1]);
  }
  return HOOK_TIMEOUT_DEFAULT_S;
}

/** What a boot tells the hooks, once, from the initramfs's decision: each layer skipped is bad, a fallback happened,
 * and the layer booted came up (until boot counting judges health, reaching this point is what "good" means). */
export function bootEventContexts(s: { requested: string | null; booted: string | null; fallbacks: Array<{ layer: string }>; vg?: string | null }):
  Array<{ event: HookEvent; ctx: HookContext }> {
  const vg = s.vg ?? '';
  const out: Array<{ event: HookEvent; ctx: HookContext }> = [];
  for (const f of s.fallbacks) out.push({ event: 'boot-bad', ctx: { vg, layer: f.layer } });
  if (s.booted !== null && s.fallbacks.length > 0) {
    out.push({ event: 'fallback', ctx: { vg, layer: s.booted, prevLayer: s.fallbacks[0]!.layer } });
  }
  if (s.booted !== null) out.push({ event: 'boot-good', ctx: { vg, layer: s.booted } });
  return out;
}
