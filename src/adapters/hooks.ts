// Hook directories read into FoundFile records (core/hooks decides what runs), and one hook run: checked and run as
// one open file, in its own session and process group, cwd /, stdin /dev/null, a fixed environment, every output
// line prefixed with its name on our stderr and in the journal (systemd-cat, when there). A timeout is a hard limit:
// SIGTERM, SIGKILL after a grace period; nothing the hook leaves behind outlives it or holds up the command.
import { spawn } from 'node:child_process';
import { closeSync, constants as fsc, fstat as fstatCb, openSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { lstat, mkdtemp, open, readdir, readFile, readlink, rm, stat, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { HOOK_DIRS, HOOK_KILL_GRACE_S, hookProcessEnv, parseHookTimeout, unsafeReason, type FoundFile, type Owned } from '../core/hooks';
import { ImgbasedError } from '../core/errors';
import { findCommand } from './exec';
import { log } from './log';

export const HOOKS_CONF = '/etc/imgbased/hooks.conf';
/** After a hook exits (and its leftovers are killed), how long its last output may take to arrive. */
const DRAIN_MS = 1000;

/** A hook (or health check) that failed: `short` is "exit N", "killed after N s" or "refused: why". */
export class HookFailure extends ImgbasedError {
  constructor(message: string, readonly short: string) {
    super(message);
  }
}
const fstat = promisify(fstatCb);

/**
 * Resolves `p` (absolute) one name at a time, as the kernel does: every directory crossed on the way, with its owner
 * and mode (a symlink's target's directories included), and the path of what it finally names.
 */
export async function walkPath(p: string): Promise<{ dirs: Owned[]; target: string }> {
  const root = await lstat('/');
  const dirs = new Map<string, Owned>([['/', { path: '/', uid: root.uid, mode: root.mode }]]);
  let cur = '/';
  let rest = p.split('/').filter((c) => c !== '' && c !== '.');
  for (let links = 0; rest.length > 0;) {
    const c = rest.shift()!;
    if (c === '..') {
      cur = join(cur, '..');
      continue;
    }
    const next = join(cur, c);
    const s = await lstat(next);
    if (s.isSymbolicLink()) {
      if (++links > 40) throw new ImgbasedError(`${p}: too many levels of symbolic links`);
      const t = await readlink(next);
      rest = [...t.split('/').filter((x) => x !== '' && x !== '.'), ...rest];
      if (t.startsWith('/')) cur = '/';
      continue;
    }
    if (rest.length === 0) return { dirs: [...dirs.values()], target: next };
    if (!s.isDirectory()) throw new ImgbasedError(`${next}: not a directory`);
    dirs.set(next, { path: next, uid: s.uid, mode: s.mode });
    cur = next;
  }
  return { dirs: [...dirs.values()], target: cur };
}

async function isDevNull(p: string): Promise<boolean> {
  const [t, n] = await Promise.all([stat(p).catch(() => null), stat('/dev/null')]);
  return !!t?.isCharacterDevice() && t.rdev === n.rdev;
}

/** Every file in every event directory under both roots (a missing root is simply empty, a dangling link ignored). */
export async function scanHooks(roots: Readonly<Record<keyof typeof HOOK_DIRS, string>> = HOOK_DIRS): Promise<FoundFile[]> {
  const out: FoundFile[] = [];
  for (const root of Object.keys(roots) as Array<keyof typeof HOOK_DIRS>) {
    for (const dir of (await readdir(roots[root]).catch(() => [] as string[])).sort()) {
      const dirPath = join(roots[root], dir);
      if (!(await stat(dirPath).catch(() => null))?.isDirectory()) continue;
      for (const name of (await readdir(dirPath).catch(() => [] as string[])).sort()) {
        const path = join(dirPath, name);
        const w = await walkPath(path).catch(() => null);
        const s = w && (await lstat(w.target).catch(() => null));
        if (!w || !s) continue;
        const masked = w.target !== path && (await isDevNull(w.target));
        out.push({
          root, dir, name, path, masked, executable: !masked && s.isFile() && (s.mode & 0o111) !== 0,
          target: w.target, uid: s.uid, mode: s.mode, dirs: w.dirs,
        });
      }
    }
  }
  return out;
}

export async function readHookTimeout(): Promise<number> {
  return parseHookTimeout(await readFile(HOOKS_CONF, 'utf8').catch(() => null));
}

/**
 * The hook, opened and checked as the open file: every directory on its way (walkPath) root's and not writable by
 * group or others, so no one else can swap a name on it; then the open file itself (fstat): root's, not go-w, a
 * regular file with an x bit. Null for a hook masked since it was listed.
 */
async function openChecked(path: string): Promise<FileHandle | null> {
  const refuse = (why: string): HookFailure => new HookFailure(`hook ${path} is refused: ${why}`, `refused: ${why}`);
  const w = await walkPath(path).catch((e: Error) => {
    throw refuse(e.message);
  });
  if (w.target !== path && (await isDevNull(w.target))) return null;
  const fh = await open(w.target, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK).catch((e: Error) => {
    throw refuse(e.message);
  });
  const s = await fh.stat();
  const why = unsafeReason({ path, masked: false, target: w.target, uid: s.uid, mode: s.mode, dirs: w.dirs })
    ?? (!s.isFile() ? 'it is not a regular file' : (s.mode & 0o111) === 0 ? 'it is not executable' : null);
  if (why !== null) {
    await fh.close();
    throw refuse(why);
  }
  return fh;
}

/**
 * An open file every process of the hook inherits (as fd 4) unless it closes it: the unlinked file's
 * /proc/PID/fd link ("/tmp/imgbased-hook-XXXXXX/mark (deleted)") names this run and no other, so a daemonizer that
 * left the process group (setsid) and redirected its output is still found. Null when no temporary directory.
 */
async function markFd(): Promise<{ fd: number; link: string } | null> {
  const d = await mkdtemp(join(tmpdir(), 'imgbased-hook-')).catch(() => null);
  if (d === null) return null;
  try {
    const fd = openSync(join(d, 'mark'), fsc.O_RDONLY | fsc.O_CREAT | fsc.O_EXCL, 0o600);
    await rm(d, { recursive: true });
    return { fd, link: readlinkSync(`/proc/self/fd/${fd}`) };
  } catch {
    await rm(d, { recursive: true, force: true });
    return null;
  }
}

/**
 * Processes left of a hook: in its process group, or holding one of `links` (its output sockets, its mark) open.
 * Zombies are dead already (and hold nothing). Scanned synchronously: one pass over /proc, no await between reads.
 */
function leftovers(pgid: number, links: ReadonlySet<string>): Array<{ pid: number; comm: string }> {
  const out: Array<{ pid: number; comm: string }> = [];
  for (const e of readdirSync('/proc')) {
    const pid = Number(e);
    if (!/^\d+$/.test(e) || pid === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const [state, , pgrp] = stat.slice(close + 2).split(' ');
      if (state === 'Z') continue;
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      if (Number(pgrp) === pgid || readdirSync(`/proc/${e}/fd`).some((fd) => links.has(readlinkSync(`/proc/${e}/fd/${fd}`)))) {
        out.push({ pid, comm });
      }
    } catch {
      // gone meanwhile, or a file descriptor closed between the listing and readlink
    }
  }
  return out;
}

function signal(pids: number[], sig: NodeJS.Signals): void {
  for (const p of pids) {
    try {
      process.kill(p, sig);
    } catch {
      // already gone
    }
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Splits a stream into lines and hands each, prefixed, to the sinks. */
function prefixer(name: string, sinks: Array<(line: string) => void>): { push: (b: Buffer) => void; end: () => void } {
  let rest = '';
  const emit = (l: string): void => sinks.forEach((s) => s(`${name}: ${l}`));
  return {
    push: (b) => {
      const parts = (rest + b.toString('utf8')).split('\n');
      rest = parts.pop()!;
      parts.forEach(emit);
    },
    end: () => {
      if (rest) emit(rest);
      rest = '';
    },
  };
}

export interface HookRun {
  /** Journal identifier of its output (systemd-cat -t). */
  tag?: string;
  name: string;
  path: string;
  /** Its IMGBASED_* variables (others are dropped: core/hooks hookProcessEnv). */
  env: Record<string, string>;
  timeoutS: number;
}

/** For tests: called between the check of the open file and its run. */
export interface HookSeams {
  afterCheck?: () => unknown;
}

/** Our stderr is a journal stream (we run as a systemd unit), per systemd's JOURNAL_STREAM device:inode. */
async function stderrIsJournal(): Promise<boolean> {
  const js = process.env.JOURNAL_STREAM;
  if (!js) return false;
  const s = await fstat(2).catch(() => null);
  return s !== null && js === `${s.dev}:${s.ino}`;
}

/** Runs one hook; throws HookFailure with its exit code, the timeout or the refusal. */
export async function runHook(h: HookRun, seams: HookSeams = {}): Promise<void> {
  const fh = await openChecked(h.path);
  if (fh === null) {
    log.info(`hook ${h.path}: masked since it was listed; not run`);
    return;
  }
  const mark = await markFd();
  try {
    await seams.afterCheck?.();
    return await runOpen(h, fh.fd, mark);
  } finally {
    await fh.close();
    if (mark) closeSync(mark.fd);
  }
}

async function runOpen(h: HookRun, fd: number, mark: { fd: number; link: string } | null): Promise<void> {
  const journal = await findCommand('systemd-cat');
  // Run by a unit, our stderr is the journal already: one copy there (tagged imgbased-hook) is enough.
  const toStderr = !(journal && (await stderrIsJournal()));
  const jc = journal ? spawn(journal, ['-t', h.tag ?? 'imgbased-hook'], { stdio: ['pipe', 'ignore', 'ignore'] }) : null;
  // Without a journal (systemd-cat exits at once) the lines still reach stderr; a broken pipe is not the hook's failure.
  jc?.on('error', () => undefined);
  jc?.stdin!.on('error', () => undefined);
  const sinks = [
    ...(toStderr ? [(l: string): void => void process.stderr.write(`${l}\n`)] : []),
    ...(jc ? [(l: string): void => void jc.stdin!.write(`${l}\n`)] : []),
  ];
  // The checked open file is what runs: fd 3 in the child, executed as /proc/self/fd/3 (the kernel runs an ELF
  // file or a #! script from it; the interpreter reopens the same file through that link), so no name is looked up
  // again between the check and the run and nothing is copied. The hook's $0 is /proc/self/fd/3: IMGBASED_HOOK
  // tells its path. Started through setpriv with the parent-death signal, like every program imgbase runs: a hook
  // does not outlive a killed imgbase.
  const child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', '/proc/self/fd/3'], {
    argv0: h.path, cwd: '/', env: { ...hookProcessEnv(h.env), IMGBASED_HOOK: h.path },
    stdio: ['ignore', 'pipe', 'pipe', fd, mark?.fd ?? 'ignore'], detached: true,
  });
  const exited = new Promise<{ code: number | null; sig: NodeJS.Signals | null }>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, sig) => resolve({ code, sig }));
  });
  const pgid = child.pid ?? -1;
  // The child's ends of its output sockets, read while it is fresh (best effort: a hook done already has none).
  const links = new Set(mark ? [mark.link] : []);
  for (const n of [1, 2]) {
    try {
      links.add(readlinkSync(`/proc/${pgid}/fd/${n}`));
    } catch {
      // exited already
    }
  }
  const out = prefixer(h.name, sinks);
  const err = prefixer(h.name, sinks);
  child.stdout!.on('data', out.push);
  child.stderr!.on('data', err.push);
  const closed = Promise.all([child.stdout!, child.stderr!].map((s) => new Promise((r) => s.once('close', r))));
  let timedOut = false;
  let kill: NodeJS.Timeout | undefined;
  const timer = setTimeout(() => {
    timedOut = true;
    signal(leftovers(pgid, links).map((p) => p.pid), 'SIGTERM');
    kill = setTimeout(() => signal(leftovers(pgid, links).map((p) => p.pid), 'SIGKILL'), HOOK_KILL_GRACE_S * 1000);
  }, h.timeoutS * 1000);
  let r: { code: number | null; sig: NodeJS.Signals | null };
  try {
    r = await exited;
  } finally {
    clearTimeout(timer);
    clearTimeout(kill);
    await killLeftovers(h, pgid, links);
    // Killed, the leftovers let go of the sockets; a process that closed both marks and kept them is not waited for.
    await Promise.race([closed, sleep(DRAIN_MS)]);
    child.stdout!.destroy();
    child.stderr!.destroy();
    out.end();
    err.end();
    jc?.stdin!.end();
  }
  if (timedOut) throw new HookFailure(`hook ${h.path} did not finish within ${h.timeoutS} s and was killed with its children`, `killed after ${h.timeoutS} s`);
  const code = r.code ?? 128;
  if (code !== 0) throw new HookFailure(`hook ${h.path} exited ${code}`, `exit ${code}`);
  log.debug(`hook ${h.path}: ok`);
}

/** Once the hook has exited: SIGKILL, at once, for every process it left (until a scan finds none). */
async function killLeftovers(h: HookRun, pgid: number, links: ReadonlySet<string>): Promise<void> {
  const killed = new Map<number, string>();
  for (let round = 0; round < 50; round++) {
    const left = leftovers(pgid, links);
    if (left.length === 0) break;
    for (const p of left) killed.set(p.pid, p.comm);
    signal(left.map((p) => p.pid), 'SIGKILL');
    await sleep(20);
  }
  if (killed.size > 0) {
    log.warn(`hook ${h.name}: killed ${killed.size} process(es) it left behind: ${[...killed].map(([p, c]) => `${p} (${c})`).join(', ')}`);
  }
}
