#!/bin/bash
# imgbased: the kernel argument imgbased.layer= picks the writable layer (LVM thin snapshot) that becomes /.
# Without an imgbased.* argument (or with rd.imgbased=0) nothing here runs and stock dracut boots as before.

check() {
    require_binaries imgbase lvm blkid mount umount || return 1
    return 0
}

depends() {
    # fs-lib brings fsck and its per-filesystem checkers: select runs the root fsck itself.
    echo dm lvm fs-lib
    # The hand-over to the root mount is a systemd generator + unit.
    [ -x "$dracutsysrootdir$systemdutildir/systemd" ] && echo systemd
    return 0
}

install() {
    # dracut strips every *executable* it installs, and strip breaks a Node single executable (segfault).
    # So install it with its libraries resolved now and mode 0644; imgbased-select.service restores 0755 at boot.
    DRACUT_RESOLVE_DEPS=1 inst_binary "$(find_binary imgbase)" /usr/sbin/imgbase
    chmod 0644 "$initdir/usr/sbin/imgbase"
    inst_multiple lvm blkid mount umount chmod
    inst_simple "$moddir/90-imgbased-root.rules" "${udevdir}/rules.d/90-imgbased-root.rules"
    inst_script "$moddir/imgbased-generator" "$systemdutildir/system-generators/imgbased-generator"
    inst_simple "$moddir/imgbased-select.service" "$systemdsystemunitdir/imgbased-select.service"
    chmod 0644 "$initdir$systemdsystemunitdir/imgbased-select.service" "$initdir${udevdir}/rules.d/90-imgbased-root.rules"
}
