// The station start under test for migrate-crash.test.ts, in a child process: opens the database in
// argv[2] as `meshaid start` does (checked, and migrated from the two-key layout), then the store.
// Prints "MIGRATING" just before and "OPEN <count>" once the store is open.
import { openDatabase } from "../../src/cli/database.ts";
import { RecordStore } from "../../src/store/index.ts";
import { codebook } from "../helpers/records.ts";

const dir = process.argv[2];
if (!dir) throw new Error("usage: migrate-crash-child.ts DB_DIR");
process.stdout.write("MIGRATING\n");
const { db } = await openDatabase(dir, codebook);
const store = await RecordStore.open(db, codebook);
process.stdout.write(`OPEN ${store.count}\n`);
await store.close();
