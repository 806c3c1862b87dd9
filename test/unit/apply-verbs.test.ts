// Every write verb's plan carried out by the real applier (adapters/apply and the step functions it calls) against
// a recording fake of the machine (helpers/fake-system): what reached the system, in order. LVM commands, the
// filesystem tools, mounts, GRUB's tools and `sync` go to the fake; /boot is a temporary directory the steps write for
// real, and each change to it shows in the transcript before the next command. Then the system the verb left is
// read back through the fake (`lvm lvs`) and must give `check --repair` nothing to do.
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { entryId } from '../../src/core/bls';
import { TAGS } from '../../src/core/inventory';
import { MOUNT_DIR } from '../../src/core/paths';
import { planSync } from '../../src/core/plans/verbs';
import { applyPlan } from '../../src/adapters/apply';
import { useSpawner } from '../../src/adapters/exec';
import { readLvRecords } from '../../src/adapters/lvm';
import { spawnExeca } from '../../src/adapters/spawn-execa';
import { BASE_FSTAB, MACHINES, NVR, VERBS, type Machine } from './helpers/host';
import { planInput, tempDirs } from './helpers/plan-fixtures';

// withMounted makes its mount points under core/paths' MOUNT_DIR (/run/imgbased/mnt): a temporary one here.
vi.mock('../../src/core/paths', (orig) => import('./helpers/temp-mount').then((m) => m.tempMountDir(orig)));

const tmp = tempDirs();
afterEach(() => useSpawner(spawnExeca));
afterAll(() => rmSync(MOUNT_DIR, { recursive: true, force: true }));

/** One transcript line per line of the text, indentation and blank lines dropped. */
const lines = (text: string): string[] => text.split('\n').map((l) => l.trim()).filter(Boolean);

/** A menu file written through grub-script-check: the checker sees the temporary file, which then replaces it. */
const MENU = (blockBefore: string, change = '~'): string => `
  + $BOOT/grub/.imgbased.cfg.tmp-PID
  ${blockBefore}
  grub-script-check $BOOT/grub/.imgbased.cfg.tmp-PID
  ${change} $BOOT/grub/imgbased.cfg
  - $BOOT/grub/.imgbased.cfg.tmp-PID`;

/** The host's leftover temporary files, removed. */
const TEMPS = `
  - $BOOT/imgbased/E-5-0.tmp-PID/
  - $BOOT/loader/entries/.imgbased-B-2-0_3.conf.tmp-PID`;
const UNSET = (...keys: string[]): string => keys.map((k) => `grub-editenv $BOOT/grub/grubenv unset ${k}\n~ $BOOT/grub/grubenv`).join('\n');
/** LVs removed (deactivated first). */
const GONE = (...lvs: string[]): string => lvs.map((l) => `lvm lvchange -an HostVG/${l}\nlvm lvremove -f HostVG/${l}`).join('\n');
/** Files of a kernel copy directory on /boot added (+) or removed (-); the directory itself too unless `dir` is false. */
const COPY = (sign: '+' | '-', owner: string, files: string[], dir = true): string =>
  [...(dir ? [''] : []), ...files].map((f) => `${sign} $BOOT/imgbased/${owner}/${f}`).join('\n');
const BASE_KERNEL = ['initrd.img-6.1.0-5-amd64', 'os-release', 'vmlinuz-6.1.0-5-amd64'];
const LAYER_KERNEL = ['initrd.img-6.8.0-1-amd64', 'vmlinuz-6.8.0-1-amd64'];
const NEW_KERNEL = ['initrd.img-6.9.0-1-amd64', 'os-release', 'vmlinuz-6.9.0-1-amd64'];

/**
 * What every write on the host starts with: the leftovers removed; the interrupted removal of B-2-0+2 finished
 * (its entry and next_entry go, /boot flushed, then the LV), the half-made C-3-0 removed.
 */
const REPAIR = `
  ${MENU(`${TEMPS}\n- $BOOT/loader/entries/imgbased-B-2-0_2.conf`)}
  ${UNSET('next_entry')}
  sync -f $BOOT
  ${GONE('B-2-0+2', 'C-3-0')}`;

