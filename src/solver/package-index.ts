/**
 * The lookup structures the resolver works on, built once per set of repositories and reused by every solve:
 * names (package names and every provided name) with their providers in apk's order, install_if
 * reverse links, repository tags. Mirrors apk-tools' database: apk_db_pkg_add (dbPkgAdd) over the records
 * the scanner reads (index-scan.ts, apk_db_index_read), names in the name table (name-table.ts).
 *
 * Cost model (Alpine main + community: 23,030 records, 52,000 names, 9.3 MB of text): building scans the
 * APKINDEX text once and keeps numbers only, in typed-array columns — offsets into the text and name ids, so
 * no string or object is made per record. Name and package objects are made when the solver first reaches
 * them; `D:` and `I:` are read then; a full PackageInfo only for packages in a result. The text may be the
 * index's bytes read as latin1 (see scannableAsLatin1).
 *
 * apk walks several lists in the order of its name hash table (see NameTable.hashOrder). Within a hash bucket
 * that order is by when apk first read the name; names are numbered here as P:, p: and i: introduce them,
 * which differs when a name's first mention is a D: entry of an earlier record (no effect seen in 220 worlds).
 */
import { formatApkIndexText, parseApkIndexText } from '../apk/apkindex-text.ts';
import { type Dependency, tryParseDependency } from '../apk/dependency.ts';
import type { PackageInfo } from '../apk/types.ts';
import { DEFAULT_VERSION_RULES, VERSION_FUZZY, type VersionRules } from '../apk/version.ts';
import { LadingError } from '../util/errors.ts';
import {
  dbIndexRead,
  isNameEnd,
  joinRanges,
  readUint,
  type ScannedRecord,
  type ScanSink,
} from './index-scan.ts';
import { grown, grownArray, hashRange, NameTable } from './name-table.ts';

export { scannableAsLatin1 } from './index-scan.ts';
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
  /** `text` holds the index's bytes one character each (see scannableAsLatin1); records are shown decoded. */
  latin1?: boolean;
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
  /**
   * The repositories' texts come later, through scanRepository (in order), instead of from their `text` or
   * `packages` now: a caller inflating several indexes can scan each as soon as it is ready.
   */
  deferred?: boolean;
  /** About how many characters of index text will be scanned in all: the tables are sized for it at once. */
  expectedChars?: number;
  /**
   * Leaves out repository records for which this returns true, as if the index did not list them: apko's
   * cross-architecture disqualification (a name and version not available for every architecture built).
   */
  unavailable?: (name: string, version: string) => boolean;
}

