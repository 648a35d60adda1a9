import { compileExcludes, relativeToRoot } from "../src/pipelines/exclude-patterns";

describe("compileExcludes", () => {
  const cases: [
    string,
    { patterns: string[]; path: string; directory?: boolean; want: boolean },
  ][] = [
    ["a name pattern matches at the top", { patterns: ["*.log"], path: "app.log", want: true }],
    [
      "a name pattern matches at every depth",
      { patterns: ["*.log"], path: "a/b/c.log", want: true },
    ],
    [
      "a name pattern needs the whole name",
      { patterns: ["*.log"], path: "app.log.1", want: false },
    ],
    ["* matches dot files", { patterns: ["*"], path: ".env", want: true }],
    [
      "a plain name matches a directory",
      { patterns: ["cache"], path: "x/cache", directory: true, want: true },
    ],
    [
      "a path pattern is anchored at the root",
      { patterns: ["tmp/*.bin"], path: "tmp/a.bin", want: true },
    ],
    [
      "a path pattern does not float down",
      { patterns: ["tmp/*.bin"], path: "x/tmp/a.bin", want: false },
    ],
    ["* does not cross /", { patterns: ["tmp/*"], path: "tmp/a/b.bin", want: false }],
    ["** crosses /", { patterns: ["tmp/**"], path: "tmp/a/b.bin", want: true }],
    ["**/ matches no directory too", { patterns: ["**/core"], path: "core", want: true }],
    [
      "a leading / anchors explicitly",
      { patterns: ["/build"], path: "build", directory: true, want: true },
    ],
    [
      "an anchored name does not float down",
      { patterns: ["/build"], path: "src/build", want: false },
    ],
    [
      "a trailing / matches directories",
      { patterns: ["logs/"], path: "a/logs", directory: true, want: true },
    ],
    [
      "a trailing / skips files",
      { patterns: ["logs/"], path: "a/logs", directory: false, want: false },
    ],
    ["? matches one character", { patterns: ["file?.txt"], path: "file1.txt", want: true }],
    ["a class matches only its characters", { patterns: ["[ab].txt"], path: "c.txt", want: false }],
    ["one of several patterns", { patterns: ["*.tmp", "*.log"], path: "d/x.log", want: true }],
    ["no patterns exclude nothing", { patterns: [], path: "anything", want: false }],
  ];
  it.each(cases)("%s", (_name, { patterns, path, directory, want }) => {
    expect(compileExcludes(patterns)(path, directory ?? false)).toBe(want);
  });
});

describe("relativeToRoot", () => {
  const cases: [string, { entry: string; roots: string[]; want: string | undefined }][] = [
    ["below a root", { entry: "srv/site/a/b.txt", roots: ["srv/site"], want: "a/b.txt" }],
    [
      "a root itself is never excluded",
      { entry: "srv/site/", roots: ["srv/site"], want: undefined },
    ],
    [
      "a root given with a trailing slash",
      { entry: "srv/site/a", roots: ["srv/site/"], want: "a" },
    ],
    ["the longest root wins", { entry: "srv/site/x/y", roots: ["srv", "srv/site"], want: "x/y" }],
    [
      "a sibling with the same prefix",
      { entry: "srv/site2/a", roots: ["srv/site"], want: undefined },
    ],
    ["the root /", { entry: "etc/hosts", roots: [""], want: "etc/hosts" }],
  ];
  it.each(cases)("%s", (_name, { entry, roots, want }) => {
    expect(relativeToRoot(entry, roots)).toBe(want);
  });
});
