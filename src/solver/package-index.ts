/**
 * The lookup structures the resolver works on, built once per set of repositories and reused by every solve:
 * names (package names and every provided name) with their providers in apk's order, install_if
 * reverse links, repository tags. Mirrors apk-tools' database (apk_db_pkg_add, apk_db_add_repository).
 *
 * Cost model (Alpine main + community: 23,030 records, 52,000 names, 9.3 MB of text): building scans the
 * APKINDEX text once and keeps numbers only — offsets into the text and name ids from a hand-written
 * intern table that hashes names in place, so no string or object is made per record. Name and package
 * objects are made when the solver first reaches them; `D:` is parsed then; a full PackageInfo only for
 * packages in a result.
 *
 * apk walks several lists in the order of its name hash table (see hashOrder). Within a hash bucket that
 * order is by when apk first read the name; names are numbered here as P:, p: and i: introduce them, which
 * differs when a name's first mention is a D: entry of an earlier record (no effect seen in 220 worlds).
 */
import { formatApkIndexText, parseApkIndexText } from '../apk/apkindex-text.ts';
import { type Dependency, tryParseDependency } from '../apk/dependency.ts';
import type { PackageInfo } from '../apk/types.ts';
import { DEFAULT_VERSION_RULES, VERSION_FUZZY, type VersionRules } from '../apk/version.ts';
import { LadingError } from '../util/errors.ts';

/** One configured repository with its index, in configured order. Give `text` (fastest) or `packages`. */
export interface SolverRepository {
  /** The repository as configured (URL or path, without `@tag`); copied to RepositoryPackage.repository. */
  repository: string;
  /** Set for a repository configured as `@tag repository`: its packages are only used when asked for. */
  tag?: string;
  /** The parsed index. */
  packages?: readonly PackageInfo[];
  /** The APKINDEX text (the `APKINDEX` member of APKINDEX.tar.gz), used instead of `packages` when set. */
  text?: string;
  /** Where the index came from, for errors about its content. */
  file?: string;
  /**
   * false: the index is known but its packages cannot be fetched (apk's --no-network for a remote
   * repository); its packages are only kept when already installed.
   */
  available?: boolean;
}

/** A package of the installed database (e.g. a base image's `lib/apk/db/installed`). */
export interface InstalledPackage {
  info: PackageInfo;
  /** The repository tag it was pinned to (`s:` in the installed database). */
  tag?: string;
}

export interface IndexOptions {
  /** Target architecture: packages of another arch (other than `noarch`) are not candidates. */
  arch?: string;
  installed?: readonly InstalledPackage[];
  rules?: VersionRules;
}

/** A package name or provided name. Its lists are made on first use, so that reaching one name does not make them all. */
export class NameNode {
  readonly id: number;
  readonly name: string;
  /** apk's name priority: 0 only real packages provide it, 1 mixed, 2 only provides (-1: not computed). */
  priority = -1;
  readonly #index: PackageIndex;
  #providers: Provider[] | undefined;
  #rinstallIf: NameNode[] | undefined;

  constructor(index: PackageIndex, id: number, name: string) {
    this.#index = index;
    this.id = id;
    this.name = name;
  }

  /** Every package providing this name (itself or through `provides`), in the order apk adds them. */
  get providers(): Provider[] {
    if (this.#providers === undefined) {
      this.#providers = [];
      this.#index.fillProviders(this, this.#providers);
    }
    return this.#providers;
  }

  /** Names with a provider whose install_if mentions this name. */
  get rinstallIf(): NameNode[] {
    this.#rinstallIf ??= this.#index.reverseInstallIf(this);
    return this.#rinstallIf;
  }
}

export interface Provider {
  pkg: PkgNode;
  /** The version the name is provided at; null for an unversioned (virtual) provide. */
  version: string | null;
}

/** A dependency, install_if or world entry resolved against the name table. */
export interface DepNode {
  name: NameNode;
  conflict: boolean;
  mask: number;
  fuzzy: boolean;
  version: string | null;
  /** Repository tag id (0 = none). */
  tagId: number;
  dep: Dependency;
}

