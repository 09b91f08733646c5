// Types of ./fresh-bundle.js (plain JavaScript: the entry loads it before any TypeScript).
export declare const BUNDLE_DIR: string;
export declare const BUNDLE_ENTRY: string;
export declare const BUNDLE_MANIFEST: string;
export interface BundleInput {
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
  /** Set for the files checked by content (CHECKED_BY_CONTENT) instead of modification time. */
  readonly sha256?: string;
}
export interface BundleManifest {
  readonly entry: string;
  readonly inputs: readonly BundleInput[];
}
export declare const CHECKED_BY_CONTENT: ReadonlySet<string>;
export declare function sha256Of(bytes: Uint8Array): string;
export declare function freshBundle(root: string): string | undefined;
