#!/usr/bin/env node
// The `meshaid` command. It runs meshaid compiled to JavaScript (build.js): compiled on `npm ci`,
// and again here whenever a file under src/ changed since, so an edit, a fresh clone or a
// `git pull` never runs stale code (checking, about 130 stats and a hash, costs a few milliseconds).
import { CompileError, compiledEntry, holdCompile } from "./build.js";

let entry;
try {
  entry = await compiledEntry();
  // Kept while this process runs (it may load a module from it hours from now); one pruned
  // between the two calls is compiled again.
  if (!holdCompile(entry.dir)) {
    entry = await compiledEntry();
    holdCompile(entry.dir);
  }
} catch (error) {
  if (!(error instanceof CompileError)) throw error;
  process.stderr.write(`meshaid: ${error.message}\n`);
  process.exit(1);
}
// Stack traces name the .ts files and lines, as when the sources ran directly.
process.setSourceMapsEnabled(true);
await import(entry.url);
