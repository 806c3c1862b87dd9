// The userland's spawner (see spawn.ts).
import { execa } from 'execa';
import type { SpawnOutcome, SpawnRequest } from './spawn';

export async function spawnExeca(req: SpawnRequest): Promise<SpawnOutcome> {
  const r = await execa(req.cmd, req.args, {
    input: req.input,
    env: req.env,
    extendEnv: false,
    reject: false,
    stripFinalNewline: true,
    timeout: req.timeoutMs,
    stderr: req.stderrInherit ? 'inherit' : 'pipe',
  });
  return {
    stdout: String(r.stdout ?? ''),
    stderr: String(r.stderr ?? ''),
    exitCode: typeof r.exitCode === 'number' ? r.exitCode : null,
    notFound: (r as { code?: string }).code === 'ENOENT',
    failure: r.failed ? r.shortMessage : undefined,
  };
}
