// The userland's spawner (see spawn.ts). Every program is started through util-linux's setpriv with the
// parent-death signal SIGKILL: when imgbase is killed (kill -9, OOM), the copy, mkfs or chroot it was running dies
// with it instead of writing on after the lock is gone. (Programs those start are not covered: each is waited for.)
import { execa } from 'execa';
import type { SpawnOutcome, SpawnRequest } from './spawn';

const SETPRIV = 'setpriv';

export async function spawnExeca(req: SpawnRequest): Promise<SpawnOutcome> {
  const r = await execa(SETPRIV, ['--pdeathsig', 'KILL', '--', req.cmd, ...req.args], {
    input: req.input,
    env: req.env,
    extendEnv: false,
    reject: false,
    stripFinalNewline: true,
    timeout: req.timeoutMs,
    ...(req.interactive ? { stdio: 'inherit' as const } : { stderr: req.stderrInherit ? 'inherit' as const : 'pipe' as const }),
  });
  const stderr = String(r.stderr ?? '');
  // setpriv itself missing, or the program it was to run (it says so and exits 127).
  const notFound = (r as { code?: string }).code === 'ENOENT'
    || (r.exitCode === 127 && new RegExp(`^${SETPRIV}: failed to execute .*: No such file or directory$`, 'm').test(stderr));
  return {
    stdout: String(r.stdout ?? ''),
    stderr,
    exitCode: typeof r.exitCode === 'number' ? r.exitCode : null,
    notFound,
    failure: r.failed ? r.shortMessage : undefined,
    ...(r.signal ? { signal: r.signal } : {}),
  };
}
