// A recording fake of the machine the step functions act on, installed with adapters/exec's useSpawner: every
// program imgbased runs reaches it instead of the system. It keeps LVM as records (lvcreate, lvchange, lvremove,
// vgchange change them; `lvm lvs --reportformat json` answers from them) and each LV's filesystem as a directory
// (mount copies it onto the mount point, umount copies it back), and refuses what the real tools refuse (a mount
// of an inactive LV, a deactivation of a mounted one, ...). The transcript holds each command as it was run and,
// before it, what changed on /boot since the command before: the order in which things reached the system.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { LvRecord } from '../../../src/core/inventory';
import type { SpawnOutcome, SpawnRequest, Spawner } from '../../../src/adapters/spawn';
import { spawnExeca } from '../../../src/adapters/spawn-execa';

/** Run for real: they only read or write files under the test's temporary directories. */
const PASS_THROUGH = new Set(['grub-editenv', 'grub-script-check', 'cp']);
/** Only read: left out of `changes()`. */
const QUERIES = new Set(['blkid', 'dumpe2fs']);

interface Fs {
  type: string;
  uuid: string;
}

interface Volume {
  rec: LvRecord;
  /** The filesystem's files; null: no filesystem. */
  fs: (Fs & { tree: string }) | null;
  mount: { dir: string; readOnly: boolean; before: Map<string, string> } | null;
}

export interface FakeSystemOptions {
  /** Where the fake keeps its LV trees. */
  dir: string;
  records: LvRecord[];
  /** LV name -> a directory holding its (ext4) filesystem, copied in; LVs not named hold no filesystem. */
  trees: Record<string, string>;
  boot: string;
  /** Image files `e2image` may copy: path -> the directory of their files. */
  images?: Record<string, string>;
  /** What grub-mkconfig writes. */
  grubCfg?: string;
  /** Paths shown as a placeholder in the transcript (e.g. the temporary /boot as $BOOT). */
  names?: Record<string, string>;
  /** Where withMounted makes its mount points (core/paths' MOUNT_DIR, mocked): shown as $MNT, one name for all. */
  mountRoot?: string;
}

const ok = (stdout = ''): SpawnOutcome => ({ stdout, stderr: '', exitCode: 0, notFound: false });
const fail = (code: number, stderr: string): SpawnOutcome => ({ stdout: '', stderr, exitCode: code, notFound: false });

/** Every file under dir (relative path -> content), directories as "dir/". */
function listTree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) {
        out.set(`${relative(dir, p)}/`, '');
        walk(p);
      } else out.set(relative(dir, p), readFileSync(p, 'latin1'));
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

/** "+ a", "~ b", "- c" lines for what changed from `before` to `after`, prefixed. */
function diff(before: Map<string, string>, after: Map<string, string>, prefix: string): string[] {
  const out: string[] = [];
  for (const [k, v] of after) if (!before.has(k)) out.push(`+ ${prefix}${k}`);
  else if (before.get(k) !== v) out.push(`~ ${prefix}${k}`);
  for (const k of before.keys()) if (!after.has(k)) out.push(`- ${prefix}${k}`);
  return out;
}

/** argv options: `--name VALUE` / `-x VALUE` pairs for the flags in `valued`, every other word positional. */
function options(args: string[], valued: string[]): { opt: Map<string, string[]>; pos: string[]; flags: Set<string> } {
  const opt = new Map<string, string[]>();
  const pos: string[] = [];
  const flags = new Set<string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (valued.includes(a)) opt.set(a, [...(opt.get(a) ?? []), args[++i]!]);
    else if (a.startsWith('-')) flags.add(a);
    else pos.push(a);
  }
  return { opt, pos, flags };
}

export class FakeSystem {
  /** Each command as run (paths named as `names` says) and, before it, what changed on /boot. */
  readonly transcript: string[] = [];
  private readonly vols = new Map<string, Volume>();
  private bootSeen: Map<string, string>;
  private uuids = 0;

  constructor(private readonly o: FakeSystemOptions) {
    for (const rec of o.records) {
      const src = o.trees[rec.name];
      this.vols.set(rec.name, { rec: { ...rec, tags: [...rec.tags], vgTags: [...rec.vgTags] }, fs: src ? this.newFs(rec.name, src, `uuid-${rec.name}`) : null, mount: null });
    }
    this.bootSeen = listTree(o.boot);
  }

  /** The LVs as `lvs` reports them now. */
  records(): LvRecord[] {
    return [...this.vols.values()].map((v) => v.rec);
  }

