// Running a command in a chroot of a guest tree on the host, with fresh proc/sysfs and a tmpfs /dev (never the
// host's /dev: removing a tree with a bind-mounted /dev would delete host device nodes).
import { execa } from 'execa';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';

function mountsUnder(dir: string): string[] {
  const root = path.resolve(dir);
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .map((p) => p.replace(/\\040/g, ' '))
    .filter((p) => p === root || p.startsWith(`${root}/`))
    .sort((a, b) => b.length - a.length);
}

async function umountAll(dir: string): Promise<void> {
  for (const m of mountsUnder(dir)) await execa('umount', ['-l', m], { reject: false });
  const left = mountsUnder(dir);
  if (left.length) throw new Error(`lab: still mounted under ${dir}: ${left.join(', ')}`);
}

/** rm -rf that first unmounts anything mounted below `dir` and refuses if that fails. */
export async function safeRm(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  await umountAll(dir);
  rmSync(dir, { recursive: true, force: true });
}

export async function inChroot<T>(tree: string, fn: (run: (argv: string[]) => Promise<string>) => Promise<T>): Promise<T> {
  const dev = path.join(tree, 'dev');
  try {
    await execa('mount', ['-t', 'proc', 'proc', path.join(tree, 'proc')]);
    await execa('mount', ['-t', 'sysfs', 'sysfs', path.join(tree, 'sys')]);
    await execa('mount', ['-t', 'tmpfs', '-o', 'mode=0755', 'labdev', dev]);
    const nodes: Array<[string, number, number, string]> = [
      ['null', 1, 3, '666'], ['zero', 1, 5, '666'], ['full', 1, 7, '666'], ['random', 1, 8, '666'],
      ['urandom', 1, 9, '666'], ['tty', 5, 0, '666'], ['console', 5, 1, '600'], ['kmsg', 1, 11, '644'],
    ];
    for (const [n, maj, min, mode] of nodes) await execa('mknod', ['-m', mode, path.join(dev, n), 'c', String(maj), String(min)]);
    mkdirSync(path.join(dev, 'pts'));
    mkdirSync(path.join(dev, 'shm'));
    await execa('ln', ['-s', '/proc/self/fd', path.join(dev, 'fd')]);
    return await fn(async (argv) => {
      const r = await execa('chroot', [tree, ...argv], { all: true, reject: false, env: { LC_ALL: 'C' } });
      if (r.exitCode !== 0) throw new Error(`lab: chroot ${argv.join(' ')} failed (rc ${r.exitCode}):\n${String(r.all).slice(-4000)}`);
      return String(r.all);
    });
  } finally {
    await umountAll(tree);
  }
}
