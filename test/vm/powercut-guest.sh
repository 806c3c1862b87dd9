#!/bin/bash
# Power-cut acceptance, guest side (see test/vm/powercut-lib.ts for what the host reads back).
# Sourced by script.sh at every boot. Needs VERBS=(...), MODE=mid|all|at (AT_N for at; FROM_N, default 1, for all)
# and MAX_BOOTS.
set -u
O=$LAB_OUT
ST=$LAB_SHARE/state
VG=HostVG
IMG=$LAB_SHARE/pc-image.raw

load_state() { IDX=0; N=0; COUNT=0; PHASE=setup; BOOTS=0; PRELUDE=0; CMDQ=''; [ -f "$ST" ] && . "$ST"; return 0; }
save_state() {
  { printf 'IDX=%q\nN=%q\nCOUNT=%q\nPHASE=%q\nBOOTS=%q\nPRELUDE=%q\n' "$IDX" "$N" "$COUNT" "$PHASE" "$BOOTS" "$PRELUDE"
    printf 'CMDQ=%q\n' "$CMDQ"; } >"$ST.tmp" && mv -f "$ST.tmp" "$ST"
}
lv_exists() { lvs "$VG/$1" >/dev/null 2>&1; }
running_lv() { lvs --noheadings -o lv_name "$(findmnt -no SOURCE /)" 2>/dev/null | xargs; }
# Thin LVs named BASE+N, oldest first.
layers_of() { lvs --noheadings -o lv_name "$VG" | xargs -n1 | grep -F "$1+" | sort -V; }
all_layers() { lvs --noheadings -o lv_name "$VG" | xargs -n1 | grep -F + | sort -V; }
entry_file() { echo "/boot/loader/entries/imgbased-$(echo "$1" | tr + _).conf"; }
log() { echo "powercut: $*"; }

# What booted: the host's root, or a layer that is complete. Prints "root", "layer:NAME" or "no:WHY".
usable_root() {
  local src lv tags
  src=$(findmnt -no SOURCE /)
  case $src in /dev/mapper/$VG-*) ;; *) echo "no:not-in-$VG:$src"; return;; esac
  lv=$(lvs --noheadings -o lv_name "$src" 2>/dev/null | xargs)
  [ -n "$lv" ] || { echo "no:no-lv:$src"; return; }
  [ "$lv" = root ] && { echo root; return; }
  tags=$(lvs --noheadings -o lv_tags "$VG/$lv" | xargs)
  case ",$tags," in *imgbased:incomplete*) echo "no:incomplete:$lv"; return;; esac
  case ",$tags," in *imgbased:layer*) echo "layer:$lv";; *) echo "no:not-a-layer:$lv:$tags";; esac
}

# ---- per verb: setup_V (make its precondition true from any state), cmd_V (sets CMD), present_V (its target exists)
cmd_layout-init() { CMD=(layout --init Image-1.0-0 --from / --no-data); }
setup_layout-init() { [ "$(running_lv)" = root ] && ! lv_exists Image-1.0-0; }
present_layout-init() { lv_exists Image-1.0-0; }

# set-default / next: in the matrix the target alternates so every point changes grubenv.
alt_layer() { if [ "$MODE" = all ] && [ $((N % 2)) = 1 ]; then echo "$1"; else echo "$2"; fi; }
setup_set-default() { :; }
cmd_set-default() { CMD=(boot --set-default "$(alt_layer Image-1.0-0+1 Image-1.0-0+2)"); }
setup_next() { :; }
cmd_next() { CMD=(boot --next "$(alt_layer Image-1.0-0+2 Image-1.0-0+1)"); }

setup_layer-add() { lv_exists Image-2.0-0; }
cmd_layer-add() { CMD=(layer --add Image-2.0-0); }