  /** Filesystem UUID of an LV (null: none). */
  fsUuid(lv: string): string | null {
    return this.vols.get(lv)?.fs?.uuid ?? null;
  }

  /** A file inside an LV's filesystem (null: absent). */
  file(lv: string, path: string): string | null {
    const fs = this.vols.get(lv)?.fs;
    const p = fs ? join(fs.tree, path) : '';
    return fs && existsSync(p) ? readFileSync(p, 'utf8') : null;
  }

  /** The transcript without the commands that only read a filesystem's type or features (blkid, dumpe2fs). */
  changes(): string[] {
    this.noteBoot();
    return this.transcript.filter((l) => !QUERIES.has(l.split(' ')[0]!));
  }

  /** Forget what was run so far (the fixture's own setup). */
  clear(): void {
    this.noteBoot();
    this.transcript.length = 0;
  }

  readonly spawner: Spawner = async (req: SpawnRequest) => {
    this.noteBoot();
    this.transcript.push(this.show([req.cmd, ...req.args].join(' ')));
    if (PASS_THROUGH.has(req.cmd)) return spawnExeca(req);
    const r = this.answer(req.cmd, req.args, req.input);
    if (!r) throw new Error(`fake system: no answer for ${[req.cmd, ...req.args].join(' ')}`);
    return r;
  };

  private show(line: string): string {
    let s = line;
    const names = Object.entries(this.o.names ?? {}).sort((a, b) => b[0].length - a[0].length);
    for (const [path, name] of names) s = s.split(path).join(name);
    if (this.o.mountRoot) s = s.replace(new RegExp(`${this.o.mountRoot.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/m[A-Za-z0-9]{6}`, 'g'), '$MNT');
    return s.replace(/\.tmp-\d+/g, '.tmp-PID');
  }

  private noteBoot(): void {
    const now = listTree(this.o.boot);
    this.transcript.push(...diff(this.bootSeen, now, '$BOOT/').map((l) => this.show(l)));
    this.bootSeen = now;
  }

  private newFs(lv: string, from: string | null, uuid: string): Fs & { tree: string } {
    const tree = join(this.o.dir, 'lv', `${lv}.${++this.uuids}`);
    mkdirSync(tree, { recursive: true });
    if (from) cpSync(from, tree, { recursive: true });
    return { type: 'ext4', uuid, tree };
  }

  /** The LV a device path names, when it exists. */
  private dev(path: string | undefined): Volume | undefined {
    const m = /^\/dev\/([^/]+)\/([^/]+)$/.exec(path ?? '');
    return m ? [...this.vols.values()].find((v) => v.rec.vg === m[1] && v.rec.name === m[2]) : undefined;
  }

  private lv(ref: string | undefined): Volume | undefined {
    return this.dev(`/dev/${ref ?? ''}`);
  }

  /** A device the tools can open: the LV exists and is active. */
  private open(path: string | undefined): Volume | SpawnOutcome {
    const v = this.dev(path);
    if (!v) return fail(2, `${path}: No such file or directory`);
    if (!v.rec.active) return fail(2, `${path}: No such device or address (LV not active)`);
    return v;
  }

  private answer(cmd: string, args: string[], input: string | undefined): SpawnOutcome | null {
    switch (cmd) {
      case 'lvm': return this.lvm(args[0]!, args.slice(1));
      case 'sync': case 'xfs_freeze': case 'udevadm': return ok();
      case 'grub-mkconfig': {
        const out = options(args, ['-o']).opt.get('-o')?.[0];
        if (!out) return fail(1, 'grub-mkconfig: no -o');
        writeFileSync(out, this.o.grubCfg ?? '# grub.cfg\n');
        return ok();
      }
      case 'blkid': {
        const v = this.dev(args.at(-1));
        const image = this.o.images?.[args.at(-1) ?? ''];
        const fs = v?.rec.active ? v.fs : image ? { type: 'ext4', uuid: 'uuid-image' } : null;
        if (!fs) return fail(2, '');
        return ok(args.includes('UUID') ? fs.uuid : fs.type);
      }
      case 'e2fsck': case 'resize2fs': case 'dumpe2fs': case 'tune2fs': case 'mkfs.ext4': case 'e2image':
        return this.fsTool(cmd, args, input);
      case 'mount': return this.mount(args);
      case 'umount': return this.umount(args[0]!);
      default: return null;
    }
  }

