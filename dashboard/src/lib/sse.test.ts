import { describe, expect, it } from "vitest";

import { SseParser } from "./sse";

describe("SseParser (Envoy's stream_sse_style_delimited frames)", () => {
  it("splits frames across arbitrary chunk boundaries", () => {
    const parser = new SseParser();
    const text = 'data: {"reading":{"powerKw":1.5}}\n\ndata: {"reading":{"powerKw":2}}\n\n';
    const out: string[] = [];
    for (let i = 0; i < text.length; i += 7) out.push(...parser.push(text.slice(i, i + 7)));
    expect(out.map((d) => JSON.parse(d) as unknown)).toEqual([{ reading: { powerKw: 1.5 } }, { reading: { powerKw: 2 } }]);
  });

  it("handles CRLF, multi-line data and ignores comments and other fields", () => {
    const parser = new SseParser();
    expect(parser.push(": keep-alive\r\n\r\nevent: x\r\ndata: {\"a\":\r\ndata: 1}\r\n\r\n")).toEqual(['{"a":\n1}']);
  });

  it("keeps an incomplete frame until it ends", () => {
    const parser = new SseParser();
    expect(parser.push('data: {"a":1}')).toEqual([]);
    expect(parser.push("\n\n")).toEqual(['{"a":1}']);
  });
});