# The fixture's Image-2.0-0+1 first; once it is gone, a fresh layer made for the purpose.
LR_TARGET=''
setup_layer-remove() {
  if [ "$MODE" != mid ]; then
    # The same plan at every point: the sole layer of Image-2.0-0 (its removal also drops the base's kernel copy).
    while [ "$(layers_of Image-2.0-0 | wc -l)" -gt 1 ]; do imgbase layer --remove "$(layers_of Image-2.0-0 | head -n1)" || return 1; done
    [ -n "$(layers_of Image-2.0-0)" ] || imgbase layer --add Image-2.0-0 || return 1
    LR_TARGET=$(layers_of Image-2.0-0)
    [ "$(running_lv)" != "$LR_TARGET" ]; return
  fi
  if lv_exists Image-2.0-0+1 && [ "$(running_lv)" != Image-2.0-0+1 ]; then LR_TARGET=Image-2.0-0+1; return 0; fi
  imgbase layer --add Image-2.0-0 || return 1
  LR_TARGET=$(layers_of Image-2.0-0 | tail -n1)
  [ -n "$LR_TARGET" ] && [ "$(running_lv)" != "$LR_TARGET" ]
}
cmd_layer-remove() { CMD=(layer --remove "$LR_TARGET"); }

setup_base-add() {
  [ -f "$IMG" ] || return 1
  if lv_exists Image-3.0-0; then imgbase base --remove Image-3.0-0 || return 1; fi
}
cmd_base-add() { CMD=(base --add Image-3.0-0 --from "$IMG"); }

# Sample: the fixture's second base with its layers. Matrix: a base made for the purpose, with one layer.
BR_TARGET=''
setup_base-remove() {
  if [ "$MODE" = mid ] && lv_exists Image-2.0-0; then BR_TARGET=Image-2.0-0
  else
    BR_TARGET=Image-3.0-0
    lv_exists Image-3.0-0 || imgbase base --add Image-3.0-0 --from "$IMG" || return 1
    [ -n "$(layers_of Image-3.0-0)" ] || imgbase layer --add Image-3.0-0 || return 1
  fi
  case "$(running_lv)" in "$BR_TARGET"+*) return 1;; esac
}
cmd_base-remove() { CMD=(base --remove "$BR_TARGET"); }

# boot --sync must have something to apply: one of our entries (of a layer not running) deleted.
setup_sync() {
  local f; f=$(entry_file Image-1.0-0+1)
  [ -f "$f" ] || return 1
  rm -f "$f" && sync
}
cmd_sync() { CMD=(boot --sync); }

# /boot reformatted as XFS with its old UUID (so every fstab and grub.cfg search still name it), files restored,
# GRUB reinstalled, then layer --add (newest layer of the newest base), cut right after its last /boot settle.
fstab_boot_type() {  # FILE UUID TYPE
  sed -i -E "s#^(UUID=$2[[:space:]]+/boot[[:space:]]+)[a-z0-9]+#\1$3#" "$1" && grep -Eq "^UUID=$2[[:space:]]+/boot[[:space:]]+$3" "$1"
}
setup_xfs-layer-add() {
  local dev uuid cur lv perm rc=0
  if [ "$(findmnt -no FSTYPE /boot)" != xfs ]; then
    dev=$(findmnt -no SOURCE /boot); uuid=$(blkid -s UUID -o value "$dev")
    [ -n "$dev" ] && [ -n "$uuid" ] || return 1
    rm -rf /var/tmp/bootcopy && mkdir -p /var/tmp/bootcopy && cp -a /boot/. /var/tmp/bootcopy/ || return 1
    umount /boot || return 1
    mkfs.xfs -f -m uuid="$uuid" "$dev" || return 1
    # Every root tree (host root, bases, layers) has its own /etc/fstab naming /boot by UUID and type.
    cur=$(running_lv)
    fstab_boot_type /etc/fstab "$uuid" xfs || return 1
    mkdir -p /mnt/pcfs
    for lv in $(lvs --noheadings -o lv_name,segtype "$VG" | awk '$2=="thin"{print $1}'); do
      [ "$lv" = "$cur" ] && continue
      perm=$(lvs --noheadings -o lv_attr "$VG/$lv" | xargs | cut -c2)  # w or r
      lvchange -ay -K "$VG/$lv" || return 1
      [ "$perm" = w ] || lvchange -p rw "$VG/$lv" || return 1
      mount "/dev/$VG/$lv" /mnt/pcfs && { fstab_boot_type /mnt/pcfs/etc/fstab "$uuid" xfs || rc=1; umount /mnt/pcfs; } || rc=1
      [ "$perm" = w ] || lvchange -p r "$VG/$lv" || rc=1
      lvchange -an "$VG/$lv" || rc=1
      [ $rc = 0 ] || { log "fstab of $lv not updated"; return 1; }
    done
    systemctl daemon-reload
    mount /boot || return 1
    cp -a /var/tmp/bootcopy/. /boot/ || return 1
    grub-install --target=i386-pc /dev/vda || return 1
    update-grub || return 1
    sync
    mark pc.xfs.converted "$(findmnt -no SOURCE,FSTYPE,UUID /boot | xargs)"
  fi
  all_layers >"$LAB_SHARE/xfs-layers-before"
}
cmd_xfs-layer-add() { CMD=(layer --add); }
# The cut point: right after the last settle-boot step (the entry + menu writes come before it).
pick_xfs-layer-add() {
  grep -oE '"(n|kind)": *("[^"]*"|[0-9]+)' "$1" | tr -d ' "' | paste -d' ' - - |
    awk '$2 == "kind:settle-boot" { sub(/^n:/, "", $1); n = $1 } END { print n }'
}
post_xfs-layer-add() {
  local new
  new=$(all_layers | grep -vxF -f "$LAB_SHARE/xfs-layers-before" | head -n1)
  mark pc.xfs.new-layer "${new:-none}"
  mark pc.xfs.fstype "$(findmnt -no FSTYPE /boot)"
}

