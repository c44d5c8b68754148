// Compiling meshaid's TypeScript to JavaScript, so that production runs (the `meshaid` bin,
// `npm start`) run plain Node without tsx: tsx's loader thread, esbuild service and transform
// caches cost ~47 MB of memory and seconds of CPU at every start.
//
// esbuild bundles src/cli/main.ts (npm packages stay external, each command's module stays its
// own chunk and loads only when it runs) into a gitignored cache in node_modules/.cache/meshaid:
// node_modules is already per checkout and ignored, and the top level stays as the owner fixed it.
// Each compile goes to a folder named after a fingerprint of the sources (every path, size and
// mtime under src/, plus tsconfig.json, the installed esbuild and this checkout's path), written
// under a temporary name and renamed into place: a fresh clone, an edit or a `git pull` changes
// the fingerprint and the next run compiles again, and processes compiling the same sources at
// once each produce the same complete folder (the first rename wins, the others use it).
//
// Run directly (`npm run build`, and `npm ci` through the prepare script) it compiles now.
import { createHash, randomBytes } from "node:crypto";
import { accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** Bumped when the compile options below change, so every cached compile is redone. */
const BUILD_FORMAT = 2;
/** Compiles kept besides the newest, and besides those a live process runs (see holdCompile). */
const KEEP_COMPILES = 3;
/** The folder in the cache where each process running a compile leaves `<fingerprint>.<pid>`. */
const RUNNING = ".running";
/** The files under src/ a compile reads. */
const CODE_FILE = /^[^.].*\.(ts|tsx|js|mjs|json)$/;
/** A temporary folder older than this was left by a compile that was killed. */
const STALE_TEMP_MS = 10 * 60_000;

/** The checkout (or installed package) this file belongs to. */
export const PACKAGE_ROOT = resolve(fileURLToPath(new URL("../../", import.meta.url)));

/** A compile that failed: `message` is one line naming the file and what to try. */
export class CompileError extends Error {
  name = "CompileError";
}

/**
 * The compiled entry of `meshaid` for the sources now under `root`/src: compiles them first when
 * they changed since the last compile. Returns the file URL to import.
 * @param {{ root?: string, entry?: string, cacheDir?: string }} [options]
 * @returns {Promise<{ url: string, compiled: boolean, dir: string }>}
 */
export async function compiledEntry(options = {}) {
  const root = resolve(options.root ?? PACKAGE_ROOT);
  const entry = options.entry ?? "src/cli/main.ts";
  const cacheDir = options.cacheDir ?? defaultCacheDir(root);
  const fingerprint = sourceFingerprint(root, entry, installedEsbuild(root));
  const dir = join(cacheDir, fingerprint);
  const entryFile = join(dir, `${basename(entry).replace(/\.tsx?$/, "")}.mjs`);
  if (existsSync(entryFile)) return { url: pathToFileURL(entryFile).href, compiled: false, dir };

  try {
    mkdirSync(cacheDir, { recursive: true });
    accessSync(cacheDir, constants.W_OK);
  } catch (error) {
    // An installed copy the service's user may not write (e.g. /opt/meshaid): compiled by its owner.
    throw new CompileError(`the sources changed since they were last compiled, and ${cacheDir} cannot be written (${reason(error)}): run \`node ${join(root, "src", "cli", "build.js")}\` as a user who may write there`);
  }
  // Node names a module by its real path: the source maps must point at these sources from there.
  const realCache = realpathSync(cacheDir);
  const temp = join(realCache, `.tmp-${process.pid}-${randomBytes(4).toString("hex")}`);
  try {
    await compile({ root, entryPoints: [join(root, entry)], outdir: temp });
    try {
      renameSync(temp, join(realCache, fingerprint));
    } catch (error) {
      // Another process compiled the same sources first: its folder is complete, use it.
      if (!existsSync(entryFile)) throw new CompileError(`cannot write the compiled code to ${cacheDir}: ${reason(error)}`);
    }
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
  prune(realCache, fingerprint);
  return { url: pathToFileURL(entryFile).href, compiled: true, dir };
}

/**
 * Marks the compile in `dir` as run by this process until it exits, so that no other run prunes
 * it meanwhile: a running station loads modules from its compile lazily (`export`, the console),
 * hours after it started and whatever was compiled since. Returns false when the compile was
 * pruned before it was marked (compile again).
 * @param {string} dir a compile's folder, as compiledEntry returns it
 * @returns {boolean}
 */
export function holdCompile(dir) {
  const running = join(dirname(dir), RUNNING);
  const mark = join(running, `${basename(dir)}.${process.pid}`);
  try {
    mkdirSync(running, { recursive: true });
    writeFileSync(mark, "");
  } catch {
    // A cache this user may not write (an installed copy): nobody prunes it either.
    return existsSync(dir);
  }
  process.once("exit", () => rmSync(mark, { force: true }));
  return existsSync(dir);
}

/** Whether a live process runs the compile named `fingerprint` (its marks of dead processes are removed). */
function inUse(/** @type {string} */ cacheDir, /** @type {string} */ fingerprint) {
  const running = join(cacheDir, RUNNING);
  let live = false;
  for (const name of existsSync(running) ? readdirSync(running) : []) {
    if (!name.startsWith(`${fingerprint}.`)) continue;
    if (isAlive(Number(name.slice(fingerprint.length + 1)))) live = true;
    else rmSync(join(running, name), { force: true });
  }
  return live;
}

/** @param {number} pid */
function isAlive(pid) {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it lives, as another user.
    return /** @type {NodeJS.ErrnoException} */ (error).code === "EPERM";
  }
}

/**
 * Compiles `entryPoints` with meshaid's options into `outdir` (.mjs files and their source maps).
 * The benchmarks compile their start-up child with it, so they measure what production runs.
 * @param {{ root?: string, entryPoints: string[], outdir: string }} options
 * @returns {Promise<void>}
 */
export async function compile({ root = PACKAGE_ROOT, entryPoints, outdir }) {
  // Loaded only to compile: a run of compiled code does not pay for it.
  const esbuild = await import("esbuild");
  try {
    await esbuild.build({
      absWorkingDir: root,
      entryPoints,
      outdir,
      bundle: true,
      // npm packages are loaded from node_modules as they are, not copied into the bundle.
      packages: "external",
      // One chunk per lazily imported module: a command loads only what it runs (no Ink for `parse`).
      splitting: true,
      format: "esm",
      platform: "node",
      target: "node20",
      outExtension: { ".js": ".mjs" },
      // Stack traces name .ts lines (bin.js enables source maps); the sources themselves are on disk.
      sourcemap: "linked",
      sourcesContent: false,
      logLevel: "silent",
      plugins: [sourceLocation(root), narrowSurfaces(root)],
    });
  } catch (error) {
    throw new CompileError(compileFailure(error, root));
  } finally {
    // esbuild keeps a service process for further builds: none follow.
    await esbuild.stop();
  }
}

/**
 * Gives each module the `import.meta.url` of its own source file, as tsx and vitest do: the
 * modules that read files shipped beside them (field.proto, hardware/boards.json, package.json,
 * firmware-config/) find them from the bundle too.
 * @param {string} root
 */
function sourceLocation(root) {
  const inRoot = `${root.replace(/\/$/, "")}/`;
  return {
    name: "meshaid-source-location",
    /** @param {{ onLoad: (options: { filter: RegExp }, callback: (args: { path: string }) => Promise<{ contents: string, loader: "ts" | "tsx" } | undefined>) => void }} build */
    setup(build) {
      build.onLoad({ filter: /\.tsx?$/ }, async (args) => {
        if (!args.path.startsWith(inRoot) || args.path.includes("/node_modules/")) return undefined;
        const text = await readFile(args.path, "utf8");
        const url = JSON.stringify(pathToFileURL(args.path).href);
        return { contents: text.replaceAll("import.meta.url", url), loader: args.path.endsWith(".tsx") ? "tsx" : "ts" };
      });
    },
  };
}

/**
 * Narrows each `import { a, b } from "../folder/index.ts"` to the modules that define `a` and `b`.
 * esbuild puts a module in every chunk whose entry can reach it through import statements,
 * used or not, so a command that takes two names from a folder's surface loaded every module
 * that surface re-exports: `meshaid status` and `send` (the station's control client) loaded the
 * whole station, the radio, @meshtastic/core, protobufjs and yaml before sending one line.
 * Names the surface does not re-export by name (its own code, `export *`) keep the whole surface.
 * @param {string} root
 */
function narrowSurfaces(root) {
  const src = join(root, "src");
  /** @type {Map<string, Map<string, string> | undefined>} a surface's re-exported names -> their module */
  const surfaces = new Map();
  /** @param {string} file */
  const reExports = (file) => {
    if (!surfaces.has(file)) {
      /** @type {Map<string, string> | undefined} */
      let names = new Map();
      for (const line of readFileSync(file, "utf8").split("\n")) {
        if (line.trim() === "" || line.startsWith("//") || /^export type /.test(line)) continue;
        const match = /^export \{([^}]*)\} from "(\.\/[^"]+)";$/.exec(line);
        if (!match) {
          names = undefined; // code of its own, or `export *`: kept whole
          break;
        }
        for (const name of match[1].split(",").map((part) => part.trim()).filter(Boolean)) {
          if (!name.startsWith("type ")) names.set(name, resolve(dirname(file), match[2]));
        }
      }
      surfaces.set(file, names);
    }
    return surfaces.get(file);
  };
  return {
    name: "meshaid-narrow-surfaces",
    /** @param {{ onResolve: (options: { filter: RegExp }, callback: (args: { path: string, importer: string, resolveDir: string, kind: string }) => { path: string, namespace: string, pluginData: Array<[string, string]> } | undefined) => void, onLoad: (options: { filter: RegExp, namespace: string }, callback: (args: { pluginData: Array<[string, string]> }) => { contents: string, loader: "ts", resolveDir: string }) => void }} build */
    setup(build) {
      build.onResolve({ filter: /^\.\.\/[a-z]+\/index\.ts$/ }, (args) => {
        const surface = resolve(args.resolveDir, args.path);
        if (args.kind !== "import-statement" || relative(src, args.importer).startsWith("..") || relative(src, surface).startsWith("..")) return undefined;
        const modules = reExports(surface);
        const specifier = args.path.replace(/[.]/g, "\\.");
        const importer = readFileSync(args.importer, "utf8");
        const imports = [...importer.matchAll(new RegExp(`^(import|export)( type)? ?\\{([^}]*)\\} from "${specifier}";`, "gm"))];
        // Any other form (`import * as`, a default import) keeps the whole surface.
        if (imports.length !== importer.split(`"${args.path}"`).length - 1) return undefined;
        const names = imports.filter((statement) => !statement[2]).flatMap((statement) => statement[3].split(",").map((part) => part.trim()).filter((part) => part && !part.startsWith("type ")));
        if (!modules || names.some((name) => !modules.has(name.split(/\s+as\s+/)[0]))) return undefined;
        const exported = [...new Set(names.map((name) => name.split(/\s+as\s+/)[0]))].sort();
        return { path: `${surface}#${exported.join(",")}`, namespace: "meshaid-surface", pluginData: exported.map((name) => [name, modules.get(name) ?? ""]) };
      });
      build.onLoad({ filter: /.*/, namespace: "meshaid-surface" }, (args) => ({
        contents: args.pluginData.map(([name, file]) => `export { ${name} } from ${JSON.stringify(file)};`).join("\n"),
        loader: "ts",
        resolveDir: src,
      }));
    },
  };
}

