// Both back ends of adapters/exec give the same results (userland: execa; initramfs: node's child_process).
import { afterAll, describe, expect, it } from 'vitest';
import { run, runInteractive, useSpawner } from '../../src/adapters/exec';
import { spawnExeca } from '../../src/adapters/spawn-execa';
import { spawnNode } from '../../src/adapters/spawn-node';

describe.each([
  ['execa', spawnExeca],
  ['child_process', spawnNode],
])('run() over %s', (_name, spawner) => {
  afterAll(() => useSpawner(spawnExeca));
  const use = () => useSpawner(spawner);

  it('collects stdout without the final newline, exit 0', async () => {
    use();
    expect(await run('printf', ['a\\nb\\n'])).toEqual({ stdout: 'a\nb', stderr: '', exitCode: 0 });
  });
  it('passes argv as is (no shell)', async () => {
    use();
    expect((await run('printf', ['%s', '$(echo hi); `x` *'])).stdout).toBe('$(echo hi); `x` *');
  });
  it('feeds input on stdin', async () => {
    use();
    expect((await run('cat', [], { input: 'in put' })).stdout).toBe('in put');
  });
  it('runs in the C locale and keeps the rest of the environment', async () => {
    use();
    const env = (await run('env', [], { env: { IMGBASED_T: '1' } })).stdout.split('\n');
    expect(env).toContain('LC_ALL=C');
    expect(env).toContain('IMGBASED_T=1');
    expect(env.some((l) => l.startsWith('PATH='))).toBe(true);
  });
  it('a non-zero exit throws with the last stderr line, or is returned with allowFail', async () => {
    use();
    await expect(run('ls', ['/nonexistent-imgbased'])).rejects.toThrow(/^ls \/nonexistent-imgbased failed: .*No such file/);
    const r = await run('ls', ['/nonexistent-imgbased'], { allowFail: true });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/No such file/);
  });
  it('interactive: its exit status, 128 + N for signal N, the locale left as it is', async () => {
    use();
    expect(await runInteractive('sh', ['-c', 'exit 3'])).toBe(3);
    expect(await runInteractive('sh', ['-c', 'kill -TERM $$'])).toBe(128 + 15);
    expect(await runInteractive('sh', ['-c', '[ "$IMGBASED_T" = 1 ] && [ "${LC_ALL:-}" != C ]'], { IMGBASED_T: '1' })).toBe(0);
  });
  it('a missing program is "command not found"', async () => {
    use();
    await expect(run('imgbased-no-such-tool', [])).rejects.toThrow('imgbased-no-such-tool: command not found');
  });
  it('a timeout kills the program and fails', async () => {
    use();
    const r = await run('sleep', ['5'], { timeoutMs: 200, allowFail: true });
    expect(r.exitCode).not.toBe(0);
  });
});
