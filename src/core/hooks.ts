// Lifecycle hooks, pure: which events exist, which executables an event runs (from a scan of the hook directories),
// in which order, and what each is refused, masked, replaced or skipped for. The conventions of kernel-install's
// plugin directories: /usr/lib and /etc sorted together by name, the same name in /etc replaces, a symlink to
// /dev/null masks; names as Debian's run-parts (default mode) runs them: [A-Za-z0-9_-]+ only.
import { dirname } from 'node:path';
import { ImgbasedError } from './errors';

export const HOOK_DIRS = { usr: '/usr/lib/imgbased/hooks.d', etc: '/etc/imgbased/hooks.d' } as const;
export const HOOK_TIMEOUT_DEFAULT_S = 300;
/** At a hook's timeout its processes get SIGTERM; whatever is left this many seconds later gets SIGKILL. */
export const HOOK_KILL_GRACE_S = 5;
/** The PATH of every hook and health check (never the caller's). */
export const HOOK_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** Names that run (run-parts' default, non-LSB set): an update's 50-x.imgnew, a backup~, x.dpkg-old, x.sh do not. */
export const HOOK_NAME = /^[A-Za-z0-9_-]+$/;
export const BAD_NAME_WHY = 'name is not [A-Za-z0-9_-]+ (like run-parts)';
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

/** A directory or file: its owner and mode. */
export interface Owned {
  path: string;
  uid: number;
  mode: number;
}

/** One file found in a hook directory (adapters/hooks reads them with lstat, resolving symlinks itself). */
export interface FoundFile {
  root: keyof typeof HOOK_DIRS;
  /** Directory name under hooks.d (the event or an alias). */
  dir: string;
  name: string;
  path: string;
  /** A symlink to /dev/null. */
  masked: boolean;
  /** A regular file (after following links) with an x bit. */
  executable: boolean;
  /** The file that runs: `path`, or a symlink's target with every link resolved. Its owner and mode: */
  target: string;
  uid: number;
  mode: number;
  /** Every directory crossed to reach it, each up to /: `path`'s own and, through a symlink, its target's. Whoever
   * can write one of them can swap what root runs. */
  dirs: Owned[];
}
export type HookStatus = 'run' | 'masked' | 'replaced' | 'skipped' | 'refused';

export interface ResolvedHook {
  name: string;
  path: string;
  status: HookStatus;
  /** Why it does not run (masked, replaced by, not executable, refused because ...). */
  why: string | null;
}

const mode8 = (m: number): string => (m & 0o7777).toString(8);

/**
 * Why the file or a directory on its way is unsafe: not owned by root, or writable by group or others (a sticky bit
 * does not excuse it: in a sticky directory others may still add names, and a name not there yet is theirs to make).
 */
export function unsafeReason(f: Pick<FoundFile, 'path' | 'masked' | 'target' | 'uid' | 'mode' | 'dirs'>): string | null {
  for (const d of f.dirs) {
    const who = d.path === dirname(f.path) ? 'its directory' : d.path;
    if (d.uid !== 0) return `${who} is owned by uid ${d.uid}, not root`;
    if (d.mode & 0o022) return `${who} is writable by group or others (mode ${mode8(d.mode)})`;
  }
  if (f.masked) return null;
  const who = f.target === f.path ? 'it is' : `its target ${f.target} is`;
  if (f.uid !== 0) return `${who} owned by uid ${f.uid}, not root`;
  if (f.mode & 0o022) return `${who} writable by group or others (mode ${mode8(f.mode)})`;
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
    const bad = unsafeReason(w);
    // An odd name never runs: skipped (not refused, which would stop the command) whatever its owner or mode.
    if (!HOOK_NAME.test(name)) out.push({ name, path: w.path, status: 'skipped', why: BAD_NAME_WHY });
    else if (bad) out.push({ name, path: w.path, status: 'refused', why: bad });
    else if (w.masked) out.push({ name, path: w.path, status: 'masked', why: 'a symlink to /dev/null' });
    else if (!w.executable) out.push({ name, path: w.path, status: 'skipped', why: 'not executable' });
    else out.push({ name, path: w.path, status: 'run', why: null });
  }
  return out;
}

/** Throws when a hook that would run for one of these events is refused: before the command changes anything. */
export function refuseUnsafe(found: readonly FoundFile[], events: readonly HookEvent[]): void {
  const r = refusedHooks(found, events)[0];
  if (r) throw new ImgbasedError(`hook ${r.path} (${r.event}) is refused: ${r.why}`, { hint: 'chown root and chmod go-w the hook and every directory above it' });
}

export interface RefusedHook {
  event: HookEvent;
  name: string;
  path: string;
  why: string;
}

export function refusedHooks(found: readonly FoundFile[], events: readonly HookEvent[]): RefusedHook[] {
  return events.flatMap((event) => resolveHooks(found, event).flatMap((h) => (h.status === 'refused' ? [{ event, name: h.name, path: h.path, why: h.why! }] : [])));
}

/** The files that remain once these events' refused hooks are set aside (every file of that name for that event, so
 * that a replaced /usr/lib one does not run in the place of a refused /etc one), and the refused hooks. */
export function setRefusedAside(found: readonly FoundFile[], events: readonly HookEvent[]): { found: FoundFile[]; refused: RefusedHook[] } {
  const refused = refusedHooks(found, events);
  const out = found.filter((f) => !refused.some((r) => r.name === f.name && eventDirs(r.event).includes(f.dir)));
  return { found: out, refused };
}

export interface HookContext {
  vg: string;
  base?: string | null;
  layer?: string | null;
  prevLayer?: string | null;
}

/** The IMGBASED_* variables a hook gets: the contract in README. */
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

/** A hook's or check's whole environment: PATH and LANG fixed, the IMGBASED_* variables given, nothing else. */
export function hookProcessEnv(vars: Readonly<Record<string, string>>): Record<string, string> {
  const mine = Object.entries(vars).filter(([k]) => k.startsWith('IMGBASED_'));
  return { PATH: HOOK_PATH, LANG: 'C.UTF-8', ...Object.fromEntries(mine) };
}
