// Shared by the initrd VM tests and the initrd benchmark: a host with 2 bases and 4 layers, one of them broken,
// made in a first boot of the lab's project disk; and the probe every later boot runs.
//
//   host-1.0-1   (base, read-only)   host-1.0-1+1   host-1.0-1+2
//   host-2.0-1   (base, read-only)   host-2.0-1+1 (filesystem corrupted)   host-2.0-1+2 (newest)
//
// Each layer carries /etc/lab-layer with its own name, so a boot proves which layer became / from inside it.

export const VG = 'HostVG';
export const BASES = ['host-1.0-1', 'host-2.0-1'] as const;
export const LAYERS = ['host-1.0-1+1', 'host-1.0-1+2', 'host-2.0-1+1', 'host-2.0-1+2'] as const;
export const MIDDLE = 'host-1.0-1+2';
export const BROKEN = 'host-2.0-1+1';
export const NEWEST = 'host-2.0-1+2';

/** dm name of an LV (dashes doubled), as /sys/dev/block/N:M/dm/name shows it. */
export function dm(lv: string, vg = VG): string {
  return `${vg.replace(/-/g, '--')}-${lv.replace(/-/g, '--')}`;
}

/**
 * First boot (stock root=/dev/HostVG/root): tags like imgbased does, bases as read-only thin snapshots, layers as
 * writable thin snapshots with activation skip, then breaks BROKEN's filesystem (zeroed group descriptors: the
 * superblock still says ext4, but it does not mount). Also proves the binary in the initramfs is unstripped.
 */
export const SETUP_SCRIPT = String.raw`set -euxo pipefail
vg=${VG}
kver=$(uname -r)
mark strip-tool "$(command -v strip || command -v eu-strip || echo none)"
# The binary inside the initramfs must be byte-identical to the installed one (dracut's strip step skipped it).
a=$(lsinitrd -f usr/sbin/imgbase "/boot/initrd.img-$kver" | sha256sum | cut -d' ' -f1)
b=$(sha256sum /usr/sbin/imgbase | cut -d' ' -f1)
mark initrd-imgbase-identical "$([ "$a" = "$b" ] && echo yes || echo "no:$a:$b")"
lsinitrd "/boot/initrd.img-$kver" >"$LAB_OUT/lsinitrd.txt" 2>&1 || true
mark initrd-has-module "$(grep -c -E 'imgbased-generator|imgbased-select.service' "$LAB_OUT/lsinitrd.txt" || true)"
mark initrd-cmdline-d "$(grep -c 'etc/cmdline.d/.*conf' "$LAB_OUT/lsinitrd.txt" || true)"
mark initrd-bytes "$(stat -c %s "/boot/initrd.img-$kver")"

vgchange --addtag imgbased:vg $vg
lvchange --addtag imgbased:pool $vg/pool
sync
lvcreate -qq -s -n ${BASES[0]} --setactivationskip y --addtag imgbased:base $vg/root
lvchange -qq -p r $vg/${BASES[0]}
for l in ${LAYERS[0]} ${LAYERS[1]}; do
  lvcreate -qq -s -n "$l" --setactivationskip y --addtag imgbased:layer $vg/${BASES[0]}
done
lvcreate -qq -s -n ${BASES[1]} --setactivationskip y --addtag imgbased:base $vg/${LAYERS[1]}
lvchange -qq -p r $vg/${BASES[1]}
for l in ${LAYERS[2]} ${LAYERS[3]}; do
  lvcreate -qq -s -n "$l" --setactivationskip y --addtag imgbased:layer $vg/${BASES[1]}
done
mkdir -p /mnt/l
for l in ${LAYERS.join(' ')}; do
  lvchange -qq -ay -K "$vg/$l"
  mount "/dev/$vg/$l" /mnt/l
  echo "$l" >/mnt/l/etc/lab-layer
  umount /mnt/l
done
# Break ${BROKEN}: zero its group descriptor table (block 1 of a 4 KiB-block ext4).
bs=$(dumpe2fs -h /dev/$vg/${BROKEN} 2>/dev/null | awk -F': *' '/^Block size/ {print $2}')
dd if=/dev/zero of=/dev/$vg/${BROKEN} bs="$bs" seek=1 count=1 conv=notrunc,fsync status=none
mark broken-blkid "$(blkid -p -o value -s TYPE /dev/$vg/${BROKEN} || true)"
if mount -o ro /dev/$vg/${BROKEN} /mnt/l 2>/dev/null; then umount /mnt/l; mark broken-mounts yes; else mark broken-mounts no; fi
for l in ${LAYERS.join(' ')}; do lvchange -qq -an "$vg/$l"; done
lvs -o lv_name,lv_attr,origin,lv_tags --noheadings $vg | tee "$LAB_OUT/lvs.txt"
mark layers "$(lvs --noheadings -o lv_name -S 'lv_tags=imgbased:layer' $vg | xargs)"
sync
`;

/** Every later boot: which LV is /, which layer it says it is, what imgbased recorded and logged, boot times. */
export const PROBE_SCRIPT = String.raw`set -uo pipefail
rootdev=$(mountpoint -d /)
mark root-dm "$(cat /sys/dev/block/$rootdev/dm/name 2>/dev/null || echo none)"
mark layer-id "$(cat /etc/lab-layer 2>/dev/null || echo none)"
mark root-rw "$(findmnt -no OPTIONS / | cut -d, -f1)"
status() { imgbase boot --status "$@" 2>/dev/null || imgbase initrd status "$@"; }
status --json >"$LAB_OUT/status.json" 2>"$LAB_OUT/status.err"; mark status-rc $?
status >"$LAB_OUT/status.txt" 2>&1
cp /run/imgbased/boot-status.json "$LAB_OUT/boot-status.raw.json" 2>/dev/null || true
mark alias "$(readlink -f /dev/imgbased/root 2>/dev/null || echo none)"
dmesg | grep 'imgbased:' >"$LAB_OUT/dmesg.txt" || true
journalctl -b -o short-monotonic --no-pager 2>/dev/null | grep -E 'imgbase' >"$LAB_OUT/journal.txt" || true
mark journal-booting "$(journalctl -b -o cat --no-pager 2>/dev/null | grep -c '^imgbased: booting ' || true)"
mark booting "$(grep -o 'imgbased: booting .*' "$LAB_OUT/dmesg.txt" | head -n1)"
mark unusable "$(grep -o 'imgbased: .* unusable: .*' "$LAB_OUT/dmesg.txt" | tr '\n' '|')"
systemctl show -p InitRDTimestampMonotonic -p UserspaceTimestampMonotonic -p FirmwareTimestampMonotonic >"$LAB_OUT/times.txt"
mark times "$(tr '\n' ' ' <"$LAB_OUT/times.txt")"
mark select-unit "$(systemctl show -p ActiveState --value imgbased-select.service 2>/dev/null || echo none)"
exit 0
`;

/** Parses "InitRDTimestampMonotonic=… UserspaceTimestampMonotonic=…" into kernel/initrd seconds. */
export function bootTimes(marker: string): { kernelS: number; initrdS: number } | null {
  const get = (k: string): number => Number(new RegExp(`${k}=(\\d+)`).exec(marker)?.[1] ?? NaN);
  const initrd = get('InitRDTimestampMonotonic');
  const user = get('UserspaceTimestampMonotonic');
  if (!Number.isFinite(initrd) || !Number.isFinite(user) || initrd === 0) return null;
  return { kernelS: initrd / 1e6, initrdS: (user - initrd) / 1e6 };
}
