// The `meshaid` bin runs compiled JavaScript and compiles again whenever the sources changed.
// Checked on a copy of bin.js and build.js in a temporary checkout with a small program of its
// own (the real src/ is never edited), with the real esbuild linked into its node_modules.
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { compiledEntry, defaultCacheDir } from "../../src/cli/build.js";
import { runMeshaid } from "../helpers/cli.ts";
import { useTempDir } from "../helpers/tmp.ts";

const REPO = fileURLToPath(new URL("../../", import.meta.url));

const MAIN = `import { readFileSync } from "node:fs";
import { greeting } from "./greeting.ts";

// A file shipped beside the sources, found from the compiled code as from the sources.
const shipped = readFileSync(new URL("./shipped.txt", import.meta.url), "utf8").trim();
process.stdout.write(\`\${greeting()} \${shipped}\\n\`);
if (process.argv[2] === "throw") throwHere();

function throwHere(): never {
  throw new Error("thrown on line 10 of main.ts");
}
`;

/** A checkout with bin.js, build.js, a two-module program, and esbuild in its node_modules. */
function checkout(root: string): void {
  mkdirSync(join(root, "src", "cli"), { recursive: true });
  for (const file of ["bin.js", "build.js"]) cpSync(join(REPO, "src", "cli", file), join(root, "src", "cli", file));
  cpSync(join(REPO, "tsconfig.json"), join(root, "tsconfig.json"));
  writeFileSync(join(root, "src", "cli", "main.ts"), MAIN);
  writeFileSync(join(root, "src", "cli", "shipped.txt"), "(shipped)\n");
  greet(root, "hello");
  mkdirSync(join(root, "node_modules"));
  symlinkSync(realpathSync(join(REPO, "node_modules", "esbuild")), join(root, "node_modules", "esbuild"));
}

function greet(root: string, word: string): void {
  writeFileSync(join(root, "src", "cli", "greeting.ts"), `export const greeting = (): string => "${word}";\n`);
}

