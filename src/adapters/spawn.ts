// How a program is started: argv only, never a shell. One interface, two back ends: execa for the userland verbs,
// node's own child_process for the initramfs, where loading execa (about 250 KB of modules: 22 ms of a 74 ms start
// natively, hundreds of ms under TCG) costs CPU the boot needs, and the few commands it runs (lvm, systemd-fsck,
// mount, umount, blkid) need nothing more.

export interface SpawnRequest {
  cmd: string;
  args: string[];
  /** Complete environment of the child. */
  env: Record<string, string | undefined>;
  input?: string;
  timeoutMs?: number;
  stderrInherit?: boolean;
  /** stdin, stdout and stderr are the user's terminal (an interactive shell); nothing is collected. */
  interactive?: boolean;
}

export interface SpawnOutcome {
  stdout: string;
  stderr: string;
  /** null: killed by a signal or never started. */
  exitCode: number | null;
  notFound: boolean;
  /** A short reason when it did not run to an exit code (timeout, signal, spawn error). */
  failure?: string;
  /** The signal that ended it (SIGINT ...), when one did. */
  signal?: string;
}

export type Spawner = (req: SpawnRequest) => Promise<SpawnOutcome>;