export interface PkgNode {
  /** The record's number in the index. */
  id: number;
  name: NameNode;
  version: string;
  checksum: string | undefined;
  installedSize: number;
  providerPriority: number;
  /** Bit i set: listed in repository i. */
  repos: number;
  installed: boolean;
  /** Tag id the installed package was pinned to. */
  installedTagId: number;
  provides: Provider[];
  providesNames: NameNode[];
  installIf: DepNode[];
  /** Parsed on first use (see dependsOf). */
  depends: DepNode[] | undefined;
  /** The full record: given, or parsed from the index text on first use (see infoOf). */
  info: PackageInfo | undefined;
}

export interface RepoTag {
  id: number;
  /** '' for the default (untagged) repositories. */
  name: string;
  /** Bit mask of repositories configured with this tag. */
  repos: number;
}

const MAX_REPOSITORIES = 30;

/** A body of index text records come from: a repository, or the installed database. */
interface Source {
  text: string;
  file: string;
  /** Repository index, or -1 for the installed database. */
  repo: number;
  /** The records' PackageInfo when the source was given parsed. */
  infos: readonly PackageInfo[] | undefined;
}

/** Hash of text[start, end) (FNV-1a over UTF-16 code units). */
function hashRange(text: string, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export class PackageIndex {
  readonly rules: VersionRules;
  readonly arch: string | undefined;
  readonly repositories: readonly SolverRepository[];
  readonly tags: RepoTag[] = [{ id: 0, name: '', repos: 0 }];
  /** Bit mask of the repositories whose packages can be fetched. */
  readonly availableRepos: number;
  /** Names seen only on packages of another architecture, for explanations. */
  readonly otherArchNames = new Map<string, string>();
  /** The installed packages, in installed-database order. */
  readonly installed: PkgNode[] = [];

  private readonly sources: Source[] = [];
  private readonly depCache = new Map<string, DepNode>();

  // ---- name intern table: ids, where each name's text is, its hash, and open addressing slots ----
  private nameSource: number[] = []; // source index, or -1 when the string is in nameStrings
  private nameStart: number[] = [];
  private nameEnd: number[] = [];
  private nameHash: number[] = [];
  private nameStrings: (string | undefined)[] = [];
  private slots = new Int32Array(1 << 17).fill(-1);
  private nameCount = 0;
  /** Per name: first/last provider entry, first trigger entry (install_if mentioning it). */
  private provHead: number[] = [];
  private provTail: number[] = [];
  private trigHead: number[] = [];
  /** Dense arrays indexed by name id (filled as names are interned, so V8 keeps them fast). */
  private readonly nameNodes: (NameNode | undefined)[] = [];
  /** The dependency on a bare name, by name id. */
  private readonly bareDeps: (DepNode | undefined)[] = [];
  /** hashOrder keys by name id (-1: not computed). */
  private readonly nameOrderKeys: number[] = [];

  // ---- provider entries (a record providing a name), linked per name in record order ----
  private entRecord: number[] = [];
  private entName: number[] = [];
  /** Version of a provide as offsets into the record's source; -1: the package's own name; -2: unversioned. */
  private entVerStart: number[] = [];
  private entVerEnd: number[] = [];
  private entNext: number[] = [];

  // ---- install_if trigger entries, linked per trigger name ----
  private trigRecord: number[] = [];
  private trigNext: number[] = [];

  // ---- records ----
  private recSource: number[] = [];
  private recStart: number[] = [];
  private recEnd: number[] = [];
  private recName: number[] = [];
  private recVerStart: number[] = [];
  private recVerEnd: number[] = [];
  private recChecksum: (string | undefined)[] = [];
  private recInstalledSize: number[] = [];
  private recPriority: number[] = [];
  private recRepos: number[] = [];
  /** First provider entry of the record (its own name); its provides follow. */
  private recEntry: number[] = [];
  private recProvides: number[] = [];
  /** `D:` and `i:` as offsets into the source text, or -1 with the text in recJoined (repeated lines). */
  private recDepStart: number[] = [];
  private recDepEnd: number[] = [];
  private recIifStart: number[] = [];
  private recIifEnd: number[] = [];
  private readonly recJoined = new Map<number, { depends: string; installIf: string }>();
  private readonly recNodes: (PkgNode | undefined)[] = [];
  private readonly byChecksum = new Map<string, number>();
  /** The PackageInfo of records that were given parsed. */
  private readonly infoFor = new Map<number, PackageInfo>();

  constructor(repositories: readonly SolverRepository[], options: IndexOptions = {}) {
    this.rules = options.rules ?? DEFAULT_VERSION_RULES;
    this.arch = options.arch;
    this.repositories = repositories;
    if (repositories.length > MAX_REPOSITORIES) {
      throw new LadingError(
        'SOLVER_TOO_MANY_REPOSITORIES',
        `${repositories.length} repositories configured`,
        {
          hint: `at most ${MAX_REPOSITORIES} repositories are supported (apk-tools allows about as many)`,
        },
      );
    }
    let available = 0;
    repositories.forEach((r, i) => {
      const tag = this.tagId(r.tag ?? '');
      this.tags[tag]!.repos |= 1 << i;
      if (r.available !== false) available |= 1 << i;
    });
    this.availableRepos = available;
    const installed = options.installed ?? [];
    if (installed.length > 0) {
      const infos = installed.map((i) => i.info);
      const records = this.scan({
        text: formatApkIndexText(infos),
        file: 'installed database',
        repo: -1,
        infos,
      });
      installed.forEach((ip, i) => {
        const rec = records[i]!;
        if (rec === -1 || this.recNodes[rec]?.installed) return;
        const pkg = this.record(rec);
        pkg.installed = true;
        if (ip.tag !== undefined) pkg.installedTagId = this.tagId(ip.tag);
        this.installed.push(pkg);
      });
    }
    repositories.forEach((r, i) => {
      if (r.text !== undefined)
        this.scan({ text: r.text, file: r.file ?? r.repository, repo: i, infos: undefined });
      else {
        const infos = r.packages ?? [];
        this.scan({ text: formatApkIndexText(infos), file: r.file ?? r.repository, repo: i, infos });
      }
    });
  }

  /** The id of a repository tag, creating an (empty) one for unknown tags as apk does. */
  tagId(tag: string): number {
    let t = this.tags.find((x) => x.name === tag);
    if (t === undefined) {
      // tags are bits of 32-bit pinning masks, as in apk
      if (this.tags.length >= 31) {
        throw new LadingError('SOLVER_TOO_MANY_TAGS', `too many repository tags (at "@${tag}")`, {
          hint: 'use at most 30 different @tags across repositories, the world and the installed database',
        });
      }
      t = { id: this.tags.length, name: tag, repos: 0 };
      this.tags.push(t);
    }
    return t.id;
  }

  /** Repositories allowed by a pinning mask (bit i = tag id i): apk_db_get_pinning_mask_repos. */
  pinningRepos(mask: number): number {
    let repos = 0;
    for (let i = 0; i < this.tags.length; i++) if (mask & (1 << i)) repos |= this.tags[i]!.repos;
    return repos;
  }

  // ---- the intern table ----

  private internRange(src: number, text: string, start: number, end: number): number {
    const h = hashRange(text, start, end);
    const mask = this.slots.length - 1;
    const len = end - start;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const id = this.slots[s]!;
      if (id === -1) {
        const nid = this.nameCount++;
        this.nameSource.push(src);
        this.nameStart.push(start);
        this.nameEnd.push(end);
        this.nameHash.push(h);
        this.nameStrings.push(src === -1 ? text.slice(start, end) : undefined);
        this.provHead.push(-1);
        this.provTail.push(-1);
        this.trigHead.push(-1);
        this.nameNodes.push(undefined);
        this.nameOrderKeys.push(-1);
        this.bareDeps.push(undefined);
        this.slots[s] = nid;
        if (this.nameCount * 2 > this.slots.length) this.grow();
        return nid;
      }
      if (this.nameHash[id] !== h || this.nameEnd[id]! - this.nameStart[id]! !== len) continue;
      if (this.sameText(id, text, start, len)) return id;
    }
  }

  private sameText(id: number, text: string, start: number, len: number): boolean {
    const src = this.nameSource[id]!;
    const other = src === -1 ? this.nameStrings[id]! : this.sources[src]!.text;
    const os = src === -1 ? 0 : this.nameStart[id]!;
    for (let i = 0; i < len; i++) if (other.charCodeAt(os + i) !== text.charCodeAt(start + i)) return false;
    return true;
  }

  private grow(): void {
    const slots = new Int32Array(this.slots.length * 2).fill(-1);
    const mask = slots.length - 1;
    for (let id = 0; id < this.nameCount; id++) {
      let s = this.nameHash[id]! & mask;
      while (slots[s] !== -1) s = (s + 1) & mask;
      slots[s] = id;
    }
    this.slots = slots;
  }

  private findId(name: string): number {
    const h = hashRange(name, 0, name.length);
    const mask = this.slots.length - 1;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const id = this.slots[s]!;
      if (id === -1) return -1;
      if (
        this.nameHash[id] === h &&
        this.nameEnd[id]! - this.nameStart[id]! === name.length &&
        this.sameText(id, name, 0, name.length)
      )
        return id;
    }
  }

  private nameString(id: number): string {
    let s = this.nameStrings[id];
    if (s === undefined) {
      s = this.sources[this.nameSource[id]!]!.text.slice(this.nameStart[id], this.nameEnd[id]);
      this.nameStrings[id] = s;
    }
    return s;
  }

  /** The name's node, if any package or dependency mentions it. */
  findName(name: string): NameNode | undefined {
    const id = this.findId(name);
    return id === -1 ? undefined : this.nameNode(id);
  }

  /** The name's node, created (without providers) when nothing mentions it yet. */
  getName(name: string): NameNode {
    const id = this.findId(name);
    return this.nameNode(id === -1 ? this.internRange(-1, name, 0, name.length) : id);
  }

  /**
   * Where apk-tools' name hash table puts a name: the order apk_hash_foreach visits names, which is the
   * order of every name's install_if and reverse-dependency lists (and so of install order and explanations).
   * Buckets by hash, newest name first within a bucket (names are created in the order apk reads them).
   */
  hashOrder(n: NameNode): number {
    let key = this.nameOrderKeys[n.id]!;
    if (key < 0) {
      key = apkNameBucket(n.name) * 0x4000000 + (0x3ffffff - n.id);
      this.nameOrderKeys[n.id] = key;
    }
    return key;
  }

  /** Calls `fn` with every name that some package has or provides. */
  forEachProvidedName(fn: (name: string) => void): void {
    for (let id = 0; id < this.nameCount; id++) if (this.provHead[id] !== -1) fn(this.nameString(id));
  }

  private nameNode(id: number): NameNode {
    let n = this.nameNodes[id];
    if (n === undefined) {
      n = new NameNode(this, id, this.nameString(id));
      this.nameNodes[id] = n;
    }
    return n;
  }

  /** Fills a name's provider list (NameNode.providers), in record order. */
  fillProviders(n: NameNode, out: Provider[]): void {
    for (let e = this.provHead[n.id]!; e !== -1; e = this.entNext[e]!) {
      const rec = this.entRecord[e]!;
      const pkg = this.record(rec);
      if (this.entVerStart[e] === -1) out.push({ pkg, version: pkg.version });
      else out.push(pkg.provides[e - this.recEntry[rec]! - 1]!);
    }
  }

  /** The names of each package whose install_if mentions `n`: its own and its provides (NameNode.rinstallIf). */
  reverseInstallIf(n: NameNode): NameNode[] {
    const out: NameNode[] = [];
    if (this.trigHead[n.id] === -1) return out;
    const seen = new Set<number>();
    const add = (nid: number) => {
      if (seen.has(nid)) return;
      seen.add(nid);
      out.push(this.nameNode(nid));
    };
    for (let t = this.trigHead[n.id]!; t !== -1; t = this.trigNext[t]!) {
      const rec = this.trigRecord[t]!;
      add(this.recName[rec]!);
      const first = this.recEntry[rec]! + 1;
      for (let e = first; e < first + this.recProvides[rec]!; e++) add(this.entName[e]!);
    }
    return out.sort((a, b) => this.hashOrder(a) - this.hashOrder(b));
  }

  namePriority(n: NameNode): number {
    if (n.priority < 0) {
      let virtual = 0;
      for (const p of n.providers) if (p.pkg.name !== n) virtual++;
      n.priority = virtual === 0 ? 0 : virtual === n.providers.length ? 2 : 1;
    }
    return n.priority;
  }

  // ---- scanning ----

  /**
   * Reads records (blank-line separated `X:value` lines) keeping offsets only. Written by hand because it
   * is the hot path of every resolve; repeated D/p/i lines are joined as apk-tools does.
   */
  private scan(source: Source): number[] {
    const si = this.sources.length;
    this.sources.push(source);
    const { text, file } = source;
    const len = text.length;
    const arch = this.arch;
    const pLines: number[] = [];
    const iLines: number[] = [];
    const dLines: number[] = [];
    const provided: number[] = []; // name id, version start (-2: none), version end
    const triggers: number[] = [];
    /** For each record of the text: the record it became (or was merged into), -1 when skipped. */
    const records: number[] = [];
    let index = 0;
    let pos = 0;
    while (pos < len) {
      if (text.charCodeAt(pos) === 10) {
        pos++;
        continue;
      }
      const start = pos;
      let nameStart = -1;
      let nameEnd = -1;
      let verStart = -1;
      let verEnd = -1;
      let archStart = -1;
      let archEnd = -1;
      let checksum: string | undefined;
      let installedSize = 0;
      let priority = 0;
      pLines.length = iLines.length = dLines.length = 0;
      while (pos < len) {
        let nl = text.indexOf('\n', pos);
        if (nl === -1) nl = len;
        if (nl === pos) break;
        if (nl - pos < 2 || text.charCodeAt(pos + 1) !== 58 /* : */) badLine(text, pos, nl, file);
        switch (text.charCodeAt(pos)) {
          case 80 /* P */:
            nameStart = pos + 2;
            nameEnd = nl;
            break;
          case 86 /* V */:
            verStart = pos + 2;
            verEnd = nl;
            break;
          case 65 /* A */:
            archStart = pos + 2;
            archEnd = nl;
            break;
          case 67 /* C */:
            checksum = text.slice(pos + 2, nl);
            break;
          case 73 /* I */:
            installedSize = readUint(text, pos + 2, nl, file);
            break;
          case 107 /* k */:
            priority = readUint(text, pos + 2, nl, file);
            break;
          case 68 /* D */:
            dLines.push(pos + 2, nl);
            break;
          case 112 /* p */:
            pLines.push(pos + 2, nl);
            break;
          case 105 /* i */:
            iLines.push(pos + 2, nl);
            break;
        }
        pos = nl + 1;
      }
      const end = Math.min(pos, len);
      const recordIndex = index++;
      if (nameStart === -1 || verStart === -1 || nameEnd === nameStart || verEnd === verStart) {
        throw new LadingError(
          'APKINDEX_BAD_RECORD',
          `record without ${nameStart === -1 || nameEnd === nameStart ? 'P:' : 'V:'} field`,
          { file, line: lineOf(text, start), hint: 'the index is corrupt; rebuild it with `lading index`' },
        );
      }
      // apk creates names as it reads a record: P, then the D, p and i entries (Alpine's field order). That
      // order decides apk's hash-table order, which orders install_if and reverse dependencies, so names
      // are interned in the same order here, before the record may be skipped. Words are split in place
      // (no closure or string per word: this runs for every record).
      const name = this.internRange(si, text, nameStart, nameEnd);
      provided.length = 0;
      for (let l = 0; l < pLines.length; l += 2) {
        const to = pLines[l + 1]!;
        for (let ws = pLines[l]!; ws < to; ) {
          let we = ws;
          while (we < to && text.charCodeAt(we) !== 32) we++;
          if (we > ws) {
            // A provide is `name` or `name=version`.
            let ne = ws;
            while (ne < we && text.charCodeAt(ne) !== 61 /* = */) ne++;
            provided.push(this.internRange(si, text, ws, ne), ne === we ? -2 : ne + 1, we);
          }
          ws = we + 1;
        }
      }
      triggers.length = 0;
      for (let l = 0; l < iLines.length; l += 2) {
        const to = iLines[l + 1]!;
        for (let ws = iLines[l]!; ws < to; ) {
          let we = ws;
          while (we < to && text.charCodeAt(we) !== 32) we++;
          let ns = ws;
          if (text.charCodeAt(ns) === 33 /* ! */) ns++;
          let ne = ns;
          while (ne < we && !isNameEnd(text.charCodeAt(ne))) ne++;
          // (an empty name is reported when the install_if is parsed)
          if (ne > ns) triggers.push(this.internRange(si, text, ns, ne));
          ws = we + 1;
        }
      }
      if (
        arch !== undefined &&
        archStart !== -1 &&
        !(archEnd - archStart === arch.length && text.startsWith(arch, archStart)) &&
        !(archEnd - archStart === 6 && text.startsWith('noarch', archStart))
      ) {
        if (this.provHead[name] === -1)
          this.otherArchNames.set(this.nameString(name), text.slice(archStart, archEnd));
        records.push(-1);
        continue;
      }
      const repoBit = source.repo >= 0 ? 1 << source.repo : 0;
      // The same package (same checksum, whatever its name) listed again: remember its repository too.
      const identity = checksum === undefined ? undefined : checksumIdentity(checksum);
      if (identity !== undefined) {
        const same = this.byChecksum.get(identity);
        if (same !== undefined) {
          this.recRepos[same]! |= repoBit;
          const made = this.recNodes[same];
          if (made !== undefined) made.repos |= repoBit;
          records.push(same);
          continue;
        }
      }
      const rec = this.recStart.length;
      records.push(rec);
      if (identity !== undefined) this.byChecksum.set(identity, rec);
      this.recSource.push(si);
      this.recStart.push(start);
      this.recEnd.push(end);
      this.recVerStart.push(verStart);
      this.recVerEnd.push(verEnd);
      this.recChecksum.push(checksum);
      this.recInstalledSize.push(installedSize);
      this.recPriority.push(priority);
      this.recRepos.push(repoBit);
      this.recNodes.push(undefined);
      this.recName.push(name);
      this.recEntry.push(this.entRecord.length);
      this.addEntry(name, rec, -1, -1);
      for (let i = 0; i < provided.length; i += 3)
        this.addEntry(provided[i]!, rec, provided[i + 1]!, provided[i + 2]!);
      this.recProvides.push(provided.length / 3);
      for (const trigger of triggers) {
        this.trigRecord.push(rec);
        this.trigNext.push(this.trigHead[trigger]!);
        this.trigHead[trigger] = this.trigRecord.length - 1;
      }
      const dOne = dLines.length <= 2;
      const iOne = iLines.length <= 2;
      this.recDepStart.push(dOne ? (dLines[0] ?? 0) : -1);
      this.recDepEnd.push(dOne ? (dLines[1] ?? 0) : -1);
      this.recIifStart.push(iOne ? (iLines[0] ?? 0) : -1);
      this.recIifEnd.push(iOne ? (iLines[1] ?? 0) : -1);
      if (!dOne || !iOne) {
        this.recJoined.set(rec, { depends: joinRanges(text, dLines), installIf: joinRanges(text, iLines) });
      }
      if (source.infos !== undefined) this.infoFor.set(rec, source.infos[recordIndex]!);
    }
    return records;
  }

  private addEntry(name: number, rec: number, verStart: number, verEnd: number): void {
    const e = this.entRecord.length;
    this.entRecord.push(rec);
    this.entName.push(name);
    this.entVerStart.push(verStart);
    this.entVerEnd.push(verEnd);
    this.entNext.push(-1);
    // providers stay in record order: append at the tail
    if (this.provTail[name] === -1) this.provHead[name] = e;
    else this.entNext[this.provTail[name]!] = e;
    this.provTail[name] = e;
  }

  /** The package of record `rec`, made on first use. */
  private record(rec: number): PkgNode {
    let pkg = this.recNodes[rec];
    if (pkg !== undefined) return pkg;
    const src = this.sources[this.recSource[rec]!]!;
    pkg = {
      id: rec,
      name: undefined as unknown as NameNode, // set below, after registering (the name lists this package)
      version: src.text.slice(this.recVerStart[rec], this.recVerEnd[rec]),
      checksum: this.recChecksum[rec],
      installedSize: this.recInstalledSize[rec]!,
      providerPriority: this.recPriority[rec]!,
      repos: this.recRepos[rec]!,
      installed: false,
      installedTagId: 0,
      provides: [],
      providesNames: [],
      installIf: [],
      depends: undefined,
      info: this.infoFor.get(rec),
    };
    this.recNodes[rec] = pkg;
    // provides first: the name lists of the package's own name and provides refer to them
    const first = this.recEntry[rec]! + 1;
    for (let e = first; e < first + this.recProvides[rec]!; e++) {
      const vs = this.entVerStart[e]!;
      pkg.provides.push({ pkg, version: vs === -2 ? null : src.text.slice(vs, this.entVerEnd[e]) });
    }
    pkg.name = this.nameNode(this.recName[rec]!);
    for (let e = first; e < first + this.recProvides[rec]!; e++)
      pkg.providesNames.push(this.nameNode(this.entName[e]!));
    const iif = this.installIfText(rec);
    if (iif !== '') forEachWord(iif, (t) => pkg.installIf.push(this.dep(t, pkg)));
    return pkg;
  }

  private installIfText(rec: number): string {
    const s = this.recIifStart[rec]!;
    if (s === -1) return this.recJoined.get(rec)!.installIf;
    return this.sources[this.recSource[rec]!]!.text.slice(s, this.recIifEnd[rec]);
  }

  /** The package's full record (parsed from the index text on first use). */
  infoOf(pkg: PkgNode): PackageInfo {
    if (pkg.info === undefined) {
      const src = this.sources[this.recSource[pkg.id]!]!;
      const [info] = parseApkIndexText(src.text.slice(this.recStart[pkg.id], this.recEnd[pkg.id]), src.file);
      pkg.info = info!;
    }
    return pkg.info;
  }

  /** A parsed dependency, shared between all packages that spell it the same way. */
  dep(text: string, owner?: PkgNode, what?: string): DepNode {
    let d = this.depCache.get(text);
    if (d === undefined) {
      const parsed = tryParseDependency(text, this.rules);
      if (typeof parsed === 'string') {
        const who = owner ? `${owner.name.name}-${owner.version}` : undefined;
        const src = owner ? this.sources[this.recSource[owner.id]!] : undefined;
        throw new LadingError(
          'DEPENDENCY_INVALID',
          `invalid ${what ?? (who ? `dependency of ${who}` : 'dependency')} ${JSON.stringify(text)}: ${parsed}`,
          {
            file: src?.file,
            hint: owner
              ? 'the repository index is corrupt or was written by an incompatible tool'
              : 'the format is [!]name[@tag][op version] with op one of = < > <= >= ~ (e.g. busybox, python3~3.11, curl@edge>=8)',
          },
        );
      }
      d = {
        name: this.getName(parsed.name),
        conflict: parsed.conflict,
        mask: parsed.mask,
        fuzzy: (parsed.mask & VERSION_FUZZY) !== 0,
        version: parsed.version ?? null,
        tagId: parsed.tag === undefined ? 0 : this.tagId(parsed.tag),
        dep: parsed,
      };
      this.depCache.set(text, d);
    }
    return d;
  }

  /** The package's dependencies, parsed on first use. */
  dependsOf(pkg: PkgNode): DepNode[] {
    if (pkg.depends !== undefined) return pkg.depends;
    const deps: DepNode[] = [];
    pkg.depends = deps;
    const rec = pkg.id;
    const start = this.recDepStart[rec]!;
    if (start === -1) {
      forEachWord(this.recJoined.get(rec)!.depends, (t) => deps.push(this.dep(t, pkg)));
      return deps;
    }
    // Most dependencies are a bare name: look those up in place in the index text, without a string.
    const si = this.recSource[rec]!;
    const text = this.sources[si]!.text;
    const to = this.recDepEnd[rec]!;
    for (let ws = start; ws < to; ) {
      let we = ws;
      let bare = text.charCodeAt(ws) !== 33; /* ! */
      while (we < to) {
        const c = text.charCodeAt(we);
        if (c === 32) break;
        if (isNameEnd(c)) bare = false;
        we++;
      }
      if (we > ws) {
        if (bare) {
          const id = this.internRange(si, text, ws, we);
          let d = this.bareDeps[id];
          if (d === undefined) {
            d = this.dep(this.nameString(id), pkg);
            this.bareDeps[id] = d;
          }
          deps.push(d);
        } else {
          deps.push(this.dep(text.slice(ws, we), pkg));
        }
      }
      ws = we + 1;
    }
    return deps;
  }

  /** Names interned so far (ids are below this; more appear when unknown names are looked up). */
  nameCapacity(): number {
    return this.nameCount;
  }

  /** Package records (ids are below this). */
  packageCapacity(): number {
    return this.recStart.length;
  }

  /** Index of the lowest repository a package is listed in (-1: installed only). */
  static lowestRepository(repos: number): number {
    return lowestBit(repos);
  }
}

