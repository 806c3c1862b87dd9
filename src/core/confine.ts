// Paths inside a tree that is not the running system (a mounted image, base or layer), resolved the way a chroot of
// that tree would resolve them: an absolute symlink starts again at the tree's top, `..` never climbs above it. So
// an image whose /etc is a symlink to /etc (or to /root) names its own /etc (or /root), never the host's. Pure: the
// adapter (adapters/confine) supplies what each path is.

/** What a path inside the tree is: a symlink (with its target), something else, or nothing. */
export type Lookup = (rel: string) => Promise<{ link: string } | 'other' | 'missing'>;

/** Linux's own limit on symlinks followed in one lookup. */
export const MAX_LINKS = 40;

export class ConfinementError extends Error {}

function parts(p: string): string[] {
  return p.split('/').filter((c) => c !== '' && c !== '.');
}

/**
 * `rel` resolved within the tree: a path relative to its top with no symlink in it (but the last component when
 * `followLast` is false: a write replaces that name, it does not write through it). Missing components are kept as
 * they are (a file about to be made). Throws on a loop.
 */
export async function resolveWithin(rel: string, lookup: Lookup, followLast = true): Promise<string> {
  const done: string[] = [];
  let todo = parts(rel);
  let links = 0;
  while (todo.length > 0) {
    const name = todo.shift()!;
    if (name === '..') {
      done.pop();
      continue;
    }
    const here = [...done, name].join('/');
    const last = todo.length === 0;
    const what = last && !followLast ? 'other' : await lookup(here);
    if (what === 'missing') {
      // Nothing there yet: the rest is made below it (mkdir -p, a new file), inside the tree.
      done.push(name, ...todo.filter((c) => c !== '..'));
      if (todo.includes('..')) throw new ConfinementError(`${rel}: '..' below a missing directory`);
      break;
    }
    if (what === 'other') {
      done.push(name);
      continue;
    }
    if (++links > MAX_LINKS) throw new ConfinementError(`${rel}: too many levels of symbolic links`);
    if (what.link.startsWith('/')) done.length = 0;
    todo = [...parts(what.link), ...todo];
  }
  return done.join('/');
}
