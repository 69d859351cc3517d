// `npm run build`: writes the greeting the server answers with, so the test sees that the build step ran.
require("fs").writeFileSync("greeting.txt", `node sample served, built by npm run build\n`);
