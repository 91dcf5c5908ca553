/** Reads the image index a `lading build` wrote into an OCI layout back into lading's model (layers as files). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Blob, Descriptor, Image, ImageIndex, Layer } from '../../src/oci/types.ts';

function blob(dir: string, d: { digest: string; mediaType: string }): Blob {
  const bytes = readFileSync(join(dir, 'blobs', 'sha256', d.digest.slice(7)));
  return { mediaType: d.mediaType, digest: d.digest, size: bytes.length, bytes };
}

export function readLayoutIndex(dir: string, indexDigest: string): ImageIndex {
  const index = blob(dir, { digest: indexDigest, mediaType: 'application/vnd.oci.image.index.v1+json' });
  const doc = JSON.parse(index.bytes.toString('utf8')) as {
    manifests: Descriptor[];
    annotations?: Record<string, string>;
  };
  const images: Image[] = doc.manifests.map((d) => {
    const manifest = blob(dir, d);
    const m = JSON.parse(manifest.bytes.toString('utf8')) as { config: Descriptor; layers: Descriptor[] };
    const config = blob(dir, m.config);
    const diffIds = (JSON.parse(config.bytes.toString('utf8')) as { rootfs: { diff_ids: string[] } }).rootfs
      .diff_ids;
    const layers: Layer[] = m.layers.map((l, i) => ({
      mediaType: l.mediaType,
      digest: l.digest,
      size: l.size,
      diffId: diffIds[i]!,
      uncompressedSize: 0,
      path: join(dir, 'blobs', 'sha256', l.digest.slice(7)),
    }));
    return { platform: d.platform!, layers, config, manifest, descriptor: d };
  });
  return { images, index, annotations: doc.annotations ?? {} };
}
