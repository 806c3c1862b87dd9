import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  entryCmdline, entryFileName, entryId, layerCmdline, layerEntry, layerTitle, layerVersion, markerComment,
  osReleasePrettyName, ownedLayer, parseBls, renderBls, rootLvOf, splitCmdlineTokens,
} from '../../src/core/bls';
import { GRUB_STUB_VERSION, grubQuote, grubStubVersion, grubWord, renderGrubMenu, renderGrubStub } from '../../src/core/grub-script';
import { rpmvercmp } from '../../src/core/naming';
import { requiredTool } from './helpers/plan-fixtures';

const FEDORA = `title Fedora Linux (6.5.6-300.fc39.x86_64) 39 (Workstation Edition)
version 6.5.6-300.fc39.x86_64
linux /vmlinuz-6.5.6-300.fc39.x86_64
initrd /initramfs-6.5.6-300.fc39.x86_64.img
options root=UUID=1234 ro rhgb quiet
grub_users $grub_users
grub_arg --unrestricted
grub_class fedora
`;

function sample(layer = 'debian-12-1+2') {
  return layerEntry({
    layer,
    base: { version: '12', release: '1' },
    index: 2,
    vg: 'HostVG',
    prettyName: 'Debian GNU/Linux 12 (bookworm)',
    linux: '/imgbased/debian-12-1/vmlinuz-6.1.0-26-amd64',
    initrd: ['/imgbased/debian-12-1/initrd.img-6.1.0-26-amd64'],
    options: 'root=/dev/HostVG/debian-12-1+2 rd.lvm.lv=HostVG/debian-12-1+2 ro console=ttyS0 imgbased.layer=debian-12-1+2',
  });
}

describe('parse/render', () => {
  it('round-trips our entries exactly', () => {
    const e = sample();
    const text = renderBls(e);
    expect(parseBls(text)).toEqual(e);
    expect(renderBls(parseBls(text))).toBe(text);
    expect(text.split('\n')[0]).toBe('# imgbased: layer=debian-12-1+2');
    expect(text).toMatch(/^title .*\nversion 12-1\+2\nsort-key imgbased\nlinux .*\ninitrd .*\noptions .*\n$/m);
  });

  it('reads foreign entries with unknown keys and keeps their order on render', () => {
    const e = parseBls(FEDORA);
    expect(e.title).toBe('Fedora Linux (6.5.6-300.fc39.x86_64) 39 (Workstation Edition)');
    expect(e.initrd).toEqual(['/initramfs-6.5.6-300.fc39.x86_64.img']);
    expect(entryCmdline(e)).toBe('root=UUID=1234 ro rhgb quiet');
    expect(e.extra.map((x) => x.key)).toEqual(['grub_users', 'grub_arg', 'grub_class']);
    expect(renderBls(e)).toBe(FEDORA);
    expect(ownedLayer('fedora.conf', e)).toBeNull();
  });

  it('keeps multiple initrd and options lines, tolerates tabs, CRLF, blank lines', () => {
    const e = parseBls('title  x\r\n\n\tlinux\t/k\ninitrd /a\ninitrd /b\noptions a=1\noptions  b=2 \n');
    expect(e.title).toBe('x');
    expect(e.linux).toBe('/k');
    expect(e.initrd).toEqual(['/a', '/b']);
    expect(entryCmdline(e)).toBe('a=1 b=2');
  });

  it('never lets a value break out of its line', () => {
    const e = sample();
    e.title = 'evil\nlinux /pwned';
    const text = renderBls(e);
    expect(parseBls(text).linux).toBe('/imgbased/debian-12-1/vmlinuz-6.1.0-26-amd64');
    expect(parseBls(text).title).toBe('evil linux /pwned');
  });

  it('keeps weird titles verbatim', () => {
    for (const t of [`Bob's "OS" $HOME \\ \`x\` ;{}`, 'ünïcødé — 🐧', '#not a comment', '  spaces  ']) {
      const e = sample();
      e.title = t;
      expect(parseBls(renderBls(e)).title).toBe(t.trim());
    }
  });
});

