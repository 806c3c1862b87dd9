// adapters/lvm's reporting commands against a fake lvm: lvm 2.03.31 (Debian 13) reports a failing lvs/pvs in the
// JSON's command log on stdout, lvm 2.03.16 (Debian 12) on stderr; the error names the cause either way.
import { afterEach, describe, expect, it } from 'vitest';
import { useSpawner } from '../../src/adapters/exec';
import { lvmReport, readLvRecords } from '../../src/adapters/lvm';
import { spawnExeca } from '../../src/adapters/spawn-execa';

afterEach(() => useSpawner(spawnExeca));

function lvmAnswers(stdout: string, stderr: string, exitCode: number): void {
  useSpawner(async () => ({ stdout, stderr, exitCode, notFound: false }));
}

const LOGGED_FAILURE = JSON.stringify({
  report: [{ pv: [] }],
  log: [
    { log_seq_num: '1', log_type: 'status', log_message: '' },
    { log_seq_num: '2', log_type: 'error', log_context: 'processing', log_message: '/run/lock/lvm/P_global:aux: open failed: Permission denied' },
  ],
});

describe('lvm reporting commands', () => {
  it('a failure logged in the JSON (lvm 2.03.31) is named in the error', async () => {
    lvmAnswers(LOGGED_FAILURE, '  WARNING: Running as a non-root user.\n', 5);
    await expect(lvmReport('pvs', ['pv_name'])).rejects.toThrow(/lvm pvs failed: .*open failed: Permission denied/);
    await expect(readLvRecords()).rejects.toThrow(/lvm lvs failed: .*open failed: Permission denied/);
  });

  it('a failure on stderr (lvm 2.03.16) is named as before', async () => {
    lvmAnswers('', '  Volume group "NoVG" not found\n', 5);
    await expect(readLvRecords()).rejects.toThrow('lvm lvs failed: Volume group "NoVG" not found');
  });

  it('success with and without the log section', async () => {
    const row = { lv_name: 'root', vg_name: 'HostVG', lv_attr: 'Vwi-aotz--' };
    lvmAnswers(JSON.stringify({ report: [{ lv: [row] }], log: [] }), '', 0);
    expect((await readLvRecords()).map((r) => r.name)).toEqual(['root']);
    lvmAnswers(JSON.stringify({ report: [{ pv: [{ pv_name: '/dev/vda2' }] }] }), '', 0);
    expect(await lvmReport('pvs', ['pv_name'])).toEqual([{ pv_name: '/dev/vda2' }]);
  });
});
