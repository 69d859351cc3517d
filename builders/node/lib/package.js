// Answers bin/compile's questions about the app's package.json, one a call:
//   node package.js check                 exits 1 with a line when package.json is not a JSON object
//   node package.js script NAME           exits 0 when scripts.NAME is defined
//   node package.js package-manager       prints packageManager's NAME and VERSION ("yarn 4.1.0"), or nothing
//   node package.js dev-dependencies      exits 0 when devDependencies is not empty
//   node package.js cache-directories     prints cacheDirectories (or cache_directories), one a line;
//                                         exits 1 with a line naming an entry that is not a path inside the app
"use strict";
const fs = require("fs");
const [command, argument] = process.argv.slice(2);
let manifest;
try {
  manifest = JSON.parse(fs.readFileSync("package.json", "utf8"));
} catch (error) {
  console.error(`package.json is not valid JSON: ${error.message}`);
  process.exit(1);
}
if (manifest === null || typeof manifest !== "object" || Array.isArray(manifest)) {
  console.error("package.json is not a JSON object");
  process.exit(1);
}
const scripts = manifest.scripts && typeof manifest.scripts === "object" ? manifest.scripts : {};
switch (command) {
  case "check":
    break;
  case "script":
    process.exit(typeof scripts[argument] === "string" ? 0 : 1);
  case "package-manager": {
    const field = manifest.packageManager;
    if (field === undefined) break;
    // "pnpm@9.1.0" or "yarn@4.1.0+sha512.abc": the name and the version without its hash.
    const match = typeof field === "string" && field.match(/^(npm|yarn|pnpm)@(\d+\.\d+\.\d+[^+]*)(\+.*)?$/);
    if (!match) {
      console.error(`package.json: packageManager ${JSON.stringify(field)} is not NAME@VERSION with NAME npm, yarn or pnpm`);
      process.exit(1);
    }
    console.log(`${match[1]} ${match[2]}`);
    break;
  }
  case "dev-dependencies":
    process.exit(Object.keys(manifest.devDependencies || {}).length > 0 ? 0 : 1);
  case "cache-directories": {
    const list = manifest.cacheDirectories ?? manifest.cache_directories ?? [];
    const name = manifest.cacheDirectories !== undefined ? "cacheDirectories" : "cache_directories";
    if (!Array.isArray(list)) {
      console.error(`package.json: ${name} is not a list of directories`);
      process.exit(1);
    }
    for (const entry of list) {
      // Saved and restored by path inside the app: nothing absolute, no way out, nothing on a second line.
      const clean = typeof entry === "string" ? entry.replace(/\/+$/, "") : "";
      if (!clean || clean.startsWith("/") || clean.split("/").some((part) => part === ".." || part === "." || part === "") || /[\n\r]/.test(clean)) {
        console.error(`package.json: ${name} entry ${JSON.stringify(entry)} is not a relative path inside the app`);
        process.exit(1);
      }
      console.log(clean);
    }
    break;
  }
  default:
    console.error(`package.js: unknown question ${command}`);
    process.exit(2);
}
