const http = require("http");
const fs = require("fs");
const greeting = fs.readFileSync(__dirname + "/greeting.txt", "utf8");
http.createServer((request, response) => response.end(greeting)).listen(Number(process.env.PORT), "0.0.0.0");
