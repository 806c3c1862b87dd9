// Every path shared between the two halves, the sh generator, the udev rule and /boot, named once. Who writes and
// who reads each is said here; test/unit/paths.test.ts checks that the shell glue and the rule use the same ones.

/** Runtime state; empty after a power cut (tmpfs), survives switch-root. */
export const RUN_DIR = '/run/imgbased';
/** Written once per boot by `imgbase initrd select`; read by `imgbase boot --status`. */
export const BOOT_STATUS_PATH = `${RUN_DIR}/boot-status.json`;
/** Written once per boot by `imgbase boot --assess` (health checks, verdicts, GRUB's fallback); read by --status. */
export const HEALTH_PATH = `${RUN_DIR}/health.json`;
/** Created exclusively by the first `boot --assess` of a boot: a second one does nothing. */
export const ASSESSED_MARKER = `${RUN_DIR}/boot-assessed`;
/** One writer at a time: the userland write verbs take it (adapters/lock). */
export const LOCK_DIR = `${RUN_DIR}/lock`;
/** Fault injection for the crash-safety tests (adapters/fault): written by a test as root, removed as it is read. */
export const FAULT_FILE = `${RUN_DIR}/fault-injection`;
/** Temporary mount points of LVs read or written by userland (adapters/fs). */
export const MOUNT_DIR = `${RUN_DIR}/mnt`;
/** The initramfs's select step writes `${ROOT_MARKER_PREFIX}dm-N`; 90-imgbased-root.rules tests it (udev's %k). */
export const ROOT_MARKER_PREFIX = `${RUN_DIR}/root-`;
/** The alias the rule gives the chosen layer; the generator's sysroot.mount mounts it. */
export const ROOT_ALIAS = '/dev/imgbased/root';
/** The same, relative to /dev, as the rule's SYMLINK+= writes it. */
export const ROOT_ALIAS_LINK = ROOT_ALIAS.slice('/dev/'.length);

/** $BOOT: entries, kernel copies and GRUB's files; written only by userland write verbs. */
export const DEFAULT_BOOT_DIR = '/boot';
/** Inside $BOOT: the BLS entries (ours and others'). */
export const ENTRIES_SUBDIR = 'loader/entries';
/** Inside $BOOT: our kernel copies, imgbased/<base>/ and imgbased/<layer>/. */
export const KERNEL_SUBDIR = 'imgbased';
/** Runs `imgbase motd` at each login (source: motd/85-imgbased). */
export const MOTD_SCRIPT = '/etc/update-motd.d/85-imgbased';
/** grub.d scripts; 42_imgbased there puts the stub that sources our menu file into grub.cfg. */
export const GRUB_D_DIR = '/etc/grub.d';
