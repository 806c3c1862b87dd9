# Provisioning script (run by the lab agent inside the provisioning VM, root = a throwaway copy of the guest image).
# vda: the target host disk (empty). vdc: the pristine guest root filesystem image (read-only).
set -euxo pipefail
disk=/dev/vda
src=/dev/vdc
kver=$(cat /etc/lab-kernel-version)

sfdisk -q "$disk" <<PART
label: dos
start=1MiB, size=600MiB, type=83, bootable
type=8e
PART
udevadm settle
pvcreate -ff -y "${disk}2"
vgcreate HostVG "${disk}2"
lvcreate -y --type thin-pool -l 90%FREE --poolmetadatasize 128M -n pool HostVG
lvcreate -y -V "${LAB_ROOT_SIZE:-4G}" -T HostVG/pool -n root
udevadm settle
mark stage lvm-ready

# The root filesystem: copy only the used blocks of the pristine image onto the thin LV.
e2image -ra "$src" /dev/HostVG/root
resize2fs /dev/HostVG/root >/dev/null 2>&1 || true
mark stage root-copied

mkfs.ext4 -q -F -L boot "${disk}1"
mkdir -p /mnt/root /mnt/boot
mount /dev/HostVG/root /mnt/root
mount "${disk}1" /mnt/boot
cp -a /mnt/root/boot/. /mnt/boot/
find /mnt/root/boot -mindepth 1 -delete
umount /mnt/boot
mount "${disk}1" /mnt/root/boot
mkdir -p /mnt/root/boot/loader/entries

bootuuid=$(blkid -s UUID -o value "${disk}1")
cat >/mnt/root/etc/fstab <<FSTAB
# / is not listed: it comes from the kernel command line (root=, rw), so layers (thin snapshots) boot this tree too.
UUID=$bootuuid /boot ext4 defaults 0 2
FSTAB

cat >/mnt/root/etc/default/grub <<GRUB
GRUB_DEFAULT=0
GRUB_TIMEOUT=2
GRUB_TIMEOUT_STYLE=menu
GRUB_DISTRIBUTOR=Debian
GRUB_CMDLINE_LINUX_DEFAULT=""
GRUB_CMDLINE_LINUX="rd.lvm.lv=HostVG/root rw console=ttyS0,115200 panic=-1"
GRUB_TERMINAL=serial
GRUB_SERIAL_COMMAND="serial --unit=0 --speed=115200"
GRUB_DISABLE_OS_PROBER=true
GRUB_DISABLE_RECOVERY=true
GRUB

for d in dev proc sys run; do mount --bind "/$d" "/mnt/root/$d"; done
chroot /mnt/root grub-install --target=i386-pc "$disk"
chroot /mnt/root grub-mkconfig -o /boot/grub/grub.cfg
mark stage grub-installed
grep -E '^\s*(menuentry|linux|initrd)' /mnt/root/boot/grub/grub.cfg | head -n 6
mark grub-linux "$(grep -m1 -E '^\s*linux\s' /mnt/root/boot/grub/grub.cfg | sed 's/^\s*//')"
echo "$kver" >"$LAB_OUT/kver"
lvs -a --reportformat json >"$LAB_OUT/lvs.json"

for d in run sys proc dev boot; do umount "/mnt/root/$d"; done
umount /mnt/root
sync
vgchange -an HostVG
sync
mark provisioned ok
