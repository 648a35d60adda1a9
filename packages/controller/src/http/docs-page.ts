/**
 * The API reference page: Swagger UI (swagger-ui-dist, served from /docs/assets) rendering the
 * spec this server serves at /v1/openapi.yaml, so the page always documents the running version.
 */
export function docsPage(): string {
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>stowage control API</title>
    <link rel="stylesheet" href="/docs/assets/swagger-ui.css" />
  </head>
  <body>
    <div id="reference"></div>
    <script src="/docs/assets/swagger-ui-bundle.js"></script>
    <script src="/docs/assets/docs-init.js"></script>
  </body>
</html>
`;
}

/** Loaded as a file, not inline, so the page works under a Content-Security-Policy without 'unsafe-inline'. */
export const DOCS_INIT_SCRIPT = `window.ui = SwaggerUIBundle({ url: "/v1/openapi.yaml", dom_id: "#reference", deepLinking: true });\n`;
