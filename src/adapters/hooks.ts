// Hook directories read into FoundFile records (core/hooks decides what runs), and one hook run: its own process
// group (so a timeout kills its children too), cwd /, stdin /dev/null, every output line prefixed with its name on
// our stderr and in the journal (systemd-cat, when there).
import { spawn } from 'node:child_process';
import { fstat as fstatCb } from 'node:fs';
import { lstat, readdir, readFile, stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { dirname, join } from 'node:path';
import { HOOK_DIRS, parseHookTimeout, type FoundFile } from '../core/hooks';
import { ImgbasedError } from '../core/errors';
import { findCommand } from './exec';
import { log } from './log';

export const HOOKS_CONF = '/etc/imgbased/hooks.conf';

/** A hook (or health check) that failed: `short` is "exit N" or "killed after N s". */
export class HookFailure extends ImgbasedError {
  constructor(message: string, readonly short: string) {
    super(message);
  }
}
const fstat = promisify(fstatCb);

async function isDevNullLink(p: string): Promise<boolean> {
  const [l, t] = await Promise.all([lstat(p).catch(() => null), stat(p).catch(() => null)]);
  return !!l?.isSymbolicLink() && !!t?.isCharacterDevice() && t.rdev === (await stat('/dev/null')).rdev;
}

/** Every file in every event directory under both roots (a missing root is simply empty). */
export async function scanHooks(roots: Readonly<Record<keyof typeof HOOK_DIRS, string>> = HOOK_DIRS): Promise<FoundFile[]> {
  const out: FoundFile[] = [];
  for (const root of Object.keys(roots) as Array<keyof typeof HOOK_DIRS>) {
    const parents = [];
    for (const p of [roots[root], dirname(roots[root])]) {
      const s = await stat(p).catch(() => null);
      if (s) parents.push({ path: p, uid: s.uid, mode: s.mode });
    }
    for (const dir of (await readdir(roots[root]).catch(() => [] as string[])).sort()) {
      const dirPath = join(roots[root], dir);
      const ds = await stat(dirPath).catch(() => null);
      if (!ds?.isDirectory()) continue;
      for (const name of (await readdir(dirPath).catch(() => [] as string[])).sort()) {
        const path = join(dirPath, name);
        const masked = await isDevNullLink(path);
        const s = await stat(path).catch(() => null);
        if (!s) continue;
        out.push({
          root, dir, name, path, masked,
          executable: !masked && s.isFile() && (s.mode & 0o111) !== 0,
          uid: s.uid, mode: s.mode, dirUid: ds.uid, dirMode: ds.mode, parents,
        });
      }
    }
  }
  return out;
}

export async function readHookTimeout(): Promise<number> {
  return parseHookTimeout(await readFile(HOOKS_CONF, 'utf8').catch(() => null));
}

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
  env: Record<string, string>;
  timeoutS: number;
}

/** Runs one hook; throws with its exit code (or the timeout) on failure. */
/** Our stderr is a journal stream (we run as a systemd unit), per systemd's JOURNAL_STREAM device:inode. */
async function stderrIsJournal(): Promise<boolean> {
  const js = process.env.JOURNAL_STREAM;
  if (!js) return false;
  const s = await fstat(2).catch(() => null);
  return s !== null && js === `${s.dev}:${s.ino}`;
}

export async function runHook(h: HookRun): Promise<void> {
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
  const env = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', ...h.env };
  const child = spawn(h.path, [], { cwd: '/', env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const out = prefixer(h.name, sinks);
  const err = prefixer(h.name, sinks);
  child.stdout!.on('data', out.push);
  child.stderr!.on('data', err.push);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    // The whole group: a hook's children must not outlive it.
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }, h.timeoutS * 1000);
  const code = await new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c, sig) => resolve(c ?? (sig ? 128 : 1)));
  }).finally(() => clearTimeout(timer));
  out.end();
  err.end();
  jc?.stdin!.end();
  if (timedOut) throw new HookFailure(`hook ${h.path} did not finish within ${h.timeoutS} s and was killed with its children`, `killed after ${h.timeoutS} s`);
  if (code !== 0) throw new HookFailure(`hook ${h.path} exited ${code}`, `exit ${code}`);
  log.debug(`hook ${h.path}: ok`);
}
