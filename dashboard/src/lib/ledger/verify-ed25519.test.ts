import { describe, expect, it } from "vitest";

import { hexToBytes } from "./bytes";
import { verifyEd25519 } from "./verify";

const bytes = (hex: string) => hexToBytes(hex) as Uint8Array<ArrayBuffer>;

// RFC 8032 §7.1 TEST 2.
const PUBLIC = bytes("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c");
const MESSAGE = bytes("72");
const SIGNATURE = bytes(
  "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
);

describe("verifyEd25519", () => {
  it("accepts RFC 8032's vector and refuses it altered", async () => {
    expect(await verifyEd25519(PUBLIC, SIGNATURE, MESSAGE)).toBe(true);
    expect(await verifyEd25519(PUBLIC, SIGNATURE, bytes("73"))).toBe(false);
  });

  it("refuses S + L (a second signature of the same message)", async () => {
    const L = 2n ** 252n + 27742317777372353535851937790883648493n;
    let s = 0n;
    for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(SIGNATURE[i] ?? 0);
    const bad = new Uint8Array(SIGNATURE);
    let v = s + L;
    for (let i = 32; i < 64; i++) {
      bad[i] = Number(v & 0xffn);
      v >>= 8n;
    }
    expect(await verifyEd25519(PUBLIC, bad, MESSAGE)).toBe(false);
  });

  it("refuses the identity key's 'signature' of anything (R = identity, S = 0)", async () => {
    const identity = new Uint8Array(32);
    identity[0] = 1;
    const forged = new Uint8Array(64);
    forged[0] = 1;
    for (const message of [new Uint8Array(0), MESSAGE]) {
      expect(await verifyEd25519(identity, forged, message)).toBe(false);
    }
  });
});
