/** The chain check's fault reads in the page's words for a known code, as sent for an unknown one. */
import { create } from "@bufbuild/protobuf";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { renderToStaticMarkup } from "react-dom/server";
import { afterEach, describe, expect, it } from "vitest";

import { VerifyChainResponseSchema } from "@/gen/energypulse/ledger/v1/ledger_service_pb";
import { setLocale } from "@/lib/i18n/locale";

import { verifyChainQueryOptions } from "../api/verify-chain";
import { ChainCard } from "./chain-card";

function render(reason: string, detail: string): string {
  const queries = new QueryClient();
  queries.setQueryData(verifyChainQueryOptions().queryKey, create(VerifyChainResponseSchema, { valid: false, blocksChecked: 3n, transactionsChecked: 9n, firstBadHeight: 2n, reason, detail }));
  return renderToStaticMarkup(
    <QueryClientProvider client={queries}>
      <ChainCard />
    </QueryClientProvider>,
  );
}

afterEach(() => setLocale("en-GB", false));

describe("ChainCard", () => {
  it("words a known fault code in the page's language, without the server's English detail", () => {
    setLocale("nb-NO", false);
    const html = render("MERKLE_ROOT_MISMATCH", "block 2: transactions do not produce its Merkle root");
    expect(html).toContain("Feil: transaksjonene i en blokk gir ikke Merkle-roten dens");
    expect(html).toContain("Første feilaktige blokk: 2");
    expect(html).not.toContain("do not produce");
  });

  it("shows an unknown code and its detail as sent", () => {
    const html = render("A_NEWER_FAULT", "something the server knows");
    expect(html).toContain("Fault: A_NEWER_FAULT");
    expect(html).toContain("First bad block: 2 — something the server knows");
  });
});
