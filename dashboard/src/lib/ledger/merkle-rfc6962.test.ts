/**
 * RFC 6962 Merkle vectors from transparency-dev/merkle (proof/verify_test.go, Apache-2.0;
 * originally google/certificate-transparency): eight leaves, the root of every prefix, and
 * known-good inclusion (1-based leaf) and consistency proofs, plus corrupted variants.
 */
import { describe, expect, it } from "vitest";

import { bytesToHex, hexToBytes, sha256 } from "./bytes";
import { emptyRoot, leafHash, ProofError, rootFromInclusionProof, rootOf, verifyConsistency, verifyInclusion } from "./merkle";

const LEAVES = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"].map(hexToBytes);
const ROOTS = [
  "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
  "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
  "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
  "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
  "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
  "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
  "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
].map(hexToBytes);
const INCLUSION: [number, number, string[]][] = [
  [1, 1, []],
  [1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7", "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]],
  [6, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b", "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0", "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]],
  [3, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]],
  [2, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d", "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]],
];
const CONSISTENCY: [number, number, string[]][] = [
  [1, 1, []],
  [1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7", "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]],
  [6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a", "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0", "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]],
  [2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]],
  [6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a", "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f", "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]],
];

const flip = (proof: Uint8Array[], k: number, mask: number) =>
  proof.map((p, j) => (j === k ? Uint8Array.from(p, (b, i) => (i === 0 ? b ^ mask : b)) : p));

describe("RFC 6962 roots", () => {
  it("empty tree is SHA-256 of nothing", async () => {
    expect(bytesToHex(await emptyRoot())).toBe(bytesToHex(await sha256(new Uint8Array())));
    expect(bytesToHex(await rootOf([]))).toBe(bytesToHex(await emptyRoot()));
  });

  it.each([1, 2, 3, 4, 5, 6, 7, 8])("root of the first %i leaves", async (size) => {
    const leaves = await Promise.all(LEAVES.slice(0, size).map(leafHash));
    expect(bytesToHex(await rootOf(leaves))).toBe(bytesToHex(ROOTS[size - 1]!));
  });
});

describe("RFC 6962 inclusion proofs", () => {
  it.each(INCLUSION)("leaf %i in a tree of %i", async (leaf, size, proof) => {
    const path = proof.map(hexToBytes);
    const lh = await leafHash(LEAVES[leaf - 1]!);
    await expect(verifyInclusion(BigInt(leaf - 1), BigInt(size), lh, path, ROOTS[size - 1]!)).resolves.toBeUndefined();
  });

  it.each(INCLUSION.filter(([, , p]) => p.length))("corrupted proofs for leaf %i of %i fail", async (leaf, size, proof) => {
    const path = proof.map(hexToBytes);
    const good = await leafHash(LEAVES[leaf - 1]!);
    const wrong = await leafHash(new TextEncoder().encode("WrongLeaf"));
    const root = ROOTS[size - 1]!;
    const empty = await emptyRoot();
    const i = BigInt(leaf - 1);
    const n = BigInt(size);
    const probes: [bigint, bigint, Uint8Array, Uint8Array[], Uint8Array][] = [
      [i + 1n, n, good, path, root],
      [i ^ 2n, n, good, path, root],
      [i, n * 2n, good, path, root],
      [i, n / 2n, good, path, root],
      [i, n, wrong, path, root],
      [i, n, good, path, empty],
      [i, n, good, [...path, new Uint8Array()], root],
      [i, n, good, [...path, root], root],
      [i, n, good, [root, ...path], root],
      [i, n, good, path.slice(0, -1), root],
      ...path.map((_, k) => [i, n, good, flip(path, k, 8), root] as [bigint, bigint, Uint8Array, Uint8Array[], Uint8Array]),
    ];
    if (i > 0n) probes.push([i - 1n, n, good, path, root]);
    for (const [index, treeSize, lh, pr, rt] of probes) {
      await expect(verifyInclusion(index, treeSize, lh, pr, rt)).rejects.toBeInstanceOf(ProofError);
    }
  });

  it("rejects impossible parameters", async () => {
    const lh = await leafHash(LEAVES[0]!);
    await expect(rootFromInclusionProof(1n, 1n, lh, [])).rejects.toThrow(ProofError);
    await expect(rootFromInclusionProof(0n, 0n, lh, [])).rejects.toThrow(ProofError);
    await expect(rootFromInclusionProof(0n, 1n, new Uint8Array(3), [])).rejects.toThrow(ProofError);
  });
});

describe("RFC 6962 consistency proofs", () => {
  it.each(CONSISTENCY)("size %i -> %i", async (a, b, proof) => {
    await expect(verifyConsistency(BigInt(a), BigInt(b), ROOTS[a - 1]!, ROOTS[b - 1]!, proof.map(hexToBytes))).resolves.toBeUndefined();
  });

  it.each(CONSISTENCY.filter(([, , p]) => p.length))("corrupted proofs %i -> %i fail", async (a, b, proof) => {
    const path = proof.map(hexToBytes);
    const r1 = ROOTS[a - 1]!;
    const r2 = ROOTS[b - 1]!;
    const empty = await emptyRoot();
    const A = BigInt(a);
    const B = BigInt(b);
    const probes: [bigint, bigint, Uint8Array, Uint8Array, Uint8Array[]][] = [
      [A - 1n, B, r1, r2, path],
      [A + 1n, B, r1, r2, path],
      [A, B * 2n, r1, r2, path],
      [A, B / 2n, r1, r2, path],
      [A, B, empty, r2, path],
      [A, B, r1, empty, path],
      [A, B, r2, r1, path],
      [A, B, r1, r2, []],
      [A, B, r1, r2, [...path, r1]],
      [A, B, r1, r2, [r2, ...path]],
      [A, B, r1, r2, path.slice(0, -1)],
      ...path.map((_, k) => [A, B, r1, r2, flip(path, k, 16)] as [bigint, bigint, Uint8Array, Uint8Array, Uint8Array[]]),
    ];
    for (const [s1, s2, x, y, pr] of probes) {
      if (s1 === s2 || s1 <= 0n) continue;
      await expect(verifyConsistency(s1, s2, x, y, pr)).rejects.toBeInstanceOf(ProofError);
    }
  });
});