  private fsTool(cmd: string, args: string[], input: string | undefined): SpawnOutcome {
    const v = this.open(args.at(-1));
    if (!('rec' in v)) return v;
    if (v.mount && cmd !== 'dumpe2fs') return fail(8, `${args.at(-1)} is mounted`);
    if (cmd === 'mkfs.ext4') {
      v.fs = this.newFs(v.rec.name, null, `uuid-mkfs-${this.uuids}`);
      return ok();
    }
    if (cmd === 'e2image') {
      const from = this.o.images?.[args.at(-2) ?? ''];
      if (!from) return fail(1, `e2image: ${args.at(-2)}: no such image`);
      v.fs = this.newFs(v.rec.name, from, 'uuid-image');
      return ok();
    }
    if (!v.fs) return fail(8, `${cmd}: Bad magic number in super-block while trying to open ${args.at(-1)}`);
    if (cmd === 'dumpe2fs') return ok('Filesystem features:      has_journal ext_attr extent 64bit metadata_csum\nBlock count: 262144\nFree blocks: 200000\nBlock size: 4096\n');
    if (cmd === 'tune2fs') {
      if (!args.includes('-U') || input !== 'y\n') return fail(1, 'tune2fs: unexpected arguments');
      v.fs.uuid = `uuid-new-${++this.uuids}`;
    }
    return ok();
  }

  private mount(args: string[]): SpawnOutcome {
    const { opt, pos } = options(args, ['-o']);
    const [devPath, dir] = pos;
    const readOnly = (opt.get('-o')?.[0] ?? 'rw').split(',').includes('ro');
    const v = this.open(devPath);
    if (!('rec' in v)) return fail(32, `mount: ${dir}: special device ${devPath} does not exist`);
    if (!v.fs) return fail(32, `mount: ${dir}: wrong fs type, bad option, bad superblock on ${devPath}`);
    if (v.mount) return fail(32, `mount: ${dir}: ${devPath} already mounted on ${v.mount.dir}`);
    if (!readOnly && v.rec.readOnly) return fail(32, `mount: ${dir}: cannot mount ${devPath} read-write: write-protected`);
    const root = this.o.mountRoot ?? '';
    if (!root.startsWith(tmpdir()) || !dir?.startsWith(`${root}/`)) {
      throw new Error(`fake system: mount on ${dir}: mount points belong under a temporary directory (mock core/paths' MOUNT_DIR in the test file)`);
    }
    if (!existsSync(dir) || readdirSync(dir).length > 0) return fail(32, `mount: ${dir}: mount point is not an empty directory`);
    cpSync(v.fs.tree, dir, { recursive: true });
    v.mount = { dir, readOnly, before: listTree(dir) };
    return ok();
  }

  private umount(dir: string): SpawnOutcome {
    const v = [...this.vols.values()].find((x) => x.mount?.dir === dir);
    if (!v?.mount || !v.fs) return fail(32, `umount: ${dir}: not mounted`);
    const changed = diff(v.mount.before, listTree(dir), `${v.rec.vg}/${v.rec.name}:/`);
    if (changed.length > 0 && v.mount.readOnly) throw new Error(`fake system: wrote to read-only mount of ${v.rec.name}: ${changed.join(', ')}`);
    this.transcript.push(...changed);
    rmSync(v.fs.tree, { recursive: true });
    cpSync(dir, v.fs.tree, { recursive: true });
    for (const n of readdirSync(dir)) rmSync(join(dir, n), { recursive: true });
    v.mount = null;
    return ok();
  }

  private lvm(sub: string, args: string[]): SpawnOutcome | null {
    const { opt, pos, flags } = options(args, ['--addtag', '--deltag', '--name', '--permission', '--setactivationskip', '--type', '--thinpool', '--virtualsize', '--reportformat', '--units', '-o']);
    const target = pos.at(-1);
    switch (sub) {
      case 'lvs': return ok(this.report(opt.get('-o')?.[0]?.split(',') ?? []));
      case 'vgchange': {
        for (const v of this.vols.values()) {
          if (v.rec.vg !== target) continue;
          v.rec.vgTags = v.rec.vgTags.filter((t) => !opt.get('--deltag')?.includes(t));
          for (const t of opt.get('--addtag') ?? []) if (!v.rec.vgTags.includes(t)) v.rec.vgTags.push(t);
        }
        return ok();
      }
      case 'lvcreate': return this.lvcreate(opt, flags, target);
      case 'lvremove': {
        const v = this.lv(target);
        if (!v) return fail(5, `Failed to find logical volume "${target}"`);
        if (v.mount) return fail(5, `Logical volume ${target} contains a filesystem in use.`);
        this.vols.delete(v.rec.name);
        return ok();
      }
      case 'lvchange': {
        const v = this.lv(target);
        if (!v) return fail(5, `Failed to find logical volume "${target}"`);
        if (flags.has('-an')) {
          if (v.mount) return fail(5, `Logical volume ${target} in use.`);
          v.rec.active = false;
        }
        if (flags.has('-ay')) {
          if (v.rec.skipActivation && !flags.has('-K')) return ok();
          v.rec.active = true;
        }
        v.rec.tags = v.rec.tags.filter((t) => !opt.get('--deltag')?.includes(t));
        for (const t of opt.get('--addtag') ?? []) if (!v.rec.tags.includes(t)) v.rec.tags.push(t);
        const perm = opt.get('--permission')?.[0];
        if (perm) v.rec.readOnly = perm === 'r';
        const skip = opt.get('--setactivationskip')?.[0];
        if (skip) v.rec.skipActivation = skip === 'y';
        return ok();
      }
      default: return null;
    }
  }

