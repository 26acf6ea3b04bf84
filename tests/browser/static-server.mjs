// A small static file server on its own 127.0.0.1 port (so the pages run on another origin
// than the nettu server and the browser applies CORS). It serves:
//   /flow/             tests/browser/page/index.html (the documented frontend flow)
//   /flow/bundle.js    the esbuild bundle of page/entry.mjs (given as a string)
//   /example/...       the files of examples/browser/
//   /favicon.ico       204, so the browser logs no 404 for it
// Every request is recorded in `requests` ({method, path, status}).

import fs from "node:fs";
import http from "node:http";
import path from "node:path";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".png": "image/png",
  ".svg": "image/svg+xml",
};

// Resolves `rel` inside `dir`; null when it escapes the folder or is not a file.
function fileIn(dir, rel) {
  const file = path.resolve(dir, "." + path.posix.normalize("/" + rel));
  if (file !== dir && !file.startsWith(dir + path.sep)) return null;
  try {
    return fs.statSync(file).isFile() ? file : null;
  } catch {
    return null;
  }
}

/**
 * Starts the server on a free port of 127.0.0.1.
 * Options: pageDir (the flow page folder), exampleDir (examples/browser), bundle (JS text).
 * Returns {origin, requests, close()}.
 */
export function startStatic({ pageDir, exampleDir, bundle }) {
  const requests = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://127.0.0.1");
    let status = 404;
    let type = "text/plain; charset=utf-8";
    let body = "not found\n";
    let file = null;
    if (req.method !== "GET" && req.method !== "HEAD") {
      status = 405;
      body = "method not allowed\n";
    } else if (url.pathname === "/favicon.ico") {
      status = 204;
      body = "";
    } else if (url.pathname === "/flow/bundle.js") {
      status = 200;
      type = TYPES[".js"];
      body = bundle;
    } else if (url.pathname === "/flow/" || url.pathname === "/flow/index.html") {
      file = fileIn(pageDir, "index.html");
    } else if (url.pathname === "/example" || url.pathname === "/example/") {
      file = fileIn(exampleDir, "index.html");
    } else if (url.pathname.startsWith("/example/")) {
      file = fileIn(exampleDir, decodeURIComponent(url.pathname.slice("/example/".length)));
    }
    if (file) {
      status = 200;
      type = TYPES[path.extname(file)] || "application/octet-stream";
      body = fs.readFileSync(file);
    }
    requests.push({ method: req.method, path: url.pathname, status });
    res.writeHead(status, { "Content-Type": type, "Cache-Control": "no-store" });
    res.end(req.method === "HEAD" ? undefined : body);
  });
  return new Promise((resolve, reject) => {
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      resolve({
        origin: `http://127.0.0.1:${port}`,
        requests,
        close: () =>
          new Promise((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    });
  });
}
