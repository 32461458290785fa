/**
 * Serves the OpenAPI document at `/openapi.json` and a page that shows it at `/docs`. The page is
 * rendered on the server from the same document, so it needs no script and no files from
 * elsewhere, and it reads the same on a machine without internet access.
 */
import { Hono } from 'hono';
import { html, raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import type { AppEnv } from './context';
import { openApiDocument } from './openapi';

type Html = HtmlEscapedString | Promise<HtmlEscapedString>;
type JsonSchema = Record<string, unknown>;
type Operation = {
  operationId: string;
  tags: string[];
  summary: string;
  description: string;
  parameters: { name: string; in: string; required: boolean; description?: string; schema: JsonSchema }[];
  requestBody?: { description: string; content: Record<string, { schema: JsonSchema }> };
  responses: Record<string, { description: string; content?: Record<string, { schema?: JsonSchema }> }>;
};

/** Schemas nest deeper than this only in free-form fields, which the page shows as "object". */
const MAX_SCHEMA_DEPTH = 6;

/** The schemas `$ref`s point to, set while a page renders. */
let components: Record<string, JsonSchema> = {};

/** Follows a `$ref` into the document's components. */
function resolve(schema: JsonSchema): JsonSchema {
  const ref = schema.$ref;
  if (typeof ref !== 'string') return schema;
  return components[ref.replace('#/components/schemas/', '')] ?? {};
}

/** Renders text in which `backticks` mark code. */
function prose(text: string): Html {
  const parts = text.split('`');
  return html`${parts.map((part, index) => (index % 2 === 1 ? html`<code>${part}</code>` : part))}`;
}

function refName(schema: JsonSchema): string | undefined {
  return typeof schema.$ref === 'string' ? schema.$ref.replace('#/components/schemas/', '') : undefined;
}

function typeName(schema: JsonSchema): string {
  const name = refName(schema);
  if (name) return name;
  if (Array.isArray(schema.enum)) return schema.enum.map((value) => JSON.stringify(value)).join(' | ');
  const type = schema.type;
  if (type === 'array') return `array of ${typeName((schema.items as JsonSchema | undefined) ?? {})}`;
  if (typeof type === 'string') return schema.nullable ? `${type} or null` : type;
  if (schema.oneOf || schema.anyOf) return 'one of';
  return 'any';
}

/** Renders the fields of `schema`; a named schema inside it is a link to its own section. */
function schemaHtml(schema: JsonSchema, depth = 0): Html {
  if (depth > MAX_SCHEMA_DEPTH) return html``;
  const name = refName(schema);
  if (name) return html` (<a href="#schema-${name}">fields</a>)`;
  const variants = (schema.oneOf ?? schema.anyOf) as JsonSchema[] | undefined;
  if (variants) {
    return html`<ol class="variants">
      ${variants.map((variant) => html`<li>${typeName(variant)} ${schemaHtml(variant, depth + 1)}</li>`)}
    </ol>`;
  }
  if (schema.type === 'array' && schema.items) return schemaHtml(schema.items as JsonSchema, depth + 1);
  const properties = schema.properties as Record<string, JsonSchema> | undefined;
  if (properties) {
    const required = new Set((schema.required as string[] | undefined) ?? []);
    return html`<ul class="fields">
      ${Object.entries(properties).map(
        ([name, child]) =>
          html`<li>
            <code>${name}</code> <span class="type">${typeName(child)}</span>
            ${required.has(name) ? html`<span class="required">required</span>` : ''}
            ${typeof child.description === 'string' ? html` ${prose(child.description)}` : ''}
            ${schemaHtml(child, depth + 1)}
          </li>`,
      )}
    </ul>`;
  }
  const values = schema.additionalProperties;
  if (typeof values === 'object' && values !== null) {
    return html`<p class="map">Keys are strings; each value is ${typeName(values as JsonSchema)}.</p>`;
  }
  return html``;
}

function bodySchema(content: Record<string, { schema?: JsonSchema }> | undefined): Html {
  if (!content) return html``;
  const [mediaType, media] = Object.entries(content)[0]!;
  if (!media.schema) return html`(${mediaType})`;
  const name = refName(media.schema) ?? 'body';
  return html`(${mediaType}, <a href="#schema-${name}">${name}</a>)`;
}

function operationHtml(method: string, path: string, op: Operation): Html {
  const id = op.operationId;
  return html`<section class="operation" id="${id}" aria-labelledby="${id}-title">
    <h3 id="${id}-title">
      <span class="method ${method}">${method.toUpperCase()}</span> <code>${path}</code>
    </h3>
    <p class="summary">${prose(op.summary)}</p>
    ${op.description.split('\n\n').map((paragraph) => html`<p>${prose(paragraph)}</p>`)}
    ${
      op.parameters.length > 0
        ? html`<h4>Parameters</h4>
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">In</th>
                  <th scope="col">Type</th>
                  <th scope="col">Description</th>
                </tr>
              </thead>
              <tbody>
                ${op.parameters.map(
                  (parameter) =>
                    html`<tr>
                      <td><code>${parameter.name}</code>${parameter.required ? ' (required)' : ''}</td>
                      <td>${parameter.in}</td>
                      <td>${typeName(parameter.schema)}</td>
                      <td>${prose(parameter.description ?? '')}</td>
                    </tr>`,
                )}
              </tbody>
            </table>`
        : ''
    }
    ${
      op.requestBody
        ? html`<h4>Request body</h4>
            <p>${prose(op.requestBody.description)}</p>
            ${bodySchema(op.requestBody.content)}`
        : ''
    }
    <h4>Responses</h4>
    <dl class="responses">
      ${Object.entries(op.responses).map(
        ([status, response]) =>
          html`<dt>${status}</dt>
            <dd>${prose(response.description)} ${bodySchema(response.content)}</dd>`,
      )}
    </dl>
  </section>`;
}

const STYLE = `
body { font: 16px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 0 auto; padding: 1rem; color: #1b1b1b; }
code { font-family: ui-monospace, monospace; background: #f2f2f2; padding: 0 .2em; }
.method { font-family: ui-monospace, monospace; padding: 0 .4em; border: 1px solid #555; }
.operation { border-top: 1px solid #ccc; padding-top: .5rem; }
.summary { font-weight: 600; }
.type { color: #444; font-style: italic; }
.required { font-weight: 600; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ccc; padding: .2rem .5rem; text-align: left; vertical-align: top; }
dt { font-weight: 600; }
nav ul { columns: 2; }
`;

function docsPage(document: ReturnType<typeof openApiDocument>): Html {
  components = document.components.schemas as Record<string, JsonSchema>;
  const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ path, method, op: op as Operation })),
  );
  const tags = document.tags.map((tag) => tag.name);
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${document.info.title} reference</title>
        <style>
          ${raw(STYLE)}
        </style>
      </head>
      <body>
        <header>
          <h1>${document.info.title} ${document.info.version}</h1>
          <p>${prose(document.info.description)}</p>
          <p>
            Send <code>Authorization: Bearer &lt;secret&gt;</code> on every route but the open ones. The same
            reference as an OpenAPI 3 document: <a href="/openapi.json">/openapi.json</a>.
          </p>
        </header>
        <nav aria-label="Routes">
          <ul>
            ${operations.map(
              ({ path, method, op }) =>
                html`<li><a href="#${op.operationId}">${method.toUpperCase()} ${path}</a> ${op.summary}</li>`,
            )}
          </ul>
        </nav>
        <main>
          ${tags.map(
            (tag) =>
              html`<h2>${tag}</h2>
                ${operations
                  .filter(({ op }) => op.tags.includes(tag))
                  .map(({ path, method, op }) => operationHtml(method, path, op))}`,
          )}
          <h2>Schemas</h2>
          ${Object.entries(components).map(
            ([name, schema]) =>
              html`<section class="schema" id="schema-${name}">
                <h3>${name}</h3>
                ${typeof schema.description === 'string' ? html`<p>${prose(schema.description)}</p>` : ''}
                ${schemaHtml(resolve({ $ref: `#/components/schemas/${name}` }))}
              </section>`,
          )}
        </main>
      </body>
    </html>`;
}

/** Creates the routes of `/openapi.json` and `/docs`; the document is built once. */
export function docsRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const document = openApiDocument();
  app.get('/openapi.json', (c) => c.json(document));
  app.get('/docs', (c) => c.html(docsPage(document)));
  return app;
}
