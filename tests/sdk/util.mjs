// Small helpers for the shell tests of this folder (Node.js is already needed by the
// end-to-end tests, so the shell scripts use it instead of jq or python):
//   node util.mjs port            prints a free TCP port on 127.0.0.1
//   node util.mjs json EXPR       prints the JavaScript expression EXPR evaluated with `j`
//                                 bound to the JSON document read from stdin (strings raw,
//                                 anything else as JSON); exits 1 when stdin is not JSON
import fs from "node:fs";
import net from "node:net";

const [cmd, arg] = process.argv.slice(2);

if (cmd === "port") {
  const srv = net.createServer();
  srv.listen(0, "127.0.0.1", () => {
    const { port } = srv.address();
    srv.close(() => process.stdout.write(`${port}\n`));
  });
} else if (cmd === "json" && arg) {
  const text = fs.readFileSync(0, "utf8");
  let j;
  try {
    j = JSON.parse(text);
  } catch (err) {
    process.stderr.write(`not JSON (${err.message}): ${text.slice(0, 300)}\n`);
    process.exit(1);
  }
  const v = new Function("j", `"use strict"; return (${arg});`)(j);
  process.stdout.write(`${typeof v === "string" ? v : JSON.stringify(v)}\n`);
} else {
  process.stderr.write("usage: node util.mjs port | json EXPR\n");
  process.exit(2);
}
