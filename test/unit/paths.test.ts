// The sh generator, the udev rule and the TypeScript halves must agree on the paths they share (core/paths).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT_ALIAS, ROOT_ALIAS_LINK, ROOT_MARKER_PREFIX, RUN_DIR, BOOT_STATUS_PATH, LOCK_DIR, MOUNT_DIR, MOTD_SCRIPT } from '../../src/core/paths';
import { INSTALL_FILES } from '../../src/core/install';

const dracut = (f: string): string => readFileSync(join(__dirname, '../../dracut/90imgbased', f), 'utf8');

describe('shared paths', () => {
  it('the generator mounts the alias the rule creates', () => {
    expect(dracut('imgbased-generator')).toContain(`What=${ROOT_ALIAS}`);
    const rule = dracut('90-imgbased-root.rules').split('\n').filter((l) => l.trim() && !l.startsWith('#'));
    expect(rule.join('\n')).toContain(`SYMLINK+="${ROOT_ALIAS_LINK}"`);
    expect(rule.join('\n')).toContain(`TEST=="${ROOT_MARKER_PREFIX}%k"`);
    expect(`/dev/${ROOT_ALIAS_LINK}`).toBe(ROOT_ALIAS);
  });
  it('runtime state lives under one /run directory (emptied by a power cut)', () => {
    for (const p of [BOOT_STATUS_PATH, LOCK_DIR, MOUNT_DIR, ROOT_MARKER_PREFIX]) expect(p.startsWith(`${RUN_DIR}/`)).toBe(true);
  });
  it('the generator unit escapes the alias the way systemd names its device unit', () => {
    // dev-imgbased-root.device: systemd-escape --path of the alias, as written in the generator.
    expect(dracut('imgbased-generator')).toContain(ROOT_ALIAS.slice(1).replace(/\//g, '-'));
  });
  it('the login message script is the one build/install installs and install copies into a new layer', () => {
    const name = MOTD_SCRIPT.split('/').pop()!;
    const script = readFileSync(join(__dirname, '../../motd', name), 'utf8');
    expect(script).toMatch(/^\[ -x \/usr\/sbin\/imgbase \] && timeout \d+ \/usr\/sbin\/imgbase motd/m);
    expect(readFileSync(join(__dirname, '../../build/install'), 'utf8')).toContain('/etc/update-motd.d/');
    expect(INSTALL_FILES).toContain(MOTD_SCRIPT);
  });
});
