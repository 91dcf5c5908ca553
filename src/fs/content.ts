/** File contents in the image filesystem: see ContentSource. */
import type { ContentSource } from '../util/content.ts';

export type { ContentSource } from '../util/content.ts';

export function bytesContent(data: Buffer | string): ContentSource {
  return { kind: 'bytes', data: typeof data === 'string' ? Buffer.from(data) : data };
}
