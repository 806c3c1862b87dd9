# Installs the project into the booted host (the same way a user would), then rebuilds the initramfs with the
# guest's own dracut for the installed kernel and hands kernel + initrd back.
set -euxo pipefail
kver=$(cat /etc/lab-kernel-version)
mountpoint -q /boot
sh "$LAB_SHARE/proj/build/install"
/usr/sbin/imgbase --help >/dev/null 2>&1 && mark imgbase-runs yes || mark imgbase-runs no
t0=$(date +%s)
dracut -f "/boot/initrd.img-$kver" "$kver"
mark dracut-seconds $(( $(date +%s) - t0 ))
lsinitrd "/boot/initrd.img-$kver" 2>/dev/null | grep -E 'dracut modules|imgbase' -A 40 | head -n 60 || true
cp "/boot/vmlinuz-$kver" "$LAB_OUT/vmlinuz"
cp "/boot/initrd.img-$kver" "$LAB_OUT/initrd.img"
sync
mark project installed
