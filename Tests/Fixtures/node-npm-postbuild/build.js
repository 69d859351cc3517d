// heroku-postbuild: uses a devDependency, and counts builds in a cacheDirectories directory.
const fs = require("fs");
const shout = require("kiln-shout");
fs.mkdirSync(".cache/kiln", { recursive: true });
const previous = fs.existsSync(".cache/kiln/builds") ? Number(fs.readFileSync(".cache/kiln/builds", "utf8")) : 0;
fs.writeFileSync(".cache/kiln/builds", String(previous + 1));
fs.mkdirSync("dist", { recursive: true });
fs.writeFileSync("dist/built.txt", `${shout("built by heroku-postbuild")} (build ${previous + 1} of this app's cache)`);
console.log(`heroku-postbuild: build ${previous + 1}`);
