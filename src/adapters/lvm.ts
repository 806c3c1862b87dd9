// Thin wrapper over the lvm2 tools. Every call is one argv array; the inventory is read with exactly one `lvs`.
import { ImgbasedError } from '../core/errors';
import { LVS_FIELDS, lvmJsonLogErrors, parseLvsJson, type LvRecord } from '../core/inventory';
import { run } from './exec';

/**
 * A reporting command with JSON output. Newer lvm (2.03.31) reports its errors in the JSON's command log, not on
 * stderr, so a failure names them from there (else the message would be the report's closing brace).
 */
async function lvmJson(args: string[]): Promise<string> {
  const r = await run('lvm', args, { allowFail: true });
  if (r.exitCode === 0) return r.stdout;
  const why = [...lvmJsonLogErrors(r.stdout), ...r.stderr.split('\n').map((l) => l.trim()).filter(Boolean).slice(-1)];
  throw new ImgbasedError(`lvm ${args[0]} failed: ${why.join('; ') || `exit ${r.exitCode}`}`);
}

export async function readLvRecords(): Promise<LvRecord[]> {
  return parseLvsJson(
    await lvmJson(['lvs', '--reportformat', 'json', '--units', 'b', '--nosuffix', '-a', '-o', LVS_FIELDS.join(',')]),
  );
}

/** The rows of one plain lvm report (pvs, lvs or vgs) with the named fields, each field as lvm prints it. */
export async function lvmReport(cmd: 'pvs' | 'lvs' | 'vgs', fields: readonly string[]): Promise<Array<Record<string, string>>> {
  const stdout = await lvmJson([cmd, '--reportformat', 'json', '-o', fields.join(',')]);
  const report = (JSON.parse(stdout) as { report: Array<Record<string, Array<Record<string, string>>>> }).report[0];
  return report?.[cmd.slice(0, -1)] ?? [];
}

export function lvPath(vg: string, lv: string): string {
  return `/dev/${vg}/${lv}`;
}

export async function activateLv(vg: string, lv: string, opts: { ignoreSkip?: boolean; sysinit?: boolean } = {}): Promise<void> {
  const args = ['lvchange', '-ay'];
  if (opts.ignoreSkip !== false) args.push('-K');
  if (opts.sysinit) args.push('--sysinit');
  await run('lvm', [...args, `${vg}/${lv}`]);
}

export async function deactivateLv(vg: string, lv: string): Promise<void> {
  await run('lvm', ['lvchange', '-an', `${vg}/${lv}`]);
}

function tagArgs(tags: readonly string[]): string[] {
  return tags.flatMap((t) => ['--addtag', t]);
}

/** A writable thin snapshot (no size: it shares the pool), skipped by plain `vgchange -ay`. */
export async function createThinSnapshot(vg: string, origin: string, name: string, tags: readonly string[]): Promise<void> {
  await run('lvm', [
    'lvcreate', '--snapshot', '--permission', 'rw', '--setactivationskip', 'y', '--name', name, ...tagArgs(tags),
    `${vg}/${origin}`,
  ]);
}

export async function createThinLv(
  vg: string, pool: string, name: string, sizeBytes: number, tags: readonly string[], autoActivate = false,
): Promise<void> {
  await run('lvm', [
    'lvcreate', '--type', 'thin', '--thinpool', pool, '--virtualsize', `${sizeBytes}b`, '--setactivationskip', autoActivate ? 'n' : 'y', '--name', name,
    ...tagArgs(tags), vg,
  ]);
}

export async function removeLv(vg: string, lv: string): Promise<void> {
  await run('lvm', ['lvremove', '-f', `${vg}/${lv}`]);
}

export async function addTag(vg: string, lv: string, tag: string): Promise<void> {
  await run('lvm', ['lvchange', '--addtag', tag, `${vg}/${lv}`]);
}

export async function delTag(vg: string, lv: string, tag: string): Promise<void> {
  await run('lvm', ['lvchange', '--deltag', tag, `${vg}/${lv}`]);
}

/** `drop` goes in the same metadata update: one of the two tags is on the VG at any time. */
export async function addVgTag(vg: string, tag: string, drop?: string): Promise<void> {
  await run('lvm', ['vgchange', '--addtag', tag, ...(drop ? ['--deltag', drop] : []), vg]);
}

export async function delVgTag(vg: string, tag: string): Promise<void> {
  await run('lvm', ['vgchange', '--deltag', tag, vg]);
}

export async function setReadOnly(vg: string, lv: string, readOnly: boolean): Promise<void> {
  await run('lvm', ['lvchange', '--permission', readOnly ? 'r' : 'rw', `${vg}/${lv}`]);
}

export async function setActivationSkip(vg: string, lv: string, on: boolean): Promise<void> {
  await run('lvm', ['lvchange', '--setactivationskip', on ? 'y' : 'n', `${vg}/${lv}`]);
}

export async function renameLv(vg: string, from: string, to: string): Promise<void> {
  await run('lvm', ['lvrename', vg, from, to]);
}