/** A new layer: a snapshot tagged incomplete, its own filesystem UUID, its fstab's / pointed at it; left inactive. */
const LAYER = (name: string, origin: string): string => `
  lvm lvcreate --snapshot --permission rw --setactivationskip y --name ${name} --addtag imgbased:layer --addtag imgbased:incomplete HostVG/${origin}
  lvm lvchange -ay -K HostVG/${name}
  e2fsck -p /dev/HostVG/${name}
  tune2fs -O metadata_csum_seed -U random /dev/HostVG/${name}
  mount -o rw /dev/HostVG/${name} $MNT
  umount $MNT
  ~ HostVG/${name}:/etc/fstab
  lvm lvchange -an HostVG/${name}`;

/** layer --add after the repair: the layer made (and its base's kernel copied) before its entry and menu line. */
const LAYER_ADD = (name: string, origin: string, kernelCopy = ''): string => `${REPAIR}
  ${LAYER(name, origin)}
  ${kernelCopy}
  lvm lvchange --deltag imgbased:incomplete HostVG/${name}
  ${MENU(`+ $BOOT/loader/entries/${entryId(name)}.conf`)}
  sync -f $BOOT`;

/** A base's kernel copied to /boot from inside the base, mounted read-only. */
const KERNEL_COPY = (base: string, also = ''): string => `
  lvm lvchange -ay -K HostVG/${base}
  mount -o ro /dev/HostVG/${base} $MNT
  ${also}
  ${COPY('+', base, BASE_KERNEL)}
  umount $MNT
  lvm lvchange -an HostVG/${base}`;

interface Case {
  /** The transcript without blkid and dumpe2fs (they only read). */
  changes: string;
  /** What the verb left, beyond the transcript. */
  left?: (m: Machine) => void;
}

