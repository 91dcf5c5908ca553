/**
 * A tar parser fed in chunks, for archives too large to hold: only a header block and an extended header's
 * data are kept; file data passes through to the caller. Reads exactly what readTar reads (header.ts):
 * the same entries, offsets and errors, with one limit more — an extended header (PAX, GNU long name)
 * larger than `maxExtendedSize` is refused, since it must be held to be parsed.
 */
import {
  applyExtendedHeader,
  BLOCK,
  decodeEntry,
  headerBlock,
  isExtendedHeader,
  isZeroBlock,
  PendingHeaders,
  type TarEntry,
  tarCorrupt,
} from './header.ts';

export interface TarStreamHandlers {
  /** A complete header: the entry (its data, for files, follows through onData). */
  entry(entry: TarEntry): void;
  /** A piece of the current regular file's data (a view into the pushed chunk: copy it to keep it). */
  data?(entry: TarEntry, chunk: Buffer): void;
  /** The current regular file's data is complete. */
  entryEnd?(entry: TarEntry): void;
}

export interface TarStreamOptions {
  /** Largest extended header data accepted, in bytes (default 1 MiB). */
  maxExtendedSize?: number;
}

type State =
  /** collecting a header block */
  | 'header'
  /** collecting an extended header's data */
  | 'extended'
  /** passing a file's data through */
  | 'data'
  /** skipping data of a non-file entry (must be present) */
  | 'skip'
  /** skipping padding (may be cut off at the end) */
  | 'padding'
  /** after the end-of-archive block: the rest is ignored, as readTar ignores it */
  | 'end';

export class TarStreamParser {
  readonly #handlers: TarStreamHandlers;
  readonly #maxExtended: number;
  readonly #pending = new PendingHeaders();
  readonly #header = Buffer.alloc(BLOCK);
  #state: State = 'header';
  /** Bytes of the current block or extended data collected so far. */
  #filled = 0;
  /** Bytes left in the current data, skip or padding state. */
  #left = 0;
  /** Archive offset of the next byte pushed. */
  #pos = 0;
  /** Offset of the current header block, for messages. */
  #at = 0;
  #extended: Buffer = Buffer.alloc(0);
  #typeflag = '';
  /** Size of the non-file data being skipped. */
  #skipped = 0;
  #entry: TarEntry | undefined;
  /**
   * What this archive holds that Go's archive/tar (containerd, Docker, Podman, umoci) reads differently from
   * this parser, each named once: an image layer made of the archive as it is would unpack differently from
   * what was parsed here.
   */
  readonly differences = new Set<string>();

  constructor(handlers: TarStreamHandlers, options: TarStreamOptions = {}) {
    this.#handlers = handlers;
    this.#maxExtended = options.maxExtendedSize ?? 1 << 20;
  }

  /** Bytes consumed so far. */
  get offset(): number {
    return this.#pos;
  }

  push(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) {
      const avail = chunk.length - i;
      switch (this.#state) {
        case 'end':
          // Go stops at two zero blocks and fails on a zero block followed by anything else
          if (chunk.subarray(i).some((b) => b !== 0))
            this.differences.add('data after the end-of-archive block');
          this.#pos += avail;
          return;
        case 'header': {
          const n = Math.min(avail, BLOCK - this.#filled);
          chunk.copy(this.#header, this.#filled, i, i + n);
          this.#filled += n;
          i += n;
          this.#pos += n;
          if (this.#filled === BLOCK) this.#onHeader();
          break;
        }
        case 'extended': {
          const n = Math.min(avail, this.#extended.length - this.#filled);
          chunk.copy(this.#extended, this.#filled, i, i + n);
          this.#filled += n;
          i += n;
          this.#pos += n;
          if (this.#filled === this.#extended.length) {
            applyExtendedHeader(this.#typeflag, this.#extended, this.#at, this.#pending);
            this.#extended = Buffer.alloc(0);
            this.#pad(this.#filled);
            this.#filled = 0;
          }
          break;
        }
        case 'data': {
          const n = Math.min(avail, this.#left);
          if (n > 0) this.#handlers.data?.(this.#entry!, chunk.subarray(i, i + n));
          i += n;
          this.#pos += n;
          this.#left -= n;
          if (this.#left === 0) this.#endData();
          break;
        }
        case 'skip':
        case 'padding': {
          const n = Math.min(avail, this.#left);
          i += n;
          this.#pos += n;
          this.#left -= n;
          if (this.#left === 0) {
            if (this.#state === 'skip') this.#pad(this.#skipped);
            else this.#state = 'header';
          }
          break;
        }
      }
    }
  }

  /** The archive ended: throws when it ended inside an entry. */
  end(): void {
    switch (this.#state) {
      case 'extended':
      case 'data':
      case 'skip':
        throw tarCorrupt('entry data runs past the end of the archive', this.#at);
      case 'end':
        return;
      case 'padding':
        this.differences.add('an incomplete last block');
        break;
      case 'header':
        // Go fails on a partial block
        if (this.#filled > 0) this.differences.add('an incomplete last block');
        // trailing garbage shorter than a block: tolerated only if it is all zeros
        for (let j = 0; j < this.#filled; j++)
          if (this.#header[j] !== 0)
            throw tarCorrupt('trailing bytes after the last entry', this.#pos - this.#filled);
        break;
    }
    if (this.#pending.entryStart >= 0)
      throw tarCorrupt('extended header without the entry it describes', this.#pending.entryStart);
  }

  #onHeader(): void {
    this.#filled = 0;
    this.#at = this.#pos - BLOCK;
    if (isZeroBlock(this.#header, 0)) {
      this.#state = 'end';
      return;
    }
    if (this.#pending.entryStart < 0) this.#pending.entryStart = this.#at;
    const { typeflag, size } = headerBlock(this.#header, 0);
    // Go hands global headers to the caller instead of applying them, and runtimes refuse type 7
    if (typeflag === 'g') this.differences.add('a global PAX header');
    if (typeflag === '7') this.differences.add('a contiguous-file entry (type 7)');
    if (isExtendedHeader(typeflag)) {
      if (size > this.#maxExtended) {
        // names, link targets and xattrs never need that much; holding it would be the bomb
        throw tarCorrupt(
          `extended header of ${size} bytes (more than ${this.#maxExtended}; refusing it)`,
          this.#at,
        );
      }
      this.#typeflag = typeflag;
      this.#extended = Buffer.alloc(size);
      this.#state = 'extended';
      if (size === 0) {
        applyExtendedHeader(typeflag, this.#extended, this.#at, this.#pending);
        this.#state = 'header';
      }
      return;
    }
    const entry = decodeEntry(this.#header, 0, typeflag, size, this.#pending, this.#at, this.#pos);
    this.#handlers.entry(entry);
    if (entry.type === 'file') {
      this.#entry = entry;
      this.#left = entry.size;
      this.#state = 'data';
      if (entry.size === 0) this.#endData();
    } else if (size > 0) {
      // data of a non-file entry (a hardlink with a size, say): skipped, then its padding; Go reads it as
      // the next header
      this.differences.add(`a ${entry.type} with data`);
      this.#left = size;
      this.#skipped = size;
      this.#state = 'skip';
    } else {
      this.#state = 'header';
    }
  }

  #endData(): void {
    const entry = this.#entry!;
    this.#entry = undefined;
    this.#handlers.entryEnd?.(entry);
    this.#pad(entry.size);
  }

  /** Skips the padding after `size` bytes of data. */
  #pad(size: number): void {
    this.#left = (BLOCK - (size % BLOCK)) % BLOCK;
    this.#state = this.#left === 0 ? 'header' : 'padding';
  }
}