describe('ownership', () => {
  it('needs the file name and the marker to agree', () => {
    const e = sample('X-1-0+1');
    expect(ownedLayer(entryFileName('X-1-0+1'), e)).toBe('X-1-0+1');
    expect(ownedLayer('imgbased-X-1-0_2.conf', e)).toBeNull();
    expect(ownedLayer('other.conf', e)).toBeNull();
    const noMarker = parseBls('title hand-made\nlinux /k\n');
    expect(ownedLayer('imgbased-X-1-0_1.conf', noMarker)).toBeNull();
    expect(entryId('X-1-0+1')).toBe('imgbased-X-1-0_1');
    expect(markerComment('X-1-0+1')).toBe('imgbased: layer=X-1-0+1');
  });
  it('never names a file like systemd boot counting (+LEFT[-DONE].conf)', () => {
    for (const l of ['X-1-0+1', 'a-b-1.2-3+10', 'Image-2.0-0+123']) {
      expect(entryFileName(l)).not.toMatch(/\+\d+(-\d+)?\.conf$/);
      expect(ownedLayer(entryFileName(l), parseBls(`# ${markerComment(l)}\ntitle t\n`))).toBe(l);
    }
  });
});

describe('layer cmdline', () => {
  const base = { vg: 'HostVG', layer: 'debian-12-1+2' };
  it('replaces root, rd.lvm.lv of the old root, keeps the rest in place', () => {
    expect(layerCmdline({ ...base, template: 'BOOT_IMAGE=/vmlinuz-6.1 root=/dev/mapper/HostVG-root ro rd.lvm.lv=HostVG/root rd.lvm.lv=HostVG/swap console=ttyS0 quiet' }))
      .toBe('root=/dev/HostVG/debian-12-1+2 ro rd.lvm.lv=HostVG/debian-12-1+2 rd.lvm.lv=HostVG/swap console=ttyS0 quiet imgbased.layer=debian-12-1+2 panic=10');
  });
  it('inserts when absent and replaces an older imgbased.layer', () => {
    expect(layerCmdline({ ...base, template: 'ro quiet imgbased.layer=latest' }))
      .toBe('root=/dev/HostVG/debian-12-1+2 rd.lvm.lv=HostVG/debian-12-1+2 ro quiet imgbased.layer=debian-12-1+2 panic=10');
    expect(layerCmdline({ ...base, template: '' }))
      .toBe('root=/dev/HostVG/debian-12-1+2 rd.lvm.lv=HostVG/debian-12-1+2 imgbased.layer=debian-12-1+2 panic=10');
  });
  it('is idempotent and drops other layers rd.lvm.lv', () => {
    const once = layerCmdline({ ...base, template: 'root=/dev/HostVG/debian-12-1+1 rd.lvm.lv=HostVG/debian-12-1+1 rd.lvm.lv=HostVG/debian-12-1 ro', imgbasedLvs: ['debian-12-1'] });
    expect(once).toBe('root=/dev/HostVG/debian-12-1+2 rd.lvm.lv=HostVG/debian-12-1+2 ro imgbased.layer=debian-12-1+2 panic=10');
    expect(layerCmdline({ ...base, template: once })).toBe(once);
  });
  it('keeps quoted arguments byte for byte', () => {
    expect(splitCmdlineTokens('a="b c" d  e')).toEqual(['a="b c"', 'd', 'e']);
    expect(layerCmdline({ ...base, template: 'foo="x y" ro' })).toContain('foo="x y" ro');
  });
  it('reads root LVs from /dev/VG/LV and /dev/mapper names', () => {
    expect(rootLvOf('/dev/HostVG/root', 'HostVG')).toBe('root');
    expect(rootLvOf('/dev/mapper/HostVG-root', 'HostVG')).toBe('root');
    expect(rootLvOf('/dev/mapper/my--vg-a--b', 'my-vg')).toBe('a-b');
    expect(rootLvOf('UUID=abc', 'HostVG')).toBeNull();
  });
});

