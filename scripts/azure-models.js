#!/usr/bin/env node
// Dumps the models of one @azure/arm-* npm package as JSON for the sandbox's
// parity suite (sandbox/internal/parity/azure.go); scripts/service-models.sh
// runs it. The package's serialization mappers (models/mappers.js) are what
// AutoRest generated from the Azure REST API spec of one api-version: per
// model, each property's wire name (dotted when flattened out of
// "properties"), type, readOnly and required flags, and the values of closed
// enums. The values of open ("extensible", x-ms-enum modelAsString) enums are
// not in the mappers: they are read from the package's type declarations
// (models/index.d.ts: `propName?: Alias;` with `enum KnownAlias {...}`).
//
//   node scripts/azure-models.js PACKAGE_DIR PACKAGE@VERSION API_VERSION > out.json
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");

async function loadMappers(dir) {
  const cjs = path.join(dir, "dist/commonjs/models/mappers.js");
  if (fs.existsSync(cjs)) {
    return { mappers: require(cjs), dts: path.join(dir, "dist/commonjs/models/index.d.ts"), ops: path.join(dir, "dist/commonjs/operations") };
  }
  const esm = path.join(dir, "dist-esm/src/models/mappers.js");
  if (!fs.existsSync(esm)) throw new Error(`no models/mappers.js in ${dir}`);
  // An ES module inside a CommonJS package: import a copy named .mjs.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "azure-models-"));
  const copy = path.join(tmp, "mappers.mjs");
  fs.copyFileSync(esm, copy);
  try {
    return { mappers: await import("file://" + copy), dts: path.join(dir, "dist-esm/src/models/index.d.ts"), ops: path.join(dir, "dist-esm/src/operations") };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

// parseDeclarations reads interfaces (property → type text, bases) and the
// Known* enums from a models/index.d.ts.
function parseDeclarations(file) {
  const src = fs.readFileSync(file, "utf8").replace(/\/\*\*[\s\S]*?\*\//g, "");
  const known = {};
  for (const m of src.matchAll(/export declare enum Known(\w+) \{([^}]*)\}/g)) {
    known[m[1]] = [...m[2].matchAll(/=\s*"((?:[^"\\]|\\.)*)"/g)].map((v) => JSON.parse(`"${v[1]}"`));
  }
  const interfaces = {};
  for (const m of src.matchAll(/export interface (\w+)(?: extends ([\w, <>]+))? \{([^}]*)\}/g)) {
    const props = {};
    for (const p of m[3].matchAll(/^\s*(?:readonly )?(\w+)\??: ([^;]+);/gm)) props[p[1]] = p[2].trim();
    interfaces[m[1]] = { bases: (m[2] || "").split(",").map((s) => s.trim()).filter(Boolean), props };
  }
  return { known, interfaces };
}

function propType(decl, cls, prop, seen = new Set()) {
  const i = decl.interfaces[cls];
  if (!i || seen.has(cls)) return undefined;
  seen.add(cls);
  if (i.props[prop]) return i.props[prop];
  for (const b of i.bases) {
    const t = propType(decl, b, prop, seen);
    if (t) return t;
  }
  return undefined;
}

// parseOperations reads the operation specs of the package's generated
// operations/*.js: each operation's path template, HTTP method and the
// model of its first successful reply with a body ("" when none).
function parseOperations(dir) {
  const ops = [];
  for (const f of fs.readdirSync(dir).filter((f) => f.endsWith(".js"))) {
    const src = fs.readFileSync(path.join(dir, f), "utf8");
    for (const m of src.matchAll(/const (\w+)OperationSpec = \{\s*path: "([^"]+)",\s*httpMethod: "(\w+)",\s*responses: \{([\s\S]*?)\n    \},/g)) {
      if (m[2].startsWith("{nextLink}")) continue;
      const ok = m[4].match(/\b20\d: \{\s*bodyMapper: Mappers\.(\w+)/);
      ops.push({ name: f.replace(/\.js$/, "") + "." + m[1], path: m[2], method: m[3], response: ok ? ok[1] : "" });
    }
  }
  return ops;
}

// plain copies a mapper type, keeping what the checker reads.
function plain(t, knownValues) {
  const out = { name: t.name };
  if (t.className) out.className = t.className;
  if (t.allowedValues) out.allowedValues = t.allowedValues;
  if (t.element) out.element = plain(t.element.type, t.name === "Sequence" ? knownValues : undefined);
  if (t.value) out.value = plain(t.value.type);
  if (knownValues && (t.name === "String" || t.name === "Enum")) out.known = knownValues;
  return out;
}

async function main() {
  const [dir, pkg, apiVersion] = process.argv.slice(2);
  const { mappers, dts, ops } = await loadMappers(dir);
  const decl = parseDeclarations(dts);
  const models = {};
  for (const [name, m] of Object.entries(mappers)) {
    if (!m || !m.type || m.type.name !== "Composite" || !m.type.modelProperties) continue;
    const cls = m.type.className || name;
    const props = {};
    for (const [prop, p] of Object.entries(m.type.modelProperties)) {
      const alias = (propType(decl, cls, prop) || "").replace(/\[\]$/, "");
      const knownValues = decl.known[alias];
      const out = { serializedName: p.serializedName, type: plain(p.type, knownValues) };
      if (p.readOnly) out.readOnly = true;
      if (p.required) out.required = true;
      if (p.nullable) out.nullable = true;
      props[prop] = out;
    }
    models[cls] = { properties: props };
    if (m.type.additionalProperties) models[cls].additionalProperties = plain(m.type.additionalProperties.type);
  }
  const operations = parseOperations(ops);
  if (operations.length === 0) throw new Error(`no operation specs in ${ops}`);
  process.stdout.write(JSON.stringify({ package: pkg, apiVersion, models, operations }, null, 1));
}

main().catch((e) => {
  console.error(`azure-models.js: ${e.stack || e}`);
  process.exit(1);
});
