// Shared by the initrd VM tests and the initrd benchmark. The layers come from the lab's shared "layered" host
// (test/vm/fixtures/layered.ts: imgbase install, then the imgbase verbs):
//   Image-1.0-0 (base)  Image-1.0-0+1  Image-1.0-0+2        Image-2.0-0 (base, "image 2")  Image-2.0-0+1 (newest)
import { LAYERED } from './fixtures/layered.js';

export const VG = 'HostVG';
export const OLDEST = LAYERED.layers[0];
export const MIDDLE = LAYERED.layers[1];
export const NEWEST = LAYERED.layers[2];

/** dm name of an LV (dashes doubled), as /sys/dev/block/N:M/dm/name shows it. */
export function dm(lv: string, vg = VG): string {
  return `${vg.replace(/-/g, '--')}-${lv.replace(/-/g, '--')}`;
}

/** Proof that dracut's strip step left the binary alone (binutils is installed in the guest). */
export const STRIP_PROOF = String.raw`kver=$(uname -r)
# /boot is the disk's partition labelled "boot"; mount it when the booted layer's fstab did not.
mountpoint -q /boot || mount /boot 2>/dev/null || mount -o ro LABEL=boot /boot
mark boot-mounted "$(mountpoint -q /boot && echo yes || echo no)"
mark strip-tool "$(command -v strip || command -v eu-strip || echo none)"
# The initramfs of the running layer's boot entry (the one this boot was given: the lab's project initramfs).
layer=$(imgbase w --json | sed -n 's/.*"layer": *"\([^"]*\)".*/\1/p')
initrd=/boot$(awk '$1 == "initrd" { print $2 }' "/boot/loader/entries/imgbased-$(echo "$layer" | tr + _).conf")
mark strip-initrd "$initrd"
a=$(lsinitrd -f usr/sbin/imgbase "$initrd" | sha256sum | cut -d' ' -f1)
b=$(sha256sum /usr/sbin/imgbase | cut -d' ' -f1)
mark initrd-imgbase-identical "$([ "$a" = "$b" ] && echo yes || echo "no:$a:$b")"
lsinitrd "$initrd" >"$LAB_OUT/lsinitrd.txt" 2>&1 || true
mark initrd-has-module "$(grep -c -E 'imgbased-generator|imgbased-select.service' "$LAB_OUT/lsinitrd.txt" || true)"
mark initrd-cmdline-d "$(grep -c 'etc/cmdline.d/.*conf' "$LAB_OUT/lsinitrd.txt" || true)"
mark initrd-bytes "$(stat -c %s "$initrd")"
`;

/** Breaks a (not running) layer's filesystem: zeroed group descriptors; blkid still says ext4, mount fails. */
export function breakLayerScript(layer: string, vg: string = VG): string {
  return String.raw`lvchange -qq -ay -K ${vg}/${layer}
bs=$(dumpe2fs -h /dev/${vg}/${layer} 2>/dev/null | awk -F': *' '/^Block size/ {print $2}')
dd if=/dev/zero of=/dev/${vg}/${layer} bs="$bs" seek=1 count=1 conv=notrunc,fsync status=none
mark broken-blkid "$(blkid -p -o value -s TYPE /dev/${vg}/${layer} || true)"
mkdir -p /mnt/broken
if mount -o ro /dev/${vg}/${layer} /mnt/broken 2>/dev/null; then umount /mnt/broken; mark broken-mounts yes; else mark broken-mounts no; fi
lvchange -qq -an ${vg}/${layer}
sync
`;
}

/** Every later boot: which LV is /, which layer it says it is, what imgbased recorded and logged, boot times. */
export const PROBE_SCRIPT = String.raw`set -uo pipefail
rootdev=$(mountpoint -d /)
mark root-dm "$(cat /sys/dev/block/$rootdev/dm/name 2>/dev/null || echo none)"
mark pretty "$(. /etc/os-release; echo "$PRETTY_NAME")"
mark root-rw "$(findmnt -no OPTIONS / | cut -d, -f1)"
status() { imgbase boot --status "$@" 2>/dev/null || imgbase initrd status "$@"; }
status --json >"$LAB_OUT/status.json" 2>"$LAB_OUT/status.err"; mark status-rc $?
status >"$LAB_OUT/status.txt" 2>&1
cp /run/imgbased/boot-status.json "$LAB_OUT/boot-status.raw.json" 2>/dev/null || true
mark alias "$(readlink -f /dev/imgbased/root 2>/dev/null || echo none)"
dmesg | grep 'imgbased:' >"$LAB_OUT/dmesg.txt" || true
journalctl -b -o short-monotonic --no-pager 2>/dev/null | grep -E 'imgbase' >"$LAB_OUT/journal.txt" || true
mark journal-booting "$(journalctl -b -o short --no-pager 2>/dev/null | grep -c 'imgbased: booting ' || true)"
mark booting "$(grep -o 'imgbased: booting .*' "$LAB_OUT/dmesg.txt" | head -n1)"
mark unusable "$(grep -o 'imgbased: .* unusable: .*' "$LAB_OUT/dmesg.txt" | tr '\n' '|')"
systemctl show -p InitRDTimestampMonotonic -p UserspaceTimestampMonotonic -p FirmwareTimestampMonotonic >"$LAB_OUT/times.txt"
mark times "$(tr '\n' ' ' <"$LAB_OUT/times.txt")"
mark select-unit "$(systemctl show -p ActiveState --value imgbased-select.service 2>/dev/null || echo none)"
`;

/** Parses "InitRDTimestampMonotonic=… UserspaceTimestampMonotonic=…" into kernel/initrd seconds. */
export function bootTimes(marker: string): { kernelS: number; initrdS: number } | null {
  const get = (k: string): number => Number(new RegExp(`${k}=(\\d+)`).exec(marker)?.[1] ?? NaN);
  const initrd = get('InitRDTimestampMonotonic');
  const user = get('UserspaceTimestampMonotonic');
  if (!Number.isFinite(initrd) || !Number.isFinite(user) || initrd === 0) return null;
  return { kernelS: initrd / 1e6, initrdS: (user - initrd) / 1e6 };
}
