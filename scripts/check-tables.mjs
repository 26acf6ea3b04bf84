#!/usr/bin/env node
// Private tables: no plugin's SQL names a table another plugin owns.
//
// The ownership map. A table belongs to the plugin whose migration creates it, and its name
// starts with that plugin's name and "_" (user_users, calendar_calendars, events_events,
// metrics_probe ...). nettu_migrations and nettu_idempotency belong to the core. The static
// libraries plugins/common and plugins/time are linked into several plugins and belong to none: they
// may name no table at all (common's helpers take table names from their caller).
//
// What is checked, over the string literals of every .c and .h file under plugins/<name>/
// (comments are skipped; adjacent literals are joined, as the compiler does):
//   - every CREATE TABLE names a table with the creating plugin's prefix;
//   - no literal names a table owned by another plugin (or the core), except right after
//     REFERENCES: foreign keys to an owner's table stay, they keep cascades atomic;
//   - no literal uses an unknown table with another plugin's prefix after FROM, JOIN, INTO,
//     UPDATE or TABLE in upper case (a table of a plugin whose sources are not here).
//
// Usage: node scripts/check-tables.mjs [--root DIR]   (default: the repository)
// Prints the map and exits 0, or prints every violation (file:line: ...) and exits 1.

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const CORE_TABLES = { nettu_migrations: "core", nettu_idempotency: "core" };
const LIBRARIES = new Set(["common", "time"]);

// The string literals of C source text: [{text, line}] with adjacent literals joined.
export function cLiterals(src) {
  const out = [];
  let i = 0;
  let line = 1;
  let cur = null; // the literal being joined: {text, line}
  const flush = () => {
    if (cur) out.push(cur);
    cur = null;
  };
  while (i < src.length) {
    const c = src[i];
    if (c === "\n") {
      line++;
      i++;
    } else if (c === "/" && src[i + 1] === "/") {
      while (i < src.length && src[i] !== "\n") i++;
    } else if (c === "/" && src[i + 1] === "*") {
      i += 2;
      while (i < src.length && !(src[i] === "*" && src[i + 1] === "/")) {
        if (src[i] === "\n") line++;
        i++;
      }
      i += 2;
    } else if (c === "'") {
      // a character constant
      i++;
      while (i < src.length && src[i] !== "'") i += src[i] === "\\" ? 2 : 1;
      i++;
      flush();
    } else if (c === '"') {
      const start = line;
      let text = "";
      i++;
      while (i < src.length && src[i] !== '"') {
        if (src[i] === "\\") {
          const e = src[i + 1];
          text += e === "n" ? "\n" : e === "t" ? "\t" : e;
          if (e === "\n") line++;
          i += 2;
        } else {
          if (src[i] === "\n") line++;
          text += src[i++];
        }
      }
      i++;
      if (cur) cur.text += text;
      else cur = { text, line: start };
    } else if (/\s/.test(c)) {
      i++;
    } else {
      flush();
      i++;
    }
  }
  flush();
  return out;
}

// The plugins under root/plugins: {name: [{file, literals}]}.
function readPlugins(root) {
  const dir = path.join(root, "plugins");
  const plugins = {};
  for (const name of fs.readdirSync(dir).sort()) {
    const pdir = path.join(dir, name);
    if (!fs.statSync(pdir).isDirectory()) continue;
    plugins[name] = [];
    const walk = (d) => {
      for (const f of fs.readdirSync(d).sort()) {
        const p = path.join(d, f);
        if (fs.statSync(p).isDirectory()) walk(p);
        else if (/\.[ch]$/.test(f)) plugins[name].push({ file: path.relative(root, p), literals: cLiterals(fs.readFileSync(p, "utf8")) });
      }
    };
    walk(pdir);
  }
  return plugins;
}

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

// Checks the tree at root: {owners: {table: plugin}, violations: [string]}.
export function checkTables(root) {
  const plugins = readPlugins(root);
  const owners = { ...CORE_TABLES };
  const violations = [];
  const at = (f, lit) => `${f.file}:${lit.line}`;

  for (const [name, files] of Object.entries(plugins)) {
    for (const f of files) {
      for (const lit of f.literals) {
        for (const m of lit.text.matchAll(/\bCREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?([A-Za-z_][A-Za-z0-9_]*)/gi)) {
          const table = m[1];
          if (LIBRARIES.has(name)) violations.push(`${at(f, lit)}: the library ${name} creates table ${table}`);
          else if (!table.startsWith(`${name}_`)) violations.push(`${at(f, lit)}: plugin ${name} creates table ${table} without its prefix '${name}_'`);
          else if (owners[table] && owners[table] !== name) violations.push(`${at(f, lit)}: table ${table} is created by ${owners[table]} and ${name}`);
          else owners[table] = name;
        }
      }
    }
  }

  const names = Object.keys(owners);
  const known = names.length ? new RegExp(`\\b(${names.map(escape).join("|")})\\b`, "g") : null;
  const prefixes = Object.keys(plugins).filter((p) => !LIBRARIES.has(p));
  // SQL keywords in upper case, as every plugin writes them ("differ from user_claim" in a
  // message is not SQL).
  const sqlTarget = /\b(?:FROM|JOIN|INTO|UPDATE|TABLE)\s+([A-Za-z_][A-Za-z0-9_]*)/g;
  for (const [name, files] of Object.entries(plugins)) {
    for (const f of files) {
      for (const lit of f.literals) {
        for (const m of known ? lit.text.matchAll(known) : []) {
          const table = m[1];
          if (owners[table] === name) continue;
          if (/\bREFERENCES\s+$/i.test(lit.text.slice(0, m.index))) continue;
          violations.push(`${at(f, lit)}: ${LIBRARIES.has(name) ? "the library" : "plugin"} ${name} names table ${table} of ${owners[table]}`);
        }
        for (const m of lit.text.matchAll(sqlTarget)) {
          const table = m[1];
          if (owners[table]) continue;
          const other = prefixes.find((p) => p !== name && table.startsWith(`${p}_`));
          if (other) violations.push(`${at(f, lit)}: plugin ${name} uses ${table}, a table name of plugin ${other}`);
        }
      }
    }
  }
  return { owners, violations };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const i = args.indexOf("--root");
  const root = i >= 0 ? path.resolve(args[i + 1]) : path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
  const { owners, violations } = checkTables(root);
  const byPlugin = {};
  for (const [t, p] of Object.entries(owners)) (byPlugin[p] ||= []).push(t);
  for (const [p, ts] of Object.entries(byPlugin).sort()) console.log(`${p}: ${ts.sort().join(", ")}`);
  if (violations.length) {
    console.error(`${violations.length} violation(s) of private tables:`);
    for (const v of violations) console.error(`  ${v}`);
    process.exit(1);
  }
  console.log("private tables: no plugin names another plugin's tables");
}
