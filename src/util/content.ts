/**
 * Where a file's bytes live: in memory, or a byte range of a file on disk (package files point into the
 * uncompressed package data tars kept in the cache, so images are built without copying their contents).
 */
export type ContentSource =
  | { kind: 'bytes'; data: Buffer }
  | { kind: 'file'; path: string; offset: number; size: number };
