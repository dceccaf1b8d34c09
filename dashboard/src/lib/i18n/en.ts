/**
 * English (en-GB): the reference catalogue; its shape is the `Messages` type nb.ts must match.
 * Values are strings, or functions for text with values in it (numbers and dates already
 * formatted by the caller through lib/format.ts, or formatted here with it; plurals via plural()).
 *
 * In two parts, each a chunk of its own (issue #21): en-start.ts, what a page shows before
 * signing in, and en-pages.ts, what the signed-in pages add (loaded with their shell).
 */
import { enPages } from "./en-pages";
import { enStart } from "./en-start";

export const en = { ...enStart, ...enPages };

export type Messages = typeof en;
export type StartMessages = typeof enStart;
export type PageMessages = typeof enPages;