/** apk-tools 2.14 sizes its name hash table at 20000 buckets (apk_db_init). */
const NAME_BUCKETS = 20000;

/**
 * The bucket of a name in apk's name table: apk_blob_hash, which is MurmurHash3 (x86, 32-bit) of the
 * name's bytes with seed 5381 (found by matching apk 2.14.4's printed orders), modulo the bucket count.
 */
function apkNameBucket(name: string): number {
  let ascii = true;
  for (let i = 0; i < name.length && ascii; i++) ascii = name.charCodeAt(i) < 128;
  const data: ArrayLike<number> = ascii ? asciiCodes(name) : Buffer.from(name, 'utf8');
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = 5381;
  const blocks = data.length & ~3;
  for (let i = 0; i < blocks; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = data.length & 3;
  if (tail > 0) {
    let k = data[blocks]!;
    if (tail > 1) k ^= data[blocks + 1]! << 8;
    if (tail > 2) k ^= data[blocks + 2]! << 16;
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
  }
  h ^= data.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) % NAME_BUCKETS;
}

const codes: number[] = [];
function asciiCodes(s: string): number[] {
  codes.length = s.length;
  for (let i = 0; i < s.length; i++) codes[i] = s.charCodeAt(i);
  return codes;
}

/** Characters that end the name part of a dependency (`@tag`, an operator). */
const isNameEnd = (c: number): boolean => c === 64 || c === 60 || c === 61 || c === 62 || c === 126;

