#!/usr/bin/env node
// The `meshaid` command. meshaid runs its TypeScript sources directly through tsx (a runtime
// dependency), so there is no build step between `npm ci` and `npm start`.
import { register } from "tsx/esm/api";

register();
await import("./main.ts");
