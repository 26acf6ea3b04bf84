// Private tables (docs/plugins.md): scripts/check-tables.mjs finds no plugin naming another
// plugin's tables in this tree, and finds every kind of violation in a fixture tree, so the
// check itself cannot pass by seeing nothing.

import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { cLiterals, checkTables } from "../../scripts/check-tables.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "..", "..");

test("no plugin of this tree names a table of another plugin", () => {
  const { owners, violations } = checkTables(ROOT);
  assert.deepEqual(violations, []);
  // The map as docs/plugins.md states it.
  assert.equal(owners.user_users, "user");
  assert.equal(owners.user_metadata, "user");
  assert.equal(owners.calendar_calendars, "calendar");
  assert.equal(owners.calendar_metadata, "calendar");
  assert.equal(owners.events_events, "events");
  assert.equal(owners.events_metadata, "events");
  assert.equal(owners.account_accounts, "account");
  assert.equal(owners.nettu_migrations, "core");
});

test("the fixture's violations are all found, and only they", () => {
  const { owners, violations } = checkTables(path.join(HERE, "fixture"));
  assert.equal(owners.alpha_items, "alpha");
  assert.equal(owners.beta_things, "beta");
  const found = violations.map((v) => v.replace(/^plugins\//, "")).sort();
  assert.deepEqual(found, [
    "alpha/alpha.c:10: plugin alpha names table nettu_migrations of core",
    "alpha/alpha.c:12: plugin alpha uses beta_unknown, a table name of plugin beta",
    "alpha/alpha.c:7: plugin alpha names table beta_things of beta",
    "beta/beta.c:3: plugin beta creates table things without its prefix 'beta_'",
    "beta/beta.c:5: plugin beta names table alpha_items of alpha",
    "common/helpers.c:3: the library common names table alpha_items of alpha",
  ]);
});

test("literals are read as the compiler joins them; comments and characters are skipped", () => {
  const lits = cLiterals('/* "no" */ x = "a" "b" // "no"\n y = \'"\'; z = "c\\"d\\n" ;\n"e"');
  assert.deepEqual(lits, [
    { text: "ab", line: 1 },
    { text: 'c"d\n', line: 2 },
    { text: "e", line: 3 },
  ]);
});
