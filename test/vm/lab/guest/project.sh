# Installs the project into the booted host (the same way a user would: build/install), then puts the initramfs in
# place: either the one the host built with the guest's own dracut in a chroot of the same tree ($LAB_SHARE/initrd.img),
# or (IMGBASED_LAB_GUEST_DRACUT=1) regenerates it here with `dracut -f` (hostonly; slow under TCG: 3-6 min).
set -euxo pipefail
kver=$(cat /etc/lab-kernel-version)
mountpoint -q /boot
sh "$LAB_SHARE/proj/build/install"
if [ -f "$LAB_SHARE/initrd.img" ]; then
  install -m 0600 "$LAB_SHARE/initrd.img" "/boot/initrd.img-$kver"
  mark initrd-from chroot
else
  t0=$(date +%s)
  dracut -f --no-early-microcode "/boot/initrd.img-$kver" "$kver"
  mark dracut-seconds $(( $(date +%s) - t0 ))
  mark initrd-from guest
fi
ls -la /boot "/usr/sbin/imgbase"
cp "/boot/vmlinuz-$kver" "$LAB_OUT/vmlinuz"
cp "/boot/initrd.img-$kver" "$LAB_OUT/initrd.img"
sync
mark project installed