# No job left for the health assessment unit (run, or skipped by its condition).
assess_settled() {
  local i
  for i in $(seq 1 600); do
    [ -z "$(systemctl list-jobs --no-legend imgbased-boot-assess.service 2>/dev/null)" ] && return 0
    sleep 1
  done
  return 1
}

# ---- the state machine
P=''
point_name() { P="pc.$1.$N"; }

run_point() {
  local verb=$1 count plan rc
  if ! "setup_$verb"; then mark "pc.$verb.setup-failed" "$N"; return 2; fi
  [ "$N" = 0 ] && N=1  # name the files of the first point before its count is known
  "cmd_$verb"
  plan="$O/pc.$verb.plan.json"
  imgbase "${CMD[@]}" --dry-run --json >"$plan" 2>"$O/pc.$verb.plan.err"
  rc=$?
  count=$(grep -o '"n":' "$plan" | wc -l)
  if [ "$rc" != 0 ] || [ "$count" = 0 ]; then mark "pc.$verb.plan-failed" "rc=$rc count=$count"; return 2; fi
  if [ "$COUNT" = 0 ]; then
    COUNT=$count
    if [ "$MODE" = all ]; then N=${FROM_N:-1}; [ "$N" -le "$count" ] || { mark "pc.$verb.pick-failed" "N=$N > count $count"; return 2; }
    elif [ "$MODE" = at ]; then N=$AT_N; [ "$N" -le "$count" ] || { mark "pc.$verb.pick-failed" "N=$N > count $count"; return 2; }
    elif declare -F "pick_$verb" >/dev/null; then N=$("pick_$verb" "$plan"); [ -n "$N" ] || { mark "pc.$verb.pick-failed" 1; return 2; }
    else N=$(( (count + 1) / 2 )); fi
    "cmd_$verb"  # the command may depend on N (matrix alternation)
  fi
  # A plan longer than the first one (state differs): go on to its last step.
  [ "$count" -gt "$COUNT" ] && COUNT=$count
  point_name "$verb"
  cp "$plan" "$O/$P.plan.json"
  mark "$P.count" "$count"
  CMDQ=$(printf '%q ' "${CMD[@]}")
  mark "$P.cmd" "imgbase $CMDQ"
  PHASE=cut; save_state; sync
  # The fault file is taken by the first write command that reads it: the boot's health assessment (a blessing is a
  # write) must be done first, or it takes the cut meant for this command.
  assess_settled || mark "$P.assess-unsettled" "$(systemctl list-jobs --no-legend 2>&1 | head -n3 | xargs)"
  mark "$P.cut" "$(cut -d' ' -f1 /proc/uptime)"
  mkdir -p /run/imgbased && echo "powercut@$N" >/run/imgbased/fault-injection
  imgbase "${CMD[@]}" >"$O/$P.cut.out" 2>"$O/$P.cut.err"
  rc=$?
  sleep 3
  # Still here: no power cut happened.
  mark "$P.nocut" "$rc"
  return 0
}

