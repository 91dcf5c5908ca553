/** SHA-256 of bytes: the identity of blobs, cache keys and recorded inputs. */
import { createHash } from 'node:crypto';

/** The hex SHA-256 of bytes or of a string's UTF-8 bytes. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** `sha256:<hex>`: the OCI and cache form of a digest. */
export function digestOf(data: Uint8Array | string): string {
  return `sha256:${sha256Hex(data)}`;
}