function joinRanges(text: string, ranges: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < ranges.length; i += 2) parts.push(text.slice(ranges[i], ranges[i + 1]));
  return parts.join(' ');
}

/** Calls `fn` for each space-separated word of a string. */
function forEachWord(words: string, fn: (w: string) => void): void {
  let pos = 0;
  while (pos < words.length) {
    let sp = words.indexOf(' ', pos);
    if (sp === -1) sp = words.length;
    if (sp > pos) fn(words.slice(pos, sp));
    pos = sp + 1;
  }
}

function lineOf(text: string, pos: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < pos; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

function badLine(text: string, pos: number, nl: number, file: string): never {
  throw new LadingError(
    'APKINDEX_BAD_LINE',
    `malformed line ${JSON.stringify(text.slice(pos, Math.min(nl, pos + 60)))} (expected X:value)`,
    {
      file,
      line: lineOf(text, pos),
      hint: 'the index is corrupt; rebuild it with `lading index`',
    },
  );
}

function readUint(text: string, from: number, to: number, file: string): number {
  let v = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9 || i - from > 15) {
      throw new LadingError(
        'APKINDEX_BAD_FIELD',
        `field ${text[from - 2]}: is not a number: ${JSON.stringify(text.slice(from, Math.min(to, from + 40)))}`,
        {
          file,
          line: lineOf(text, from),
          hint: 'the index is corrupt; rebuild it with `lading index`',
        },
      );
    }
    v = v * 10 + c;
  }
  return v;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * apk identifies a package by the decoded bytes of its checksum: `Q1…` is base64 of a 20-byte SHA-1, whose
 * last character carries two padding bits that decoding drops. Clearing them gives one spelling per identity.
 */
function checksumIdentity(c: string): string {
  if (c.length !== 30 || c.charCodeAt(29) !== 61 /* = */) return c;
  const v = B64.indexOf(c[28]!);
  return v < 0 || (v & 3) === 0 ? c : `${c.slice(0, 28)}${B64[v & ~3]}=`;
}

function lowestBit(mask: number): number {
  if (mask === 0) return -1;
  return 31 - Math.clz32(mask & -mask);
}
