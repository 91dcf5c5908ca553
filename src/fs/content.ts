/**
 * Where a file's bytes live. Package files point into the uncompressed package data tars kept in
 * the cache, so the image filesystem never copies or holds package contents in memory.
 */
export type ContentSource =
  | { kind: 'bytes'; data: Buffer }
  | { kind: 'file'; path: string; offset: number; size: number };

export function bytesContent(data: Buffer | string): ContentSource {
  return { kind: 'bytes', data: typeof data === 'string' ? Buffer.from(data) : data };
}
