// systemd's names for things the initramfs deals with, computed without systemd-escape (the initramfs may not
// carry it) and without a shell.

/**
 * The device unit systemd gives a /dev path, as `systemd-escape --path --suffix=device` makes it: duplicate and
 * trailing slashes dropped, '/' becomes '-', and every byte outside [A-Za-z0-9:_.] (and a leading '.') is \xNN.
 */
export function deviceUnitName(path: string): string {
  const parts = path.split('/').filter((p) => p !== '');
  if (parts.length === 0) return '-.device';
  const escaped = parts.map((p, j) => [...Buffer.from(p, 'utf8')].map((b, i) => {
    const c = String.fromCharCode(b);
    const plain = /[A-Za-z0-9:_]/.test(c) || (c === '.' && !(i === 0 && j === 0));
    return plain ? c : `\\x${b.toString(16).padStart(2, '0')}`;
  }).join(''));
  return `${escaped.join('-')}.device`;
}

export interface Job { id: number; unit: string; type: string; state: string }

/** `systemctl list-jobs --no-legend` lines: "ID UNIT TYPE STATE" (a leading marker column on some versions). */
export function parseJobs(text: string): Job[] {
  const jobs: Job[] = [];
  for (const line of text.split('\n')) {
    const words = line.trim().split(/\s+/).filter((w) => w !== '●' && w !== '*');
    if (words.length < 4 || !/^\d+$/.test(words[0]!)) continue;
    jobs.push({ id: Number(words[0]), unit: words[1]!, type: words[2]!, state: words[3]! });
  }
  return jobs;
}