describe('title, version, os-release', () => {
  it('takes PRETTY_NAME, unquoting', () => {
    expect(osReleasePrettyName('NAME="Debian GNU/Linux"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n')).toBe('Debian GNU/Linux 12 (bookworm)');
    expect(osReleasePrettyName('NAME=Foo\nVERSION="1 (x)"\n')).toBe('Foo 1 (x)');
    expect(osReleasePrettyName("PRETTY_NAME='A \"b\"'\n")).toBe('A "b"');
    expect(osReleasePrettyName('PRETTY_NAME="say \\"hi\\" \\$x"\n')).toBe('say "hi" $x');
    expect(osReleasePrettyName('')).toBeNull();
    expect(layerTitle(null, 'X-1-0+1')).toBe('imgbased X-1-0+1');
    expect(layerTitle('Debian 12', 'X-1-0+1')).toBe('Debian 12 (X-1-0+1)');
  });
  it('orders versions newest first under a version compare', () => {
    const vs = [
      layerVersion({ version: '4.3', release: '0.2' }, 1),
      layerVersion({ version: '4.3', release: '0.10' }, 1),
      layerVersion({ version: '4.3', release: '0.2' }, 10),
      layerVersion({ version: '4.3', release: '0.2' }, 2),
      layerVersion({ version: '4.10', release: '0.1' }, 1),
    ];
    const sorted = [...vs].sort((a, b) => -rpmvercmp(a, b));
    expect(sorted).toEqual(['4.10-0.1+1', '4.3-0.10+1', '4.3-0.2+10', '4.3-0.2+2', '4.3-0.2+1']);
  });
});

