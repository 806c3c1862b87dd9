// Filesystem type from the first 4 KiB of a device, for the two filesystems imgbased layers use. Read in-process in
// the initramfs because starting blkid costs a few hundred ms under TCG; anything else is left to blkid.

/** Bytes fstypeOf needs from the start of the device. */
export const FSTYPE_PROBE_BYTES = 4096;

/** "ext4" (the ext4 driver mounts ext2/3/4), "xfs", or null when neither signature is there. */
export function fstypeOf(head: Uint8Array): 'ext4' | 'xfs' | null {
  // ext2/3/4: superblock at 1024, s_magic 0xEF53 (little endian) at offset 56 into it.
  if (head.length >= 1082 && head[1080] === 0x53 && head[1081] === 0xef) return 'ext4';
  // XFS: sb_magicnum "XFSB" at offset 0.
  if (head.length >= 4 && head[0] === 0x58 && head[1] === 0x46 && head[2] === 0x53 && head[3] === 0x42) return 'xfs';
  return null;
}
