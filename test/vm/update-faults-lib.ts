// A failed `imgbase update` leaves the host as it was: the guest side (a small image, a failure injected at a step,
// too little room in the pool or on /boot) and the checks on what it recorded. Used by update.vm.test.ts (a sample,
// in npm test) and update-faults.vm.test.ts (every step, with the power-cut matrix).
import { expect } from 'vitest';
import { outFile, type BootResult } from './lab';

/**
 * Needs RECORD_SH. `mksmall IMG`: a small image (this layer's /etc, Image-2.0-0's kernel and initrd, os-release
 * Image 9.0-0), made in seconds; `fault P FAULT`: update --from IMG with the fault FAULT injected (/run/imgbased/fault-injection) as point P, which
 * must fail and leave `state` as it was, `check` clean; `roomcases IMG`: update refused for the pool (an image
 * whose filesystem holds more, allocated but never written, than the pool has free) and for /boot (filled up).
 */
export const UPDATE_FAULTS_SH = String.raw`
# What a failed update must leave as it was: the LVs and their tags, every file on /boot (grubenv included; not the
# filler of the /boot case).
state() {
  lvs --noheadings -o lv_name,lv_tags HostVG | sort
  (cd /boot && find . -xdev -type f ! -name filler -print0 | sort -z | xargs -0 sha256sum)
}
mksmall() {
  local v=/var/tmp/small-tree
  rm -rf $v; mkdir -p $v/boot $v/usr/lib
  cp -a /etc $v/
  rm -f $v/etc/os-release
  # The running release's VERSION_ID: update refuses an older release.
  printf 'ID=debian\nVERSION_ID=%s\nIMAGE_ID=Image\nIMAGE_VERSION=9.0-0\n' "$(. /etc/os-release; echo "$VERSION_ID")" >$v/usr/lib/os-release
  ln -s ../usr/lib/os-release $v/etc/os-release
  cp /boot/imgbased/Image-2.0-0/vmlinuz-* /boot/imgbased/Image-2.0-0/initrd* $v/boot/
  mkfs.ext4 -q -F -d $v "$1" 400M
}
fault() {
  local p=$1
  state >"$O/state-ref"
  mkdir -p /run/imgbased && echo "$2" >/run/imgbased/fault-injection
  imgbase update --from "$IMG" >"$O/f-$p.out" 2>"$O/f-$p.err"
  echo $? >"$O/f-$p.rc"
  state >"$O/state-$p"
  if cmp -s "$O/state-ref" "$O/state-$p"; then echo same; else diff "$O/state-ref" "$O/state-$p" | head -20; fi >"$O/f-$p.diff"
  imgbase check >"$O/f-$p.check" 2>&1; echo $? >>"$O/f-$p.check"
  mark fault "$p $(cat "$O/f-$p.rc")"
}
roomcases() {
  local big=/var/tmp/big.raw
  truncate -s 64G $big && mkfs.ext4 -q -F -E lazy_itable_init=1,lazy_journal_init=1 $big
  mkdir -p /mnt/big && mount -o loop $big /mnt/big && cp -a /var/tmp/small-tree/. /mnt/big/ && fallocate -l 48G /mnt/big/ballast && umount /mnt/big
  state >"$O/room-ref"
  t room-pool imgbase update --from $big
  state >"$O/room-pool-state"
  rm -f $big
  local free
  free=$(df -B1 --output=avail /boot | tail -1)
  fallocate -l $(( free - 4 * 1024 * 1024 )) /boot/filler
  t room-boot imgbase update --from "$1"
  state >"$O/room-boot-state"
  rm -f /boot/filler
}
`;

/** Every fault point recorded (in order) exited non-zero at its injected step and changed nothing; check clean. */
export function expectFaultsClean(r: BootResult, points: string[]): void {
  const f = (name: string): string => outFile(r, name).trim();
  expect((r.markers.fault ?? []).map((m) => m.split(' ')[0]!)).toEqual(points);
  for (const p of points) {
    expect(Number(f(`f-${p}.rc`)), `${p}: ${f(`f-${p}.err`)}`).not.toBe(0);
    expect(f(`f-${p}.err`), p).toMatch(/injected fault at step \d+/);
    expect(f(`f-${p}.diff`), p).toBe('same');
    expect(f(`f-${p}.check`).split('\n').at(-1), `${p}: ${f(`f-${p}.check`)}`).toBe('0');
  }
}

/** Both room cases refused before any write, with the reason. */
export function expectRoomRefused(r: BootResult): void {
  const f = (name: string): string => outFile(r, name).trim();
  expect(Number(f('room-pool.rc'))).not.toBe(0);
  expect(f('room-pool.err')).toMatch(/update: thin pool HostVG\/pool has .* free, .* needed/);
  expect(f('room-pool-state')).toBe(f('room-ref'));
  expect(Number(f('room-boot.rc'))).not.toBe(0);
  expect(f('room-boot.err')).toMatch(/not enough space on \/boot/);
  expect(f('room-boot-state')).toBe(f('room-ref'));
}
