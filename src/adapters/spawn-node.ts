// The initramfs's spawner (see spawn.ts): node's child_process, no shell, output collected as text.
import { spawn } from 'node:child_process';
import type { SpawnOutcome, SpawnRequest } from './spawn';

export function spawnNode(req: SpawnRequest): Promise<SpawnOutcome> {
  return new Promise((resolve) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let spawnError: NodeJS.ErrnoException | undefined;
    const child = spawn(req.cmd, req.args, {
      env: req.env,
      shell: false,
      stdio: req.interactive ? 'inherit' : [req.input === undefined ? 'ignore' : 'pipe', 'pipe', req.stderrInherit ? 'inherit' : 'pipe'],
      timeout: req.timeoutMs,
    });
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => {
      spawnError = e;
    });
    if (req.input !== undefined) child.stdin?.end(req.input);
    child.on('close', (code, signal) => {
      const text = (b: Buffer[]): string => Buffer.concat(b).toString('utf8').replace(/\r?\n$/, '');
      resolve({
        stdout: text(out),
        stderr: text(err),
        exitCode: spawnError ? null : code,
        notFound: spawnError?.code === 'ENOENT',
        failure: spawnError ? spawnError.message : signal ? `killed by ${signal}` : undefined,
        ...(signal ? { signal } : {}),
      });
    });
  });
}
