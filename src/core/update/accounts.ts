// passwd, group, shadow and gshadow of `imgbase update`, merged by name, pure. Like /etc (etc-merge.ts), three
// versions: old (the running layer's base), admin (the running layer), next (the new image). An account the admin
// added, changed or removed stays so; an account the new image adds appears; the rest is the new image's. Group
// members are merged as sets (the admin's additions and removals replayed onto the new image's list). An id that
// two different names would share is a clash: the update refuses it unless forced (no chown of the new tree).

export type AccountFile = 'passwd' | 'group' | 'shadow' | 'gshadow';

/** Colon fields of the id (passwd uid, group gid) and of the member lists, per file. */
const ID_FIELD: Partial<Record<AccountFile, number>> = { passwd: 2, group: 2 };
const MEMBER_FIELDS: Record<AccountFile, number[]> = { passwd: [], group: [3], shadow: [], gshadow: [2, 3] };

export interface AccountClash {
  file: AccountFile;
  detail: string;
}

export interface AccountMerge {
  text: string;
  /** Names whose entry is the admin's (added or changed here). */
  kept: string[];
  /** Names the admin removed (gone from the result). */
  removed: string[];
  /** Names only the new image has. */
  added: string[];
  clashes: AccountClash[];
}

interface Entry {
  name: string;
  fields: string[];
  line: string;
}

function parse(text: string): { entries: Entry[]; byName: Map<string, Entry> } {
  const entries: Entry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const fields = line.split(':');
    entries.push({ name: fields[0]!, fields, line });
  }
  return { entries, byName: new Map(entries.map((e) => [e.name, e])) };
}

const members = (v: string | undefined): string[] => (v ? v.split(',').filter(Boolean) : []);

/** next's list with the admin's additions and removals (admin vs old) replayed on it, next's order first. */
function mergeMembers(o: string | undefined, a: string | undefined, n: string | undefined): string {
  const oldSet = new Set(members(o));
  const adminSet = new Set(members(a));
  const out = members(n).filter((m) => adminSet.has(m) || !oldSet.has(m));
  for (const m of members(a)) if (!oldSet.has(m) && !out.includes(m)) out.push(m);
  return out.join(',');
}

export function mergeAccounts(file: AccountFile, oldText: string, adminText: string, nextText: string): AccountMerge {
  const old = parse(oldText);
  const admin = parse(adminText);
  const next = parse(nextText);
  const result: Entry[] = [];
  const kept: string[] = [];
  const removed: string[] = [];
  const memberFields = MEMBER_FIELDS[file];

  const pick = (name: string): Entry | null => {
    const o = old.byName.get(name);
    const a = admin.byName.get(name);
    const n = next.byName.get(name);
    if (!a) {
      if (o) {
        removed.push(name);
        return null;
      }
      return n ?? null; // only the new image has it
    }
    if (o && o.line === a.line) return n ?? null; // untouched here: the new image's, or gone with it
    if (n && n.line === a.line) return n;
    kept.push(name);
    if (memberFields.length === 0 || !n) return a;
    // The admin's entry, its member lists merged with the new image's.
    const fields = [...a.fields];
    for (const i of memberFields) fields[i] = mergeMembers(o?.fields[i], a.fields[i], n.fields[i]);
    return { name, fields, line: fields.join(':') };
  };

  for (const n of next.entries) {
    const e = pick(n.name);
    if (e) result.push(e);
  }
  for (const a of admin.entries) {
    if (next.byName.has(a.name)) continue;
    const e = pick(a.name);
    if (e) result.push(e);
  }
  for (const o of old.entries) if (!admin.byName.has(o.name) && !next.byName.has(o.name) && !removed.includes(o.name)) removed.push(o.name);

  const added = next.entries.filter((n) => !old.byName.has(n.name) && !admin.byName.has(n.name)).map((n) => n.name);
  return { text: result.map((e) => e.line).join('\n') + (result.length ? '\n' : ''), kept, removed, added, clashes: clashes(file, result, kept, next.byName) };
}

/** Two names with one id, where one of them is the admin's entry (the new image's own ids are its business). */
function clashes(file: AccountFile, result: Entry[], kept: string[], next: Map<string, Entry>): AccountClash[] {
  const field = ID_FIELD[file];
  if (field === undefined) return [];
  const what = file === 'passwd' ? 'uid' : 'gid';
  const out: AccountClash[] = [];
  const keptSet = new Set(kept);
  const byId = new Map<string, Entry[]>();
  for (const e of result) byId.set(e.fields[field]!, [...(byId.get(e.fields[field]!) ?? []), e]);
  for (const [id, es] of byId) {
    if (es.length < 2 || !es.some((e) => keptSet.has(e.name))) continue;
    out.push({ file, detail: `${what} ${id} is ${es.map((e) => `${e.name} (${keptSet.has(e.name) ? 'this host' : 'the new image'})`).join(' and ')}: ${es.map((e) => e.line).join(' | ')}` });
  }
  // The same name with another id in the new image: files of the new image owned by its id would change hands.
  for (const name of kept) {
    const n = next.get(name);
    const mine = result.find((e) => e.name === name);
    if (n && mine && n.fields[field] !== mine.fields[field]) {
      out.push({ file, detail: `${name} has ${what} ${mine.fields[field]} here and ${n.fields[field]} in the new image: ${mine.line} | ${n.line}` });
    }
  }
  return out;
}
