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
    local bin loader unit
    bin=$(find_binary imgbase)
    # dracut strips every *executable* it installs, and strip breaks a Node single executable (segfault).
    # So install it with its libraries resolved now and mode 0644; its dynamic loader runs it at boot (see the unit).
    DRACUT_RESOLVE_DEPS=1 inst_binary "$bin" /usr/sbin/imgbase
    chmod 0644 "$initdir/usr/sbin/imgbase"
    # The loader the binary names (PT_INTERP): ldd prints it as the one absolute path without "=>";
    # inst_binary installed it at that path.
    loader=$(LC_ALL=C ldd "$bin" | sed -n 's,^[[:space:]]*\(/[^[:space:]]*\)[[:space:]]*(0x.*,\1,p' | tail -n 1)
    if [ -z "$loader" ] || [ ! -e "$initdir$loader" ]; then
        derror "imgbased: no dynamic loader found for $bin (ldd)"
        return 1
    fi
    inst_multiple lvm blkid mount umount
    inst_simple "$moddir/90-imgbased-root.rules" "${udevdir}/rules.d/90-imgbased-root.rules"
    inst_script "$moddir/imgbased-generator" "$systemdutildir/system-generators/imgbased-generator"
    unit="$initdir$systemdsystemunitdir/imgbased-select.service"
    mkdir -p "${unit%/*}"
    sed "s|@LOADER@|$loader|" "$moddir/imgbased-select.service" > "$unit"
    chmod 0644 "$unit" "$initdir${udevdir}/rules.d/90-imgbased-root.rules"
}
