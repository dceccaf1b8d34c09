/**
 * The browser's proof checks against the reference implementation's probes
 * (docs/merkle-proof-vectors.json, from transparency-dev/merkle; scripts/gen_merkle_vectors.py):
 * every probe the reference accepts is accepted here, every probe it rejects is rejected, the same
 * verdicts ledger_svc/merkle.py and verifier/spec.py give (tests/test_merkle_reference_vectors.py).
 */
import { readFileSync } from "node:fs";

import { describe, expect, it } from "vitest";

import { hexToBytes } from "./bytes";
import { verifyConsistency, verifyInclusion } from "./merkle";

interface InclusionProbe {
  desc: string;
  leaf_index: string;
  tree_size: string;
  root: string;
  leaf_hash: string;
  proof: string[];
  want_err: boolean;
}
interface ConsistencyProbe {
  desc: string;
  size1: string;
  size2: string;
  root1: string;
  root2: string;
  proof: string[];
  want_err: boolean;
}

const vectors = JSON.parse(readFileSync(new URL("../../../../docs/merkle-proof-vectors.json", import.meta.url), "utf-8")) as {
  inclusion: InclusionProbe[];
  consistency: ConsistencyProbe[];
};

/** true when the check accepts, false when it throws. */
async function accepts(check: () => Promise<void>): Promise<boolean> {
  try {
    await check();
    return true;
  } catch {
    return false;
  }
}

describe("reference inclusion probes", () => {
  it("has the reference's probes", () => {
    expect(vectors.inclusion.length).toBeGreaterThan(90);
  });
  it.each(vectors.inclusion.map((p) => [p.desc, p] as const))("%s", async (_desc, p) => {
    const ok = await accepts(() =>
      verifyInclusion(BigInt(p.leaf_index), BigInt(p.tree_size), hexToBytes(p.leaf_hash), p.proof.map(hexToBytes), hexToBytes(p.root)),
    );
    expect(ok).toBe(!p.want_err);
  });
});

describe("reference consistency probes", () => {
  it.each(vectors.consistency.map((p) => [p.desc, p] as const))("%s", async (_desc, p) => {
    const ok = await accepts(() =>
      verifyConsistency(BigInt(p.size1), BigInt(p.size2), hexToBytes(p.root1), hexToBytes(p.root2), p.proof.map(hexToBytes)),
    );
    expect(ok).toBe(!p.want_err);
  });
});
