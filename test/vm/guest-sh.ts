// Shell snippets shared by guest scripts (VM tests and the demo). No vitest import: the demo runs outside vitest.

/** `waitassess` waits (at most 400 s) until imgbased-boot-assess.service has judged this boot; prints its state. */
export const WAIT_ASSESS_SH = String.raw`waitassess() {
  local st=
  for i in $(seq 1 400); do
    st=$(systemctl show -p ActiveState --value imgbased-boot-assess.service)
    case $st in active|failed) break;; esac
    sleep 1
  done
  echo "$st"
}
`;

/**
 * A guest script that runs across reboots (lab `reboots: true`) as phases: the phase is kept in $LAB_SHARE/<state>
 * (`goto NEXT` for the next boot) and marked at every boot; /boot mounted; `running` names the layer / runs from.
 */
export const phasesSh = (state: string, first: string): string => String.raw`ST=$LAB_SHARE/${state}
PHASE=${first}; [ -f "$ST" ] && . "$ST"
goto() { echo "PHASE=$1" >"$ST.tmp" && mv -f "$ST.tmp" "$ST"; }
mark phase "$PHASE $(cut -d' ' -f1 /proc/uptime)"
mountpoint -q /boot || mount /boot
running() { lvs --noheadings -o lv_name "$(findmnt -no SOURCE /)" 2>/dev/null | xargs; }
`;

/** `reboot_now` (a reset, nothing synced after the marker), `inlayer L` / `outlayer L` (L mounted on /mnt/l). */
export const layerSh = (vg: string): string => String.raw`reboot_now() { sync; mark reboot "$PHASE"; echo b >/proc/sysrq-trigger; sleep 300; }
inlayer() { lvchange -qq -ay -K "${vg}/$1"; mkdir -p /mnt/l; mount "/dev/${vg}/$1" /mnt/l; }
outlayer() { umount /mnt/l; lvchange -qq -an "${vg}/$1"; }
`;

/**
 * Timing and pool accounting for the benchmarks: `timed NAME CMD...` appends "NAME seconds" to $LAB_OUT/times;
 * `mapped LV` prints the bytes LV maps in the pool, `pooldata` those of the whole pool.
 */
export const BENCH_SH = String.raw`now() { date +%s.%N; }
timed() { local n=$1; shift; local s; s=$(now); "$@" >/dev/null; awk -v n="$n" -v a="$s" -v b="$(now)" 'BEGIN { print n, b - a }' >>"$LAB_OUT/times"; }
# %.0f, not %d: mawk clamps %d at 2^31-1, and the pool holds more than 2 GiB.
mapped() { sync; lvchange -ay -K "HostVG/$1" 2>/dev/null || true; lvs --noheadings --units b --nosuffix -o lv_size,data_percent "HostVG/$1" | awk '{ printf "%.0f\n", $1 * $2 / 100 }'; }
pooldata() { mapped pool; }
`;

/**
 * `mkimage BASE VERSION OUT`: the layered host's BASE as a new image, a raw ext4 file (e2image: used blocks only),
 * with os-release IMAGE_ID=Image IMAGE_VERSION=VERSION and Image-2.0-0's kernel and initrd in its /boot (a base's
 * tree has none: /boot is the host's partition). Left mounted on /mnt/img for the caller's own changes.
 */
export const MKIMAGE_SH = String.raw`mkimage() {
  lvchange -qq -ay -K "HostVG/$1"
  e2image -ra "/dev/HostVG/$1" "$3"
  lvchange -qq -an "HostVG/$1"
  mkdir -p /mnt/img && mount -o loop "$3" /mnt/img
  printf 'IMAGE_ID=Image\nIMAGE_VERSION=%s\n' "$2" >>/mnt/img/usr/lib/os-release
  cp /boot/imgbased/Image-2.0-0/vmlinuz-* /boot/imgbased/Image-2.0-0/initrd* /mnt/img/boot/
}
`;

/**
 * The boot after qemu was killed right after GRUB counted a try: GRUB's environment as this boot found it, the
 * layer booted, its state once assessed (status.json) and `imgbase check`'s exit code (marker check-rc).
 */
export const AFTER_GRUB_CUT_SH = String.raw`set -u
mountpoint -q /boot || mount /boot
grub-editenv /boot/grub/grubenv list >"$LAB_OUT/env-early.txt" 2>&1
mark root "$(lvs --noheadings -o lv_name "$(findmnt -no SOURCE /)" | xargs)"
${WAIT_ASSESS_SH}waitassess >/dev/null
imgbase boot --status --json >"$LAB_OUT/status.json" 2>&1
imgbase check >"$LAB_OUT/check.txt" 2>&1; mark check-rc $?
`;

/**
 * `mkdeb NAME VERSION [DEPENDS] [CONFLICTS]`: a tiny package, /var/tmp/debs/NAME_VERSION_all.deb, holding one file
 * (/usr/share/NAME/version, its name and version).
 */
export const MKDEB_SH = String.raw`mkdeb() {
  local d=/var/tmp/debs/src-$1-$2
  rm -rf "$d" && mkdir -p "$d/DEBIAN" "$d/usr/share/$1"
  echo "$1 $2" >"$d/usr/share/$1/version"
  { echo "Package: $1"; echo "Version: $2"; echo "Architecture: all"; echo "Maintainer: imgbased tests <tests@example.invalid>"
    if [ $# -ge 3 ] && [ -n "$3" ]; then echo "Depends: $3"; fi
    if [ $# -ge 4 ] && [ -n "$4" ]; then echo "Conflicts: $4"; fi
    echo "Description: imgbased test package $1"; } >"$d/DEBIAN/control"
  dpkg-deb --root-owner-group -b "$d" "/var/tmp/debs/$1_$2_all.deb" >/dev/null
}
`;

/**
 * `etcsum`: /etc as a listing (type, mode, owner, link target) and the content of its files. Not LVM's own backup and
 * archive: every LVM command (an update's among them) rewrites them on the running layer.
 */
export const ETCSUM_SH = String.raw`etcsum() {
  (cd /etc && find . -xdev ! -path './lvm/archive*' ! -path './lvm/backup*' -printf '%p %y %m %U:%G %l\n' | sort &&
    find . -xdev -type f ! -path './lvm/archive*' ! -path './lvm/backup*' -print0 | sort -z | xargs -0 sha256sum)
}
`;
