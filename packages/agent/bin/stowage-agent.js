#!/usr/bin/env node
// Compiled to dist/ by `npm run build` (run by `npm install` through `prepare`).
require("../dist/cli.js");
