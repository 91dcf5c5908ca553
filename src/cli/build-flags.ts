/** Parsing of the build flags whose values need checking (kept out of the CLI file so it stays thin). */

import type { SbomFormat } from '../pipeline/sbom.ts';
import { LadingError } from '../util/errors.ts';
import { flagEnabled } from './options.ts';

export function parseBuildFlags(flags: {
  sbom?: boolean | string;
  sbomPath?: string;
  sbomFormats?: string[];
  compression?: string;
  compressionLevel?: string;
}): {
  sbom: boolean;
  sbomPath?: string;
  sbomFormats?: SbomFormat[];
  compression?: 'gzip' | 'zstd';
  compressionLevel?: number;
} {
  const sbom = flagEnabled(flags.sbom, '--sbom');
  const out: ReturnType<typeof parseBuildFlags> = { sbom };
  if (flags.sbomPath) out.sbomPath = flags.sbomPath;
  if (flags.sbomFormats?.length) {
    out.sbomFormats = flags.sbomFormats.map((f) => {
      const v = f.toLowerCase();
      if (v === 'spdx') return 'spdx';
      if (v === 'cyclonedx' || v === 'cdx') return 'cyclonedx';
      throw new LadingError('USAGE', `--sbom-formats: unknown format ${JSON.stringify(f)}`, {
        hint: 'use spdx and/or cyclonedx',
      });
    });
  }
  if (flags.compression !== undefined) {
    const c = flags.compression.toLowerCase();
    if (c !== 'gzip' && c !== 'zstd')
      throw new LadingError(
        'USAGE',
        `--compression ${JSON.stringify(flags.compression)}: expected gzip or zstd`,
      );
    out.compression = c;
  }
  if (flags.compressionLevel !== undefined) {
    const most = out.compression === 'zstd' ? 19 : 9;
    const n = Number(flags.compressionLevel);
    if (!Number.isInteger(n) || n < 1 || n > most) {
      throw new LadingError(
        'USAGE',
        `--compression-level ${flags.compressionLevel}: expected a whole number from 1 to ${most}`,
      );
    }
    out.compressionLevel = n;
  }
  return out;
}
