import { describe, expect, it } from "vitest";

import { ApiError, errorMessage } from "@/lib/api-client";

import { withPageTexts } from "./page-texts";

describe("withPageTexts", () => {
  it("answers what the request answers", async () => {
    await expect(withPageTexts((n: number) => Promise.resolve(n + 1))(41)).resolves.toBe(42);
  });

  it("fails as the request failed, worded from the catalogue once it is loaded", async () => {
    const refused = new ApiError(401, "invalid username or password", "INVALID_CREDENTIALS");
    const signIn = withPageTexts(() => Promise.reject(refused));
    await expect(signIn(undefined)).rejects.toBe(refused);
    expect(errorMessage(refused)).not.toBe(refused.message);
    expect(errorMessage(refused).length).toBeGreaterThan(0);
  });
});