/**
 * Everything a compile depends on, hashed: the path, size and mtime of each code file under src/
 * (an edit, a new, deleted or renamed file; not an editor's swap file, nor field.proto, which is
 * read at run time), tsconfig.json (JSX settings), the installed esbuild, this file's format and
 * the checkout's path (the compiled code names its source files). About 130 stats.
 * @param {string} root
 * @param {string} entry
 * @param {string} esbuild which esbuild is installed
 */
export function sourceFingerprint(root, entry, esbuild) {
  const hash = createHash("sha256");
  hash.update(`${BUILD_FORMAT}\0${esbuild}\0${root}\0${entry}\0`);
  const visit = (/** @type {string} */ dir) => {
    for (const dirent of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const path = join(dir, dirent.name);
      if (dirent.isDirectory()) visit(path);
      else if (CODE_FILE.test(dirent.name)) {
        const stat = statSync(path);
        hash.update(`${relative(root, path)}\0${stat.size}\0${stat.mtimeMs}\0`);
      }
    }
  };
  visit(join(root, "src"));
  const tsconfig = join(root, "tsconfig.json");
  if (existsSync(tsconfig)) {
    const stat = statSync(tsconfig);
    hash.update(`tsconfig.json\0${stat.size}\0${stat.mtimeMs}\0`);
  }
  return hash.digest("hex").slice(0, 20);
}

