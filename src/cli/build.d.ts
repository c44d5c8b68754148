// Types of build.js (plain JavaScript: it runs before anything can compile TypeScript).

export declare const PACKAGE_ROOT: string;

/** A compile that failed: `message` is one line naming the file and what to try. */
export declare class CompileError extends Error {}

export interface CompiledEntry {
  /** The file URL of the compiled entry, to import. */
  url: string;
  /** Whether this call compiled (the sources had changed) or found a compile of them. */
  compiled: boolean;
  /** The folder of this compile. */
  dir: string;
}

export declare function compiledEntry(options?: { root?: string; entry?: string; cacheDir?: string }): Promise<CompiledEntry>;
export declare function compile(options: { root?: string; entryPoints: string[]; outdir: string }): Promise<void>;
export declare function sourceFingerprint(root: string, entry: string, esbuild: string): string;
export declare function defaultCacheDir(root: string): string;
/** Keeps the compile in `dir` from being pruned while this process runs; false when it was pruned first. */
export declare function holdCompile(dir: string): boolean;
