import { describe, expect, it } from "vitest";

import { toCsv } from "./csv";

describe("toCsv", () => {
  it("quotes commas, quotes, newlines and edge spaces (RFC 4180) and prints bigints exactly", () => {
    const csv = toCsv(["a", "b"], [["x,y", 'say "hi"'], ["line\nbreak", " pad"], [9007199254740993n, null]]);
    expect(csv).toBe('a,b\r\n"x,y","say ""hi"""\r\n"line\nbreak"," pad"\r\n9007199254740993,\r\n');
  });
});
