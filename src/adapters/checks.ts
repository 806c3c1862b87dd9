// Health checks: executables in check.d/{required,wanted}/ under /usr/lib/imgbased and /etc/imgbased (the same
// rules as hooks: /etc replaces a same-named /usr/lib check, a symlink to /dev/null masks, names other than
// [A-Za-z0-9_-]+ are skipped, unsafe owners or modes are refused and count as failed). Each runs as a hook does
// (runHook: the checked open file, a fixed environment, a hard timeout); its output goes to the journal tagged
// imgbased-check.
import { readFile } from 'node:fs/promises';
import { BOOT_CONF, parseBootConfig, type BootConfig } from '../core/boot-config';
import type { CheckResult } from '../core/assess';
import { resolveDirs } from '../core/hooks';
import { ImgbasedError } from '../core/errors';
import { run } from './exec';
import { HookFailure, runHook, scanHooks } from './hooks';
import { log } from './log';

export const CHECK_DIRS = { usr: '/usr/lib/imgbased/check.d', etc: '/etc/imgbased/check.d' } as const;

export async function readBootConfig(): Promise<BootConfig> {
  const text = await readFile(BOOT_CONF, 'utf8').catch(() => null);
  try {
    return parseBootConfig(text);
  } catch (e) {
    throw new ImgbasedError((e as Error).message, { hint: `fix ${BOOT_CONF} (see README "Boot counting")` });
  }
}

export async function runChecks(env: Record<string, string>, timeoutS: number, roots: Record<keyof typeof CHECK_DIRS, string> = CHECK_DIRS): Promise<CheckResult[]> {
  const found = await scanHooks(roots);
  const out: CheckResult[] = [];
  for (const kind of ['required', 'wanted'] as const) {
    for (const c of resolveDirs(found, [kind])) {
      if (c.status === 'skipped') log.info(`health check ${c.path} skipped: ${c.why}`);
      if (c.status === 'masked' || c.status === 'replaced' || c.status === 'skipped') continue;
      const t0 = Date.now();
      if (c.status === 'refused') {
        out.push({ name: c.name, kind, ok: false, why: `refused: ${c.why}`, seconds: 0 });
        log.warn(`health check ${c.path} refused: ${c.why}`);
        continue;
      }
      let why: string | null = null;
      try {
        await runHook({ tag: 'imgbased-check', name: c.name, path: c.path, env: { ...env, IMGBASED_CHECK: kind }, timeoutS });
      } catch (e) {
        why = e instanceof HookFailure ? e.short : (e as Error).message;
      }
      const seconds = Math.round((Date.now() - t0) / 100) / 10;
      out.push({ name: c.name, kind, ok: why === null, why, seconds });
      log.info(`health check ${kind}/${c.name}: ${why === null ? 'passed' : `FAILED (${why})`} in ${seconds} s`);
    }
  }
  return out;
}

/** Units systemd reports failed (ours excluded: it is still running). */
export async function failedUnits(self: string): Promise<string[]> {
  const r = await run('systemctl', ['list-units', '--failed', '--plain', '--no-legend', '--no-pager'], { allowFail: true });
  if (r.exitCode !== 0) return [];
  return r.stdout.split('\n').map((l) => l.trim().split(/\s+/)[0] ?? '').filter((u) => u !== '' && u !== self);
}
