/** What a build reports beside its image: shared by the build and the image memo that replays it. */

/** One line per architecture, as the CLI reports it. */
export interface BuildSummary {
  apkArch: string;
  packages: number;
  manifestDigest: string;
}

export interface BuildInputs {
  /** Small files, with the SHA-256 (hex) of the bytes the build used: config, includes, indexes, keys. */
  hashed: { path: string; sha256: string }[];
  /** Large files, recorded by stat: packages of local repositories. */
  statted: string[];
  remote: boolean;
}
