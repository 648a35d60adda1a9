/**
 * The `Link` header of a page with more after it: the request's path and query with the marker
 * replaced. The last link made is kept, so a client polling one page does not rebuild it; two
 * clients walking different pages must each get their own.
 */
import type { Request } from "express";
import { nextLink } from "../../src/http/next-link";

const request = (originalUrl: string) => ({ originalUrl }) as Request;

describe("nextLink", () => {
  it("replaces the marker and keeps the rest of the query", () => {
    expect(nextLink(request("/v1/jobs?limit=5&marker=old&state=running"), "new")).toEqual({
      link: '</v1/jobs?limit=5&marker=new&state=running>; rel="next"',
    });
    expect(nextLink(request("/v1/jobs"), "m1")).toEqual({
      link: '</v1/jobs?marker=m1>; rel="next"',
    });
  });

  it("answers each URL and marker its own link when calls alternate", () => {
    const first = request("/v1/deployments/a/backups?limit=2");
    const second = request("/v1/deployments/b/backups?limit=2");
    for (let round = 0; round < 2; round++) {
      expect(nextLink(first, "x")).toEqual({
        link: '</v1/deployments/a/backups?limit=2&marker=x>; rel="next"',
      });
      expect(nextLink(first, "y")).toEqual({
        link: '</v1/deployments/a/backups?limit=2&marker=y>; rel="next"',
      });
      expect(nextLink(second, "y")).toEqual({
        link: '</v1/deployments/b/backups?limit=2&marker=y>; rel="next"',
      });
    }
  });

  it("has no link on the last page", () => {
    expect(nextLink(request("/v1/jobs?limit=5"), null)).toEqual({});
  });
});