/**
 * node_modules/.cache/meshaid/<checkout>: one folder per checkout, so checkouts sharing a
 * node_modules (git worktrees linked to one install) do not compile over each other.
 * @param {string} root
 */
export function defaultCacheDir(root) {
  root = resolve(root);
  const key = `${basename(root) || "meshaid"}-${createHash("sha256").update(root).digest("hex").slice(0, 8)}`;
  return join(root, "node_modules", ".cache", "meshaid", key);
}

/**
 * Which esbuild is installed, as its package.json's size and mtime (an upgrade rewrites it).
 * @param {string} root
 */
function installedEsbuild(root) {
  try {
    const { size, mtimeMs } = statSync(createRequire(join(root, "package.json")).resolve("esbuild/package.json"));
    return `${size}:${mtimeMs}`;
  } catch {
    throw new CompileError(`esbuild is not installed for ${root}: run \`npm ci\` there`);
  }
}

/**
 * Removes all but the newest compiles (and those a live process runs: holdCompile), and temporary
 * folders a killed compile left.
 * @param {string} cacheDir
 * @param {string} current
 */
function prune(cacheDir, current) {
  try {
    const now = Date.now();
    const compiles = [];
    for (const name of readdirSync(cacheDir)) {
      const path = join(cacheDir, name);
      const { mtimeMs } = statSync(path);
      if (name === RUNNING) continue;
      if (name.startsWith(".tmp-")) {
        if (now - mtimeMs > STALE_TEMP_MS) rmSync(path, { recursive: true, force: true });
      } else if (name !== current) compiles.push({ name, path, mtimeMs });
    }
    compiles.sort((a, b) => b.mtimeMs - a.mtimeMs);
    for (const old of compiles.slice(KEEP_COMPILES)) if (!inUse(cacheDir, old.name)) rmSync(old.path, { recursive: true, force: true });
  } catch {
    // Pruning is housekeeping: another process pruning at the same time is not a failure.
  }
}