/** A package name or provided name. Its lists are made on first use, so that reaching one name does not make them all. */
export class NameNode {
  readonly id: number;
  readonly name: string;
  /** apk's name priority: 0 only real packages provide it, 1 mixed, 2 only provides (-1: not computed). */
  priority = -1;
  readonly #index: PackageIndex;
  #providers: Provider[] | undefined;
  #rinstallIf: readonly NameNode[] | undefined;

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
  get rinstallIf(): readonly NameNode[] {
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
export interface IndexSource {
  text: string;
  file: string;
  /** Repository index, or -1 for the installed database. */
  repo: number;
  /** The records' PackageInfo when the source was given parsed. */
  infos: readonly PackageInfo[] | undefined;
  /** The text is UTF-8 bytes as latin1 characters (see scannableAsLatin1). */
  latin1?: boolean;
}

const NON_ASCII = /[^\x00-\x7f]/;
export class PackageIndex {
  readonly rules: VersionRules;
  readonly arch: string | undefined;
  readonly repositories: readonly SolverRepository[];
  readonly tags: RepoTag[] = [{ id: 0, name: '', repos: 0 }];
  /** Bit mask of the repositories whose packages can be fetched. */
  readonly availableRepos: number;
  /** Names seen only on packages of another architecture, for explanations. */
  readonly otherArchNames = new Map<string, string>();
  /** See IndexOptions.unavailable. */
  private readonly unavailable: IndexOptions['unavailable'];
  /** The installed packages, in installed-database order. */
  readonly installed: PkgNode[] = [];

  private readonly sources: IndexSource[] = [];
  /** Every package name and provided name (apk's name hash table). */
  private readonly names = new NameTable(this.sources);
  /** Repositories scanned so far. */
  private scanned = 0;
  /** Characters of index text the tables have room for, not scanned yet (see reserve). */
  private reserved = 0;
  private readonly depCache = new Map<string, DepNode>();
  /** By name id (holes read as undefined): the name's node, and the dependency on the bare name. */
  private nameNodes = new Array<NameNode | undefined>(0);
  private bareDeps = new Array<DepNode | undefined>(0);

  // Columns are typed arrays grown by doubling (see growRecords/…): 23,000 records as plain arrays cost the
  // garbage collector tens of milliseconds and tens of MiB while they grow.

  // ---- provider entries (a record providing a name), linked per name in record order ----
  private entCap = 1 << 12;
  private entCount = 0;
  private entRecord = new Int32Array(this.entCap);
  private entName = new Int32Array(this.entCap);
  /** Version of a provide as offsets into the record's source; -1: the package's own name; -2: unversioned. */
  private entVerStart = new Int32Array(this.entCap);
  private entVerEnd = new Int32Array(this.entCap);
  private entNext = new Int32Array(this.entCap);

  // ---- install_if trigger entries, linked per trigger name ----
  private trigCap = 1 << 8;
  private trigCount = 0;
  private trigRecord = new Int32Array(this.trigCap);
  private trigNext = new Int32Array(this.trigCap);

  // ---- records ----
  private recCap = 1 << 11;
  private recCount = 0;
  private recSource = new Int32Array(this.recCap);
  private recStart = new Int32Array(this.recCap);
  private recEnd = new Int32Array(this.recCap);
  private recName = new Int32Array(this.recCap);
  private recVerStart = new Int32Array(this.recCap);
  private recVerEnd = new Int32Array(this.recCap);
  /** `C:` as offsets into the source text (start -1: none). */
  private recCkStart = new Int32Array(this.recCap);
  private recCkEnd = new Int32Array(this.recCap);
  /** `I:` as offsets into the source text (start -1: none), read when the package is first used. */
  private recSizeStart = new Int32Array(this.recCap);
  private recSizeEnd = new Int32Array(this.recCap);
  private recPriority = new Int32Array(this.recCap);
  private recRepos = new Int32Array(this.recCap);
  /** First provider entry of the record (its own name); its provides follow. */
  private recEntry = new Int32Array(this.recCap);
  private recProvides = new Int32Array(this.recCap);
  /** `D:` and `i:` as offsets into the source text, or -1 with the text in recJoined (repeated lines). */
  private recDepStart = new Int32Array(this.recCap);
  private recDepEnd = new Int32Array(this.recCap);
  private recIifStart = new Int32Array(this.recCap);
  private recIifEnd = new Int32Array(this.recCap);
  private readonly recJoined = new Map<number, { depends: string; installIf: string }>();
  private recNodes = new Array<PkgNode | undefined>(this.recCap);
  /** Records by package identity (checksum, see checksumCode): open addressing over record ids. */
  private ckSlots = new Int32Array(1 << 12).fill(-1);
  private ckCount = 0;
  /** The PackageInfo of records that were given parsed. */
  private readonly infoFor = new Map<number, PackageInfo>();

  constructor(repositories: readonly SolverRepository[], options: IndexOptions = {}) {
    this.rules = options.rules ?? DEFAULT_VERSION_RULES;
    this.arch = options.arch;
    this.unavailable = options.unavailable;
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
    let chars = options.expectedChars ?? 0;
    if (!options.deferred) for (const r of repositories) chars += r.text?.length ?? 0;
    if (chars > 0) this.reserve(chars);
    if (options.deferred) return;
    repositories.forEach((r, i) => {
      if (r.text !== undefined) this.scanRepository(i, r.text, r.latin1);
      else {
        const infos = r.packages ?? [];
        this.scan({ text: formatApkIndexText(infos), file: r.file ?? r.repository, repo: i, infos });
      }
    });
  }

  /** Reads repository i's APKINDEX text; repositories must come in order (for a `deferred` index). */
  scanRepository(i: number, text: string, latin1 = false): void {
    if (i !== this.scanned) throw new Error(`bug: repository ${i} scanned out of order`);
    const r = this.repositories[i]!;
    if (text.length > this.reserved) this.reserve(text.length);
    this.reserved = Math.max(0, this.reserved - text.length);
    this.scan({ text, file: r.file ?? r.repository, repo: i, infos: undefined, latin1 });
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

  /**
   * Makes room for the records of `chars` more characters of index text (sizes measured on Alpine: a record
   * per ~420 characters, a name per ~190, a provider entry per ~185), so columns grow once per repository
   * instead of doubling a dozen times.
   */
  private reserve(chars: number): void {
    this.reserved = chars;
    this.names.reserve(this.names.count + Math.ceil(chars / 128));
    const records = this.recCount + Math.ceil(chars / 256);
    if (records > this.recCap) this.growRecords(records);
    const entries = this.entCount + Math.ceil(chars / 128);
    if (entries > this.entCap) this.growEntries(entries);
    const triggers = this.trigCount + Math.ceil(chars / 256);
    if (triggers > this.trigCap) this.growTriggers(triggers);
    let ckSlots = this.ckSlots.length;
    while (records * 2 > ckSlots) ckSlots *= 2;
    if (ckSlots > this.ckSlots.length) this.rehashChecksums(ckSlots);
  }

  private growRecords(cap: number): void {
    this.recCap = cap;
    this.recNodes = grownArray(this.recNodes, cap);
    this.recSource = grown(this.recSource, cap);
    this.recStart = grown(this.recStart, cap);
    this.recEnd = grown(this.recEnd, cap);
    this.recName = grown(this.recName, cap);
    this.recVerStart = grown(this.recVerStart, cap);
    this.recVerEnd = grown(this.recVerEnd, cap);
    this.recCkStart = grown(this.recCkStart, cap);
    this.recCkEnd = grown(this.recCkEnd, cap);
    this.recSizeStart = grown(this.recSizeStart, cap);
    this.recSizeEnd = grown(this.recSizeEnd, cap);
    this.recPriority = grown(this.recPriority, cap);
    this.recRepos = grown(this.recRepos, cap);
    this.recEntry = grown(this.recEntry, cap);
    this.recProvides = grown(this.recProvides, cap);
    this.recDepStart = grown(this.recDepStart, cap);
    this.recDepEnd = grown(this.recDepEnd, cap);
    this.recIifStart = grown(this.recIifStart, cap);
    this.recIifEnd = grown(this.recIifEnd, cap);
  }

  private growEntries(cap: number): void {
    this.entCap = cap;
    this.entRecord = grown(this.entRecord, cap);
    this.entName = grown(this.entName, cap);
    this.entVerStart = grown(this.entVerStart, cap);
    this.entVerEnd = grown(this.entVerEnd, cap);
    this.entNext = grown(this.entNext, cap);
  }

  private growTriggers(cap: number): void {
    this.trigCap = cap;
    this.trigRecord = grown(this.trigRecord, cap);
    this.trigNext = grown(this.trigNext, cap);
  }

  // ---- names ----

  /** The name's node, if any package or dependency mentions it (apk_db_query_name). */
  findName(name: string): NameNode | undefined {
    const id = this.names.find(name);
    return id === -1 ? undefined : this.nameNode(id);
  }

  /** The name's node, created (without providers) when nothing mentions it yet (apk_db_get_name). */
  getName(name: string): NameNode {
    const id = this.names.find(name);
    return this.nameNode(id === -1 ? this.names.intern(-1, name, 0, name.length) : id);
  }

  /** Where apk's name hash table walks the name (see NameTable.hashOrder). */
  hashOrder(n: NameNode): number {
    return this.names.hashOrder(n.id);
  }

  /** Name ids in hashOrder. */
  sortByHashOrder(ids: readonly number[]): number[] {
    return this.names.sortByHashOrder(ids);
  }

  /** Calls `fn` with every name that some package has or provides. */
  forEachProvidedName(fn: (name: string) => void): void {
    const { providerHead } = this.names;
    for (let id = 0; id < this.names.count; id++) if (providerHead[id] !== -1) fn(this.names.string(id));
  }

  private nameNode(id: number): NameNode {
    if (id >= this.nameNodes.length) this.growNameArrays();
    let n = this.nameNodes[id];
    if (n === undefined) {
      n = new NameNode(this, id, this.names.string(id));
      this.nameNodes[id] = n;
    }
    return n;
  }

  /** Sizes the arrays indexed by name id to the name table (holey arrays of a set size stay fast in V8). */
  private growNameArrays(): void {
    this.nameNodes = grownArray(this.nameNodes, this.names.capacity);
    this.bareDeps = grownArray(this.bareDeps, this.names.capacity);
  }

  /** Fills a name's provider list (NameNode.providers), in record order. */
  fillProviders(n: NameNode, out: Provider[]): void {
    for (let e = this.names.providerHead[n.id]!; e !== -1; e = this.entNext[e]!) {
      const rec = this.entRecord[e]!;
      const pkg = this.record(rec);
      if (this.entVerStart[e] === -1) out.push({ pkg, version: pkg.version });
      else out.push(pkg.provides[e - this.recEntry[rec]! - 1]!);
    }
  }

  /** The names of each package whose install_if mentions `n`: its own and its provides (NameNode.rinstallIf). */
  reverseInstallIf(n: NameNode): readonly NameNode[] {
    if (this.names.triggerHead[n.id] === -1) return NO_NAMES;
    const out: number[] = [];
    const seen = new Set<number>();
    const add = (nid: number) => {
      if (seen.has(nid)) return;
      seen.add(nid);
      out.push(nid);
    };
    for (let t = this.names.triggerHead[n.id]!; t !== -1; t = this.trigNext[t]!) {
      const rec = this.trigRecord[t]!;
      add(this.recName[rec]!);
      const first = this.recEntry[rec]! + 1;
      for (let e = first; e < first + this.recProvides[rec]!; e++) add(this.entName[e]!);
    }
    return this.names.sortByHashOrder(out).map((id) => this.nameNode(id));
  }

  namePriority(n: NameNode): number {
    if (n.priority < 0) {
      let virtual = 0;
      for (const p of n.providers) if (p.pkg.name !== n) virtual++;
      n.priority = virtual === 0 ? 0 : virtual === n.providers.length ? 2 : 1;
    }
    return n.priority;
  }

  // ---- records ----

  /**
   * Scans a source's records into the tables. Returns, for the installed database, the record each of its
   * records became (or was merged into), -1 when skipped.
   */
  private scan(source: IndexSource): number[] {
    const si = this.sources.length;
    this.sources.push(source);
    if (source.repo >= 0) this.scanned++;
    const sink = new RecordSink(this, source, si);
    dbIndexRead(source.text, source.file, si, this.names, sink);
    return sink.records;
  }

  /**
   * apk_db_pkg_add: adds a scanned record, or merges it into the same package (same checksum) listed
   * before. Returns its record id; -1 for a package of another architecture, which is not a candidate.
   */
  dbPkgAdd(source: IndexSource, si: number, r: ScannedRecord): number {
    const { text } = source;
    const arch = this.arch;
    const { name, archStart, archEnd, ckStart, ckEnd } = r;
    if (
      arch !== undefined &&
      archStart !== -1 &&
      !(archEnd - archStart === arch.length && text.startsWith(arch, archStart)) &&
      !(archEnd - archStart === 6 && text.startsWith('noarch', archStart))
    ) {
      if (this.names.providerHead[name] === -1)
        this.otherArchNames.set(this.names.string(name), text.slice(archStart, archEnd));
      return -1;
    }
    if (
      this.unavailable !== undefined &&
      source.repo >= 0 &&
      this.unavailable(this.names.string(name), text.slice(r.verStart, r.verEnd))
    ) {
      return -1;
    }
    const repoBit = source.repo >= 0 ? 1 << source.repo : 0;
    // The same package (same checksum, whatever its name) listed again: remember its repository too.
    let ckSlot = -1;
    if (ckStart !== -1) {
      ckSlot = this.findChecksum(text, ckStart, ckEnd);
      const same = this.ckSlots[ckSlot]!;
      if (same !== -1) {
        this.recRepos[same]! |= repoBit;
        const made = this.recNodes[same];
        if (made !== undefined) made.repos |= repoBit;
        return same;
      }
    }
    const rec = this.recCount++;
    if (rec === this.recCap) this.growRecords(rec * 2);
    this.recSource[rec] = si;
    this.recStart[rec] = r.start;
    this.recEnd[rec] = r.end;
    this.recVerStart[rec] = r.verStart;
    this.recVerEnd[rec] = r.verEnd;
    this.recCkStart[rec] = ckStart;
    this.recCkEnd[rec] = ckEnd;
    this.recSizeStart[rec] = r.sizeStart;
    this.recSizeEnd[rec] = r.sizeEnd;
    this.recPriority[rec] = r.priority;
    this.recRepos[rec] = repoBit;
    this.recName[rec] = name;
    if (ckSlot !== -1) this.addChecksum(ckSlot, rec);
    this.recEntry[rec] = this.entCount;
    this.addEntry(name, rec, -1, -1);
    const provided = r.provided;
    for (let i = 0; i < r.providedCount; i += 3)
      this.addEntry(provided[i]!, rec, provided[i + 1]!, provided[i + 2]!);
    this.recProvides[rec] = r.providedCount / 3;
    const triggerHead = this.names.triggerHead;
    for (let i = 0; i < r.triggerCount; i++) {
      const trigger = r.triggers[i]!;
      const t = this.trigCount++;
      if (t === this.trigCap) this.growTriggers(t * 2);
      this.trigRecord[t] = rec;
      this.trigNext[t] = triggerHead[trigger]!;
      triggerHead[trigger] = t;
    }
    const nD = r.dependCount;
    const nI = r.installIfCount;
    const dOne = nD <= 2;
    const iOne = nI <= 2;
    this.recDepStart[rec] = dOne ? (nD === 0 ? 0 : r.dependLines[0]!) : -1;
    this.recDepEnd[rec] = dOne ? (nD === 0 ? 0 : r.dependLines[1]!) : -1;
    this.recIifStart[rec] = iOne ? (nI === 0 ? 0 : r.installIfLines[0]!) : -1;
    this.recIifEnd[rec] = iOne ? (nI === 0 ? 0 : r.installIfLines[1]!) : -1;
    if (!dOne || !iOne) {
      this.recJoined.set(rec, {
        depends: joinRanges(text, r.dependLines, nD),
        installIf: joinRanges(text, r.installIfLines, nI),
      });
    }
    if (source.infos !== undefined) this.infoFor.set(rec, source.infos[r.index]!);
    return rec;
  }

  /** The slot holding the record with this checksum's identity, or the free slot where it would go. */
  private findChecksum(text: string, start: number, end: number): number {
    const mask = this.ckSlots.length - 1;
    const len = end - start;
    for (let s = checksumHash(text, start, end) & mask; ; s = (s + 1) & mask) {
      const rec = this.ckSlots[s]!;
      if (rec === -1) return s;
      const os = this.recCkStart[rec]!;
      if (this.recCkEnd[rec]! - os !== len) continue;
      const other = this.sources[this.recSource[rec]!]!.text;
      let i = 0;
      while (i < len && checksumCode(other, os, len, i) === checksumCode(text, start, len, i)) i++;
      if (i === len) return s;
    }
  }

  private addChecksum(slot: number, rec: number): void {
    this.ckSlots[slot] = rec;
    if (++this.ckCount * 2 > this.ckSlots.length) this.rehashChecksums(this.ckSlots.length * 2);
  }

  private rehashChecksums(size: number): void {
    const slots = new Int32Array(size).fill(-1);
    const mask = slots.length - 1;
    const old = this.ckSlots;
    for (let i = 0; i < old.length; i++) {
      const r = old[i]!;
      if (r === -1) continue;
      const text = this.sources[this.recSource[r]!]!.text;
      let s = checksumHash(text, this.recCkStart[r]!, this.recCkEnd[r]!) & mask;
      while (slots[s] !== -1) s = (s + 1) & mask;
      slots[s] = r;
    }
    this.ckSlots = slots;
  }

  private addEntry(name: number, rec: number, verStart: number, verEnd: number): void {
    const e = this.entCount++;
    if (e === this.entCap) this.growEntries(e * 2);
    this.entRecord[e] = rec;
    this.entName[e] = name;
    this.entVerStart[e] = verStart;
    this.entVerEnd[e] = verEnd;
    this.entNext[e] = -1;
    // providers stay in record order: append at the tail
    if (this.names.providerTail[name] === -1) this.names.providerHead[name] = e;
    else this.entNext[this.names.providerTail[name]!] = e;
    this.names.providerTail[name] = e;
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
      checksum:
        this.recCkStart[rec] === -1 ? undefined : src.text.slice(this.recCkStart[rec], this.recCkEnd[rec]),
      installedSize:
        this.recSizeStart[rec] === -1
          ? 0
          : readUint(src.text, this.recSizeStart[rec]!, this.recSizeEnd[rec]!, src.file),
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
      let record = src.text.slice(this.recStart[pkg.id], this.recEnd[pkg.id]);
      if (src.latin1 && NON_ASCII.test(record)) record = Buffer.from(record, 'latin1').toString('utf8');
      const [info] = parseApkIndexText(record, src.file);
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
          const id = this.names.intern(si, text, ws, we);
          if (id >= this.bareDeps.length) this.growNameArrays();
          let d = this.bareDeps[id];
          if (d === undefined) {
            d = this.dep(this.names.string(id), pkg);
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
    return this.names.count;
  }

  /** Package records (ids are below this). */
  packageCapacity(): number {
    return this.recCount;
  }

  /** Index of the lowest repository a package is listed in (-1: installed only). */
  static lowestRepository(repos: number): number {
    return lowestBit(repos);
  }
}

/** Adds what the scanner reads from one source to the index (and, for the installed database, notes where). */
class RecordSink implements ScanSink {
  /** For each record of the installed database: the record it became (or was merged into), -1 when skipped. */
  readonly records: number[] = [];
  private readonly index: PackageIndex;
  private readonly source: IndexSource;
  private readonly si: number;
  private readonly track: boolean;

  constructor(index: PackageIndex, source: IndexSource, si: number) {
    this.index = index;
    this.source = source;
    this.si = si;
    this.track = source.repo === -1;
  }

  dbPkgAdd(r: ScannedRecord): void {
    const rec = this.index.dbPkgAdd(this.source, this.si, r);
    if (this.track) this.records.push(rec);
  }
}

/** The (shared, never changed) empty name list. */
const NO_NAMES: readonly NameNode[] = [];

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

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < B64.length; i++) B64_VALUE[B64.charCodeAt(i)] = i;

/**
 * Character i of a checksum as its identity spells it. apk identifies a package by the decoded bytes of its
 * checksum: `Q1…` is base64 of a 20-byte SHA-1, whose last character carries two padding bits that decoding
 * drops; clearing them gives one spelling per identity.
 */
function checksumCode(text: string, start: number, len: number, i: number): number {
  const c = text.charCodeAt(start + i);
  if (i !== 28 || len !== 30 || text.charCodeAt(start + 29) !== 61 /* = */) return c;
  const v = c < 128 ? B64_VALUE[c]! : -1;
  return v < 0 ? c : B64.charCodeAt(v & ~3);
}

/**
 * Hashes the first characters of a checksum (never the last two, which the padding rule may change): ten
 * characters of a base64 SHA-1 are random enough for a hash table, and cost a third of all of them.
 */
function checksumHash(text: string, start: number, end: number): number {
  return hashRange(text, start, Math.max(start, Math.min(start + 10, end - 2)));
}

function lowestBit(mask: number): number {
  if (mask === 0) return -1;
  return 31 - Math.clz32(mask & -mask);
}
