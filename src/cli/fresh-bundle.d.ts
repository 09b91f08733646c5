// Types of ./fresh-bundle.js (plain JavaScript: the entry loads it before any TypeScript).
export declare const BUNDLE_DIR: string;
export declare const BUNDLE_ENTRY: string;
export declare const BUNDLE_MANIFEST: string;
export interface BundleManifest {
  readonly entry: string;
  readonly inputs: readonly { readonly path: string; readonly size: number; readonly mtimeMs: number }[];
}
export declare function freshBundle(root: string): string | undefined;