verify_point() {
  local verb=$1 u rc incomplete orphans d
  eval "CMD=($CMDQ)"
  point_name "$verb"
  mark "$P.root" "$(findmnt -no SOURCE /)"
  u=$(usable_root); mark "$P.usable" "$u"
  imgbase boot --status >"$O/$P.boot-status.txt" 2>&1
  imgbase layout >"$O/$P.layout-before.txt" 2>&1
  imgbase check >"$O/$P.check1.out" 2>&1; mark "$P.check1" $?
  imgbase check --repair >"$O/$P.repair.out" 2>&1; mark "$P.repair" $?
  imgbase check >"$O/$P.check2.out" 2>&1; mark "$P.check2" $?
  # No layers (e.g. an interrupted layout --init undone): no menu file is right.
  mark "$P.layers" "$(imgbase layout --layers 2>/dev/null | wc -l)"
  if [ -e /boot/grub/imgbased.cfg ]; then
    grub-script-check /boot/grub/imgbased.cfg >"$O/$P.gsc.out" 2>&1; mark "$P.gsc" $?
  else mark "$P.gsc" absent; fi
  SYSTEMD_RELAX_ESP_CHECKS=1 SYSTEMD_RELAX_XBOOTLDR_CHECKS=1 bootctl --esp-path=/boot --boot-path=/boot list >"$O/$P.bootctl.txt" 2>&1
  mark "$P.bootctl" "$?"
  mark "$P.bootctl-missing" "$(grep -c 'No such file' "$O/$P.bootctl.txt")"
  incomplete=$(lvs -o lv_name,lv_tags --noheadings | awk '/imgbased:incomplete/{print $1}' | xargs)
  mark "$P.incomplete" "${incomplete:-none}"
  orphans=''
  for d in /boot/imgbased/*/; do
    [ -d "$d" ] || continue
    d=$(basename "$d")
    grep -qsF "/imgbased/$d/" /boot/loader/entries/*.conf || orphans="$orphans $d"
  done
  mark "$P.orphans" "${orphans:-none}"
  if declare -F "present_$verb" >/dev/null; then "present_$verb" && mark "$P.present" yes || mark "$P.present" no; fi
  case $verb in
    layer-remove) lv_exists "${CMD[2]}" && mark "$P.present" yes || mark "$P.present" no;;
    base-remove) lv_exists "${CMD[2]}" && mark "$P.present" yes || mark "$P.present" no;;
    base-add) lv_exists Image-3.0-0 && mark "$P.present" yes || mark "$P.present" no;;
  esac
  declare -F "post_$verb" >/dev/null && "post_$verb"
  imgbase layout >"$O/$P.layout-after-repair.txt" 2>&1
  imgbase "${CMD[@]}" >"$O/$P.rerun.out" 2>&1; mark "$P.rerun" $?
  imgbase check >"$O/$P.check3.out" 2>&1; mark "$P.check3" $?
  mark "$P.verified" "$(cut -d' ' -f1 /proc/uptime)"
}

next_point() {
  if [ "$MODE" = all ] && [ "$N" -lt "$COUNT" ]; then N=$((N + 1)); else IDX=$((IDX + 1)); N=0; COUNT=0; fi
  PHASE=setup; CMDQ=''; save_state
}

pc_main() {
  load_state
  BOOTS=$((BOOTS + 1)); save_state
  mark pc.boot "$BOOTS $(findmnt -no SOURCE /)"
  if [ "$BOOTS" -gt "${MAX_BOOTS:-60}" ]; then mark pc.error too-many-boots; return 1; fi
  # Under a loaded TCG host boot.mount can lose its device-timeout race (see fixtures/layered.ts).
  mountpoint -q /boot || { mark pc.boot-mounted-late "$BOOTS"; mount /boot || return 1; }
  if [ "$PRELUDE" = 0 ]; then
    if declare -F prelude >/dev/null; then prelude || { mark pc.error prelude; return 1; }; fi
    PRELUDE=1; save_state
    # A prelude that changes the boot default takes effect from the next boot: reboot once into it.
    if [ "${PRELUDE_REBOOT:-0}" = 1 ]; then sync; mark pc.prelude-reboot "$BOOTS"; systemctl reboot; sleep 600; return 1; fi
  fi
  if [ "$PHASE" = cut ]; then verify_point "${VERBS[$IDX]}"; next_point; fi
  while [ "$IDX" -lt "${#VERBS[@]}" ]; do
    if run_point "${VERBS[$IDX]}"; then verify_point "${VERBS[$IDX]}"; fi
    next_point
  done
  mark pc.finished "$BOOTS"
  return 0
}