function meshaid(root: string, ...args: string[]) {
  const run = spawnSync(process.execPath, [join(root, "src", "cli", "bin.js"), ...args], { encoding: "utf8", timeout: 60_000 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** The compiles and temporary folders in the checkout's cache. */
function cached(root: string): string[] {
  const dir = defaultCacheDir(root);
  return existsSync(dir) ? readdirSync(dir).filter((name) => name !== ".running").sort() : [];
}

describe("the meshaid bin", () => {
  const tmp = useTempDir("meshaid-build-");

  it("compiles on the first run, then runs the compile until a source changes", async () => {
    const root = tmp.path;
    checkout(root);
    expect(meshaid(root)).toEqual({ status: 0, stdout: "hello (shipped)\n", stderr: "" });
    const first = cached(root);
    expect(first).toHaveLength(1);
    expect(await compiledEntry({ root })).toMatchObject({ compiled: false });

    greet(root, "hola");
    expect(meshaid(root).stdout).toBe("hola (shipped)\n");
    expect(cached(root)).toHaveLength(2);
    expect(await compiledEntry({ root })).toMatchObject({ compiled: false });
  });

  it("compiles again for a file restored with an older mtime, a new file and a deleted one", async () => {
    const root = tmp.path;
    checkout(root);
    expect(meshaid(root).stdout).toBe("hello (shipped)\n");
    // A tarball or `cp -p` can bring back a file older than the last compile.
    greet(root, "old");
    utimesSync(join(root, "src", "cli", "greeting.ts"), new Date("2020-01-01"), new Date("2020-01-01"));
    expect(meshaid(root).stdout).toBe("old (shipped)\n");

    const before = await compiledEntry({ root });
    // An editor's swap file is not a source.
    writeFileSync(join(root, "src", "cli", ".greeting.ts.swp"), "swap");
    expect(await compiledEntry({ root })).toEqual({ ...before, compiled: false });
    writeFileSync(join(root, "src", "cli", "unused.ts"), "export const unused = 1;\n");
    const added = await compiledEntry({ root });
    expect(added).toMatchObject({ compiled: true });
    // Deleted again: the same sources as before, whose compile is still kept.
    rmSync(join(root, "src", "cli", "unused.ts"));
    expect(await compiledEntry({ root })).toEqual({ ...before, compiled: false });
    expect(added.dir).not.toBe(before.dir);
  });

  it("runs every one of several processes started at once on stale sources, leaving one whole compile", async () => {
    const root = tmp.path;
    checkout(root);
    expect(meshaid(root).status).toBe(0);
    greet(root, "together");
    const runs = await Promise.all(
      Array.from({ length: 4 }, () => {
        const child = spawn(process.execPath, [join(root, "src", "cli", "bin.js")], { stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => child.once("close", (status) => resolve({ status, stdout, stderr })));
      }),
    );
    for (const run of runs) expect(run).toEqual({ status: 0, stdout: "together (shipped)\n", stderr: "" });
    // The earlier compile and the new one; no temporary folder left behind.
    expect(cached(root)).toHaveLength(2);
    expect(cached(root).filter((name) => name.startsWith(".tmp-"))).toEqual([]);
    const { dir } = await compiledEntry({ root });
    expect(readdirSync(dir).sort()).toEqual(["main.mjs", "main.mjs.map"]);
  });

  it("keeps the newest four compiles", async () => {
    const root = tmp.path;
    checkout(root);
    const dirs: string[] = [];
    for (const word of ["one", "two", "three", "four", "five", "six"]) {
      greet(root, word);
      dirs.push((await compiledEntry({ root })).dir);
    }
    expect(cached(root)).toEqual(dirs.slice(2).map((dir) => dir.split("/").at(-1)).sort());
    expect(meshaid(root).stdout).toBe("six (shipped)\n");
  });

  it("loads from a folder's index.ts only the modules whose names a module imports", () => {
    const root = tmp.path;
    checkout(root);
    // A folder surface re-exporting a small module and one that is costly to load (it says so when loaded).
    mkdirSync(join(root, "src", "box"));
    writeFileSync(join(root, "src", "box", "index.ts"), `// The box.\nexport { small } from "./small.ts";\nexport { costly } from "./costly.ts";\nexport type { Size } from "./small.ts";\n`);
    writeFileSync(join(root, "src", "box", "small.ts"), `export type Size = number;\nexport const small = (): string => "small";\n`);
    writeFileSync(join(root, "src", "box", "costly.ts"), `process.stdout.write("costly loaded\\n");\nexport const costly = (): string => "costly";\n`);
    writeFileSync(join(root, "src", "cli", "main.ts"), `import { small, type Size } from "../box/index.ts";\nconst size: Size = 1;\nif (process.argv[2] === "costly") {\n  const { useCostly } = await import("./use-costly.ts");\n  process.stdout.write(\`\${useCostly()}\\n\`);\n} else process.stdout.write(\`\${small()} \${size}\\n\`);\n`);
    writeFileSync(join(root, "src", "cli", "use-costly.ts"), `import { costly, small } from "../box/index.ts";\nexport const useCostly = (): string => \`\${costly()} \${small()}\`;\n`);
    expect(meshaid(root)).toEqual({ status: 0, stdout: "small 1\n", stderr: "" });
    expect(meshaid(root, "costly")).toEqual({ status: 0, stdout: "costly loaded\ncostly small\n", stderr: "" });
  });

  it("never prunes the compile a running process uses (it loads modules lazily, later); a killed one's goes", async () => {
    const root = tmp.path;
    checkout(root);
    writeFileSync(join(root, "src", "cli", "main.ts"), `if (process.argv[2] === "wait") {\n  process.stdout.write("waiting\\n");\n  process.stdin.once("data", async () => {\n    const { later } = await import("./later.ts");\n    process.stdout.write(\`\${later()}\\n\`);\n    process.exit(0);\n  });\n} else process.stdout.write("once\\n");\n`);
    writeFileSync(join(root, "src", "cli", "later.ts"), `export const later = (): string => "loaded later";\n`);
    const waiting = (): { child: ReturnType<typeof spawn>; stdout: () => string; exit: Promise<number | null> } => {
      const child = spawn(process.execPath, [join(root, "src", "cli", "bin.js"), "wait"], { stdio: ["pipe", "pipe", "inherit"] });
      let stdout = "";
      child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
      return { child, stdout: () => stdout, exit: new Promise((resolve) => child.once("exit", resolve)) };
    };
    const editAndRun = (words: string[]): void => {
      for (const word of words) {
        greet(root, word);
        expect(meshaid(root).stdout).toBe("once\n");
      }
    };
    const station = waiting();
    await expect.poll(station.stdout, { timeout: 20_000 }).toBe("waiting\n");
    const [held] = cached(root);
    editAndRun(["one", "two", "three", "four", "five"]);
    expect(cached(root)).toHaveLength(5); // the newest four, and the one the station runs
    expect(cached(root)).toContain(held);
    station.child.stdin!.write("go\n");
    expect(await station.exit).toBe(0);
    expect(station.stdout()).toBe("waiting\nloaded later\n");
    editAndRun(["six"]);
    expect(cached(root)).not.toContain(held);

    // A process killed with SIGKILL leaves its mark behind: its compile goes all the same.
    const killed = waiting();
    await expect.poll(killed.stdout, { timeout: 20_000 }).toBe("waiting\n");
    killed.child.kill("SIGKILL");
    await killed.exit;
    const killedCompile = (await compiledEntry({ root })).dir.split("/").at(-1);
    editAndRun(["seven", "eight", "nine", "ten"]);
    expect(cached(root)).toHaveLength(4);
    expect(cached(root)).not.toContain(killedCompile);
    expect(readdirSync(join(defaultCacheDir(root), ".running"))).toEqual([]);
  }, 60_000);

  it("says in one line which file does not compile, exits 1, and runs again once it is fixed", () => {
    const root = tmp.path;
    checkout(root);
    writeFileSync(join(root, "src", "cli", "greeting.ts"), `export const greeting = (): string => "unclosed;\n`);
    const run = meshaid(root);
    expect(run.status).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(/^meshaid: cannot compile meshaid's sources: src\/cli\/greeting\.ts:1:\d+: Unterminated string literal; fix the file, or `git status` shows what changed\n$/);
    expect(cached(root).filter((name) => name.startsWith(".tmp-"))).toEqual([]);
    greet(root, "fixed");
    expect(meshaid(root).stdout).toBe("fixed (shipped)\n");
  });

  it("names the .ts file and line in a stack trace", () => {
    const root = tmp.path;
    checkout(root);
    const run = meshaid(root, "throw");
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain("thrown on line 10 of main.ts");
    expect(run.stderr).toContain(`${join(root, "src", "cli", "main.ts")}:10:`);
  });

  it("says how to compile when the sources changed and the cache cannot be written", () => {
    const root = tmp.path;
    checkout(root);
    // A file where the cache's folder would be: not writable, even for root.
    writeFileSync(join(root, "node_modules", ".cache"), "");
    const run = meshaid(root);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^meshaid: the sources changed since they were last compiled, and .*node_modules\/\.cache\/meshaid\/.* cannot be written \(.*\): run `node .*\/src\/cli\/build\.js` as a user who may write there\n$/);
  });

  it("says what to do when esbuild is not installed", () => {
    const root = tmp.path;
    checkout(root);
    rmSync(join(root, "node_modules", "esbuild"));
    const run = meshaid(root);
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(`meshaid: esbuild is not installed for ${root}: run \`npm ci\` there\n`);
  });
});

describe("meshaid compiled", () => {
  it("finds the files shipped beside its sources: package.json, hardware/boards.json, firmware-config/", () => {
    const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { version: string };
    expect(runMeshaid(["--version"])).toEqual({ status: 0, stdout: `${pkg.version}\n`, stderr: "" });
    const boards = JSON.parse(readFileSync(join(REPO, "hardware", "boards.json"), "utf8")) as { boards: Array<{ usb: Array<{ vendorId: string; productId: string }> }> };
    const udev = runMeshaid(["udev"]);
    expect(udev.status).toBe(0);
    for (const board of boards.boards) for (const usb of board.usb) expect(udev.stdout).toContain(usb.vendorId);
    // The preset table (firmware-config/presets.yaml) and the field.proto schema beside records.ts.
    const parse = runMeshaid(["parse", "NEED WATER"]);
    expect(parse).toMatchObject({ status: 0, stderr: "" });
    expect(parse.stdout).toContain("wire: 7 bytes  7f10013a020100");
  });
});
