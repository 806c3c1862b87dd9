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
