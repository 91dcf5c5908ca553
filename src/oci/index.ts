/** The OCI side: layers, image documents, the destinations they are written to, and validation. */
export { type BlobContent, blobPath, type LayoutContent, layoutContent } from './blobs.ts';
export { type DockerArchiveOptions, dockerManifestJson, writeDockerArchive } from './docker-archive.ts';
export { blobOf, buildImage, buildImageIndex, type ImageSpec, platformKey, rfc3339 } from './image.ts';
export { goJson } from './json.ts';
export { DEFAULT_LEVEL, type LayerOptions, layerCacheKey, writeLayer } from './layer.ts';
export { type LayoutOptions, type LayoutResult, writeLayout } from './layout.ts';
export {
  ANNOTATION,
  type AnnotationInput,
  type HistoryInput,
  imageAnnotations,
  imageHistory,
} from './metadata.ts';
export {
  ChunkPipeline,
  type ChunkPipelineOptions,
  type ChunkPipelineResult,
  DEFAULT_CHUNK_SIZE,
} from './pgzip.ts';
export { archTag, dockerTags, hostPlatformKey, type ParsedTag, parseTag } from './tags.ts';
export * from './types.ts';
export {
  type ValidatedImage,
  type ValidationReport,
  validateDockerArchive,
  validateImage,
  validateIndex,
  validateLayout,
} from './validate.ts';