describe('grub rendering', () => {
  it('quotes like grub-mkconfig_lib', () => {
    expect(grubQuote("a'b")).toBe(`'a'\\''b'`);
    expect(grubQuote('$x "y" \\z')).toBe(`'$x "y" \\z'`);
    expect(grubWord('root=/dev/HostVG/x+1')).toBe('root=/dev/HostVG/x+1');
    expect(grubWord('a=$b')).toBe(`'a=$b'`);
    expect(grubWord('foo="x y"')).toBe(`'foo="x y"'`);
  });

  const evil = sample('X-1-0+2');
  evil.title = `It's "quoted" $HOME \\back\\ ; } { menuentry`;
  const entries = [
    { layer: 'X-1-0+2', entry: evil },
    { layer: 'X-1-0+1', entry: sample('X-1-0+1') },
  ];
  const menu = renderGrubMenu({ entries });
  const PREPARE = "insmod part_msdos\ninsmod ext2\nsearch --no-floppy --fs-uuid --set=root 1234";
  const stub = renderGrubStub({ bootPrefix: '', prepare: PREPARE, grubDir: 'grub', manageDefault: true });

  it('emits one menuentry per layer, newest first, with stable ids', () => {
    const ids = [...menu.matchAll(/--id '([^']+)'/g)].map((m) => m[1]);
    expect(ids).toEqual(['imgbased-X-1-0_2', 'imgbased-X-1-0_1']);
    expect(menu).toContain(`menuentry 'It'\\''s "quoted" $HOME \\back\\ ; } { menuentry' --class imgbased`);
    expect(menu).toContain("set imgbased_default='imgbased-X-1-0_2'");
  });

  it('menu entries reach /boot through the stub: its prepare function and boot prefix variable', () => {
    expect(menu).toContain('\timgbased_prepare\n');
    expect(menu).not.toContain('search');
    expect(menu).toContain('\tlinux "${imgbased_boot}"/imgbased/debian-12-1/vmlinuz-6.1.0-26-amd64 root=/dev/HostVG/debian-12-1+2');
    expect(menu).toContain('\tinitrd "${imgbased_boot}"/imgbased/debian-12-1/initrd.img-6.1.0-26-amd64\n');
    // The default block only runs when the stub allows it (GRUB_DEFAULT was 0 or saved at grub-mkconfig time).
    expect(menu).toContain('if [ "${imgbased_manage_default}" = 1 -a -z "${boot_once}" ]; then');
  });

  it('renders its header and a count without entries (a script of comments only fails grub-script-check)', () => {
    const m = renderGrubMenu({ entries: [] });
    expect(m.split('\n').filter(Boolean)).toEqual([expect.stringMatching(/^# imgbased: /), 'set imgbased_entries=0']);
  });

  it('stub: prepare lines in a function, boot prefix, default policy, sources the menu file when present', () => {
    expect(stub).toBe([
      `# imgbased-grub-stub v${GRUB_STUB_VERSION}: the imgbased layers' entries are in grub/imgbased.cfg, written by imgbase`,
      'function imgbased_prepare {',
      '\tinsmod part_msdos',
      '\tinsmod ext2',
      '\tsearch --no-floppy --fs-uuid --set=root 1234',
      '}',
      "set imgbased_boot=''",
      'set imgbased_manage_default=1',
      'set imgbased_saved_root="${root}"',
      'imgbased_prepare',
      'if [ -f "${imgbased_boot}/grub/imgbased.cfg" ]; then',
      '\tsource "${imgbased_boot}/grub/imgbased.cfg"',
      'fi',
      'set root="${imgbased_saved_root}"',
      '',
    ].join('\n'));
    expect(grubStubVersion(`### BEGIN /etc/grub.d/42_imgbased ###\n${stub}`)).toBe(GRUB_STUB_VERSION);
  });

  it('stub: /boot inside the root filesystem, grub2, explicit GRUB_DEFAULT, no prepare lines, quoting', () => {
    const s = renderGrubStub({ bootPrefix: '/boot', prepare: '', grubDir: 'grub2', manageDefault: false });
    expect(s).toContain("set imgbased_boot='/boot'\n");
    expect(s).toContain('\tsource "${imgbased_boot}/grub2/imgbased.cfg"\n');
    expect(s).toContain('set imgbased_manage_default=0\n');
    expect(s).toContain('function imgbased_prepare {\n\ttrue\n}\n');
    expect(renderGrubStub({ bootPrefix: "/it's $x", prepare: '', grubDir: 'grub', manageDefault: true })).toContain(`set imgbased_boot='/it'\\''s $x'\n`);
    expect(() => renderGrubStub({ bootPrefix: '', prepare: '', grubDir: '../x', manageDefault: true })).toThrow();
  });

  it('finds the stub version in grub.cfg', () => {
    expect(grubStubVersion('# imgbased-grub-stub v7: ...\n')).toBe(7);
    expect(grubStubVersion("menuentry 'x' --id 'imgbased-A-1-0_1' {\n}\n")).toBeNull();
    expect(grubStubVersion('# imgbased: entries omitted (imgbase boot --grub-stub failed)\n')).toBeNull();
    expect(grubStubVersion('echo "# imgbased-grub-stub v1"\n')).toBeNull();
  });

  it('menu file and stub pass grub-script-check', () => {
    const check = requiredTool('grub-script-check');
    const dir = mkdtempSync(join(tmpdir(), 'bls-'));
    try {
      writeFileSync(join(dir, 'menu.cfg'), menu);
      expect(() => execFileSync(check, [join(dir, 'menu.cfg')], { stdio: 'pipe' })).not.toThrow();
      writeFileSync(join(dir, 'stub.cfg'), stub);
      expect(() => execFileSync(check, [join(dir, 'stub.cfg')], { stdio: 'pipe' })).not.toThrow();
      // A deliberately broken script must fail, proving the check really parses.
      writeFileSync(join(dir, 'bad.cfg'), "menuentry 'x' {\n");
      expect(() => execFileSync(check, [join(dir, 'bad.cfg')], { stdio: 'ignore' })).toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
