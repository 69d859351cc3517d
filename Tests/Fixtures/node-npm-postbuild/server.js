// Answers on $PORT with what the build left: the prebuild's note, the postbuild's output, what pruning left.
const fs = require("fs");
const http = require("http");
const greet = require("kiln-greet");
let shout = "pruned";
try { require.resolve("kiln-shout"); shout = "kept"; } catch {}
http.createServer((request, response) => {
  const prebuild = fs.readFileSync("prebuild.txt", "utf8");
  const built = fs.readFileSync("dist/built.txt", "utf8");
  response.end(`${greet("npm")}; heroku-prebuild ran ${prebuild}; ${built}; devDependency kiln-shout ${shout}; NODE_ENV ${process.env.NODE_ENV}\n`);
}).listen(Number(process.env.PORT));