  private lvcreate(opt: Map<string, string[]>, flags: Set<string>, target: string | undefined): SpawnOutcome {
    const name = opt.get('--name')?.[0] ?? '';
    const snapshot = flags.has('--snapshot');
    const origin = snapshot ? this.lv(target) : undefined;
    const vg = snapshot ? origin?.rec.vg : target;
    if (snapshot && !origin) return fail(5, `Failed to find logical volume "${target}"`);
    if ([...this.vols.values()].some((v) => v.rec.vg === vg && v.rec.name === name)) return fail(5, `Logical Volume "${name}" already exists in volume group "${vg}"`);
    const pool = snapshot ? origin!.rec.pool : opt.get('--thinpool')?.[0] ?? '';
    if (!this.lv(`${vg}/${pool}`)) return fail(5, `Thin pool ${vg}/${pool} not found`);
    const skip = opt.get('--setactivationskip')?.[0] !== 'n';
    const vgTags = [...this.vols.values()].find((v) => v.rec.vg === vg)?.rec.vgTags ?? [];
    const rec: LvRecord = {
      vg: vg!, name, attr: 'Vwi---tz--', sizeBytes: origin?.rec.sizeBytes ?? Number((opt.get('--virtualsize')?.[0] ?? '0').replace(/b$/, '')),
      pool, origin: origin?.rec.name ?? '', tags: [...(opt.get('--addtag') ?? [])], vgTags: [...vgTags], dataPercent: 0, metadataPercent: null,
      path: `/dev/${vg}/${name}`, segtype: 'thin', skipActivation: skip, active: !skip, readOnly: opt.get('--permission')?.[0] === 'r', uuid: `lv-uuid-${name}`,
    };
    // A thin snapshot shares its origin's blocks: the same filesystem, UUID and all.
    const fs = origin?.fs ? { ...this.newFs(name, origin.fs.tree, origin.fs.uuid) } : null;
    this.vols.set(name, { rec, fs, mount: null });
    return ok();
  }

  /** `lvs --reportformat json -o FIELDS` of the records. */
  private report(fields: string[]): string {
    const value = (r: LvRecord, f: string): string => {
      switch (f) {
        case 'lv_name': return r.name;
        case 'vg_name': return r.vg;
        case 'lv_attr': return `${r.attr[0]}${r.readOnly ? 'r' : 'w'}${r.attr.slice(2, 4)}${r.active ? 'a' : '-'}${r.attr.slice(5, 9)}${r.skipActivation ? 'k' : '-'}`;
        case 'lv_size': return String(r.sizeBytes);
        case 'pool_lv': return r.pool;
        case 'origin': return r.origin;
        case 'lv_tags': return r.tags.join(',');
        case 'vg_tags': return r.vgTags.join(',');
        case 'data_percent': return r.dataPercent === null ? '' : String(r.dataPercent);
        case 'metadata_percent': return r.metadataPercent === null ? '' : String(r.metadataPercent);
        case 'lv_path': return r.path;
        case 'segtype': return r.segtype;
        case 'lv_skip_activation': return r.skipActivation ? 'skip activation' : '';
        case 'lv_active': return r.active ? 'active' : '';
        case 'lv_permissions': return r.readOnly ? 'read-only' : 'writeable';
        case 'lv_uuid': return r.uuid;
        default: return '';
      }
    };
    const lv = this.records().map((r) => Object.fromEntries(fields.map((f) => [f, value(r, f)])));
    return JSON.stringify({ report: [{ lv }] });
  }
}