/**
 * One line for a failed compile: the first error's file, line and column, and the rest counted.
 * @param {unknown} error
 * @param {string} root
 */
function compileFailure(error, root) {
  /** @type {Array<{ text: string, location: { file: string, line: number, column: number } | null }>} */
  const errors = /** @type {{ errors?: [] }} */ (error)?.errors ?? [];
  const first = errors[0];
  if (!first) return `cannot compile meshaid's sources: ${reason(error)}`;
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more error${errors.length > 2 ? "s" : ""})` : "";
  // Without a place in a source it is not the code: a full disk, a missing file, esbuild itself.
  if (!first.location) return `cannot compile meshaid's sources: ${first.text}${more}`;
  const where = `${relative(root, resolve(root, first.location.file))}:${first.location.line}:${first.location.column + 1}`;
  return `cannot compile meshaid's sources: ${where}: ${first.text}${more}; fix the file, or \`git status\` shows what changed`;
}

/** Whether node was started on this file (argv[1] may be a symlink, or not a file: `node -e`). */
function isMain() {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

/** @param {unknown} error */
function reason(error) {
  return error instanceof Error ? error.message : String(error);
}

// `node src/cli/build.js` (npm run build, npm ci's prepare): compile now.
if (isMain()) {
  try {
    const { dir, compiled } = await compiledEntry();
    process.stdout.write(`meshaid: ${compiled ? "compiled to" : "up to date in"} ${dir}\n`);
  } catch (error) {
    if (!(error instanceof CompileError)) throw error;
    process.stderr.write(`meshaid: ${error.message}\n`);
    process.exitCode = 1;
  }
}