const CASES: Record<string, Case> = {
  'layout --init': {
    changes: `
      - $BOOT/grub/.imgbased.cfg.tmp-PID
      lvm vgchange --addtag imgbased:vg HostVG
      lvm lvchange --addtag imgbased:pool HostVG/pool
      lvm lvchange --addtag imgbased:init HostVG/root
      lvm lvchange -an HostVG/${NVR}
      lvm lvremove -f HostVG/${NVR}
      lvm lvcreate --snapshot --permission rw --setactivationskip y --name ${NVR} --addtag imgbased:base --addtag imgbased:incomplete HostVG/root
      lvm lvchange -ay -K HostVG/${NVR}
      e2fsck -p /dev/HostVG/${NVR}
      tune2fs -O metadata_csum_seed -U random /dev/HostVG/${NVR}
      lvm lvchange -an HostVG/${NVR}
      lvm lvchange --permission r HostVG/${NVR}
      ${LAYER(`${NVR}+1`, NVR)}
      ${KERNEL_COPY(NVR, '+ $BOOT/imgbased/')}
      lvm lvchange --deltag imgbased:incomplete HostVG/${NVR}
      lvm lvchange --deltag imgbased:incomplete HostVG/${NVR}+1
      ${MENU(`+ $BOOT/loader/
        + $BOOT/loader/entries/
        + $BOOT/loader/entries/imgbased-${NVR}_1.conf`, '+')}
      grub-mkconfig -o $BOOT/grub/grub.cfg
      ~ $BOOT/grub/grub.cfg
      sync -f $BOOT`,
    left: (m) => {
      const recs = new Map(m.fake.records().map((r) => [r.name, r]));
      expect(recs.get(NVR)).toMatchObject({ tags: [TAGS.base], readOnly: true, active: false, vgTags: [TAGS.vg] });
      expect(recs.get(`${NVR}+1`)).toMatchObject({ tags: [TAGS.layer], readOnly: false, active: false, skipActivation: true });
      // Three filesystems, three UUIDs: the running root's, the base's and the layer's.
      expect(new Set(['root', NVR, `${NVR}+1`].map((l) => m.fake.fsUuid(l))).size).toBe(3);
      expect(m.fake.file(NVR, 'etc/fstab')).toBe(BASE_FSTAB);
      expect(m.fake.file(`${NVR}+1`, 'etc/fstab')).toBe(`/dev/HostVG/${NVR}+1 / ext4 errors=remount-ro 0 1\n`);
    },
  },
  'base --add (empty)': {
    changes: `${REPAIR}
      lvm lvcreate --type thin --thinpool pool --virtualsize 4294967296b --setactivationskip y --name D-4-0 --addtag imgbased:base --addtag imgbased:incomplete HostVG
      lvm lvchange -ay -K HostVG/D-4-0
      lvm lvchange -an HostVG/D-4-0
      lvm lvchange --permission r HostVG/D-4-0
      lvm lvchange --deltag imgbased:incomplete HostVG/D-4-0`,
    left: (m) => expect(m.fake.fsUuid('D-4-0')).toBeNull(),
  },
  'base --add --from (retry)': {
    changes: `${REPAIR}
      lvm lvcreate --type thin --thinpool pool --virtualsize 4294967296b --setactivationskip y --name C-3-0 --addtag imgbased:base --addtag imgbased:incomplete HostVG
      lvm lvchange -ay -K HostVG/C-3-0
      e2image -ra $TMP/C-3-0.img /dev/HostVG/C-3-0
      e2fsck -fp /dev/HostVG/C-3-0
      resize2fs /dev/HostVG/C-3-0
      e2fsck -p /dev/HostVG/C-3-0
      tune2fs -O metadata_csum_seed -U random /dev/HostVG/C-3-0
      lvm lvchange -an HostVG/C-3-0
      lvm lvchange --permission r HostVG/C-3-0
      lvm lvchange --deltag imgbased:incomplete HostVG/C-3-0`,
    left: (m) => {
      expect(m.fake.records().find((r) => r.name === 'C-3-0')).toMatchObject({ tags: [TAGS.base], readOnly: true, active: false });
      expect(m.fake.file('C-3-0', 'etc/os-release')).toBe('PRETTY_NAME="Test OS C-3-0"\n');
      // A second base --from the same image must not share its filesystem UUID.
      expect(m.fake.fsUuid('C-3-0')).not.toBe('uuid-image');
    },
  },
  'base --remove': {
    changes: `${TEMPS}
      lvm lvchange --addtag imgbased:incomplete HostVG/A-1-0+2
      lvm lvchange --addtag imgbased:incomplete HostVG/A-1-0+1
      lvm lvchange --addtag imgbased:incomplete HostVG/A-1-0
      ${MENU(`- $BOOT/loader/entries/imgbased-A-1-0_1.conf
        - $BOOT/loader/entries/imgbased-A-1-0_2.conf
        - $BOOT/loader/entries/imgbased-B-2-0_2.conf`)}
      ${UNSET('saved_entry', 'next_entry')}
      sync -f $BOOT
      ${GONE('B-2-0+2', 'C-3-0', 'A-1-0+2', 'A-1-0+1', 'A-1-0')}
      ${COPY('-', 'A-1-0', BASE_KERNEL)}
      ${COPY('-', 'A-1-0+2', LAYER_KERNEL)}
      sync -f $BOOT`,
  },
  'layer --add': {
    changes: LAYER_ADD('E-5-0+1', 'E-5-0', KERNEL_COPY('E-5-0')),
    left: (m) => {
      expect(m.fake.records().find((r) => r.name === 'E-5-0+1')).toMatchObject({ tags: [TAGS.layer], origin: 'E-5-0', readOnly: false, active: false });
      expect(m.fake.fsUuid('E-5-0+1')).not.toBe(m.fake.fsUuid('E-5-0'));
      expect(m.fake.file('E-5-0+1', 'etc/fstab')).toBe('/dev/HostVG/E-5-0+1 / ext4 errors=remount-ro 0 1\n');
      expect(m.fake.file('E-5-0', 'etc/fstab')).toBe(BASE_FSTAB);
      expect(readFileSync(join(m.boot.boot, 'loader/entries/imgbased-E-5-0_1.conf'), 'utf8')).toContain('linux /imgbased/E-5-0/vmlinuz-6.1.0-5-amd64\n');
    },
  },
  'layer --add BASE': {
    changes: LAYER_ADD('A-1-0+3', 'A-1-0'),
  },
  'layer --add LAYER': {
    changes: LAYER_ADD('B-2-0+3', 'B-2-0+1'),
    left: (m) => expect(m.fake.records().find((r) => r.name === 'B-2-0+3')).toMatchObject({ origin: 'B-2-0+1' }),
  },
  'layer --remove': {
    changes: `${TEMPS}
      lvm lvchange --addtag imgbased:incomplete HostVG/A-1-0+2
      ${MENU(`- $BOOT/loader/entries/imgbased-A-1-0_2.conf
        - $BOOT/loader/entries/imgbased-B-2-0_2.conf`)}
      ${UNSET('saved_entry', 'next_entry')}
      sync -f $BOOT
      ${GONE('B-2-0+2', 'C-3-0', 'A-1-0+2')}
      ${COPY('-', 'A-1-0+2', LAYER_KERNEL)}
      sync -f $BOOT`,
  },
  'boot --set-default': {
    changes: `${REPAIR}
      grub-editenv $BOOT/grub/grubenv set saved_entry=imgbased-B-2-0_1
      ~ $BOOT/grub/grubenv
      sync -f $BOOT`,
  },
  'boot --set-default latest': {
    changes: `${REPAIR}
      ${UNSET('saved_entry')}
      sync -f $BOOT`,
  },
  'boot --next': {
    changes: `${REPAIR}
      grub-editenv $BOOT/grub/grubenv set next_entry=imgbased-A-1-0_1
      ~ $BOOT/grub/grubenv
      sync -f $BOOT`,
  },
  'boot --sync / check --repair': { changes: REPAIR },
  'kernel-install add': {
    changes: `${REPAIR}
      ${MENU(`${COPY('+', 'A-1-0+1', NEW_KERNEL)}
        ~ $BOOT/loader/entries/imgbased-A-1-0_1.conf`)}
      sync -f $BOOT
      ${COPY('-', 'A-1-0', BASE_KERNEL)}
      sync -f $BOOT`,
  },
  'kernel-install add (update)': {
    changes: `${REPAIR}
      ${MENU(`${COPY('+', 'A-1-0+2', NEW_KERNEL, false)}
        ~ $BOOT/loader/entries/imgbased-A-1-0_2.conf`)}
      sync -f $BOOT
      ${COPY('-', 'A-1-0+2', LAYER_KERNEL, false)}
      sync -f $BOOT`,
  },
  'kernel-install remove': {
    changes: `${REPAIR}
      ${MENU('~ $BOOT/loader/entries/imgbased-A-1-0_2.conf')}
      sync -f $BOOT
      ${COPY('-', 'A-1-0+2', LAYER_KERNEL)}
      sync -f $BOOT`,
  },
};

describe.each(VERBS)('$name, applied to a recording fake of the system', (v) => {
  it('reaches the system in plan order and leaves nothing for check --repair', async () => {
    const c = CASES[v.name]!;
    const m = await MACHINES[v.on](tmp(), 'lv');
    await applyPlan(v.plan(m).steps, { grubScriptCheck: 'grub-script-check', editenv: 'grub-editenv' });
    expect(m.fake.changes()).toEqual(lines(c.changes));
    c.left?.(m);
    // The system as the next command reads it: no LV half made, and /boot matches the layers.
    const records = await readLvRecords();
    expect(records.filter((r) => r.tags.includes(TAGS.incomplete)).map((r) => r.name)).toEqual([]);
    expect(planSync(await planInput(m.boot.boot, records, m.kernels, { grubDDir: m.boot.grubDDir })).steps).toEqual([]);
  });
});
