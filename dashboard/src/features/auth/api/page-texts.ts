import { currentLocale, loadCatalogue } from "@/lib/i18n";

/**
 * ``request`` with the page's whole text catalogue fetched alongside it: an error answer's reason
 * is worded in the catalogue's pages part (lib/i18n), which the sign-in and reset pages do not
 * load up front (a first visit stays small), and a success goes on to the signed-in pages, which
 * wait for that part anyway. A failed catalogue fetch does not fail the request: the error then
 * shows the server's message.
 */
export function withPageTexts<Input, Output>(request: (input: Input) => Promise<Output>): (input: Input) => Promise<Output> {
  return async (input) => {
    const [result] = await Promise.allSettled([request(input), loadCatalogue(currentLocale(), "all")]);
    if (result.status === "rejected") throw result.reason instanceof Error ? result.reason : new Error(String(result.reason));
    return result.value;
  };
}
