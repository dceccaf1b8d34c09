/**
 * Norsk bokmål (nb-NO): the same keys as en.ts (each part typed by en's: a missing or extra key
 * fails tsc), in the words a Norwegian electricity customer reads on a bill and a price app.
 * In two parts like en.ts: nb-start.ts before signing in, nb-pages.ts for the signed-in pages.
 */
import type { Messages } from "./en";
import { nbPages } from "./nb-pages";
import { nbStart } from "./nb-start";

export const nb: Messages = { ...nbStart, ...nbPages };
