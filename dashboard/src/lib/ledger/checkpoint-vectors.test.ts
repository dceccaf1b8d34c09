/**
 * The browser's checkpoint checks against docs/ledger-checkpoint-vectors.json (spec §16): the same
 * keys, notes and cosignatures the verifier and the witness check, and the forked checkpoint.
 */
import { readFileSync } from "node:fs";

import { describe, expect, it } from "vitest";

import { hexToBytes } from "./bytes";
import { checkCheckpoint, CheckpointError, compareWithWitness, parseVkey } from "./checkpoint";

interface Vectors {
  ledger_key: { vkey: string; key_id_hex: string; name: string };
  witness_key: { vkey: string; key_id_hex: string };
  cosigned_at: number;
  checkpoints: { tree_size: number; root_hash: string; signed_note: string; cosigned_note: string }[];
  forked: { signed_note: string; witnessed_note: string };
}

const vectors = JSON.parse(readFileSync(new URL("../../../../docs/ledger-checkpoint-vectors.json", import.meta.url), "utf-8")) as Vectors;
const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
const noProof = () => Promise.reject(new Error("no proof needed"));

describe("checkpoint vectors", () => {
  it("parses the pinned keys", async () => {
    const ledger = await parseVkey(vectors.ledger_key.vkey);
    const witness = await parseVkey(vectors.witness_key.vkey);
    expect([ledger.name, ledger.kind, hex(ledger.keyId)]).toEqual([vectors.ledger_key.name, 1, vectors.ledger_key.key_id_hex]);
    expect([witness.kind, hex(witness.keyId)]).toEqual([4, vectors.witness_key.key_id_hex]);
    await expect(parseVkey(vectors.ledger_key.vkey.replace("+7", "+8"))).rejects.toBeInstanceOf(CheckpointError);
  });

  it.each(vectors.checkpoints.map((c) => [c.tree_size, c] as const))("size %i: signed, cosigned, tamper-evident", async (_size, cp) => {
    const ledger = await parseVkey(vectors.ledger_key.vkey);
    const witness = await parseVkey(vectors.witness_key.vkey);
    const view = await checkCheckpoint(cp.signed_note, ledger);
    expect([view.size, hex(view.root)]).toEqual([BigInt(cp.tree_size), cp.root_hash]);
    expect((await checkCheckpoint(cp.cosigned_note, ledger, witness)).cosignedAt).toBe(BigInt(vectors.cosigned_at));
    await expect(checkCheckpoint(cp.signed_note, ledger, witness)).rejects.toBeInstanceOf(CheckpointError);
    const tampered = cp.cosigned_note.replace(`\n${cp.tree_size}\n`, `\n${cp.tree_size + 1}\n`);
    await expect(checkCheckpoint(tampered, ledger)).rejects.toBeInstanceOf(CheckpointError);
  });

  it("the forked checkpoint is signed but reported as a fork", async () => {
    const ledger = await parseVkey(vectors.ledger_key.vkey);
    const witness = await parseVkey(vectors.witness_key.vkey);
    const head = await checkCheckpoint(vectors.forked.signed_note, ledger);
    const seen = await checkCheckpoint(vectors.forked.witnessed_note, ledger, witness);
    expect((await compareWithWitness(head, seen, noProof)).status).toBe("forked");
    expect((await compareWithWitness(seen, seen, noProof)).status).toBe("witnessed");
  });

  it("a head ahead of the witness needs a valid consistency proof", async () => {
    const ledger = await parseVkey(vectors.ledger_key.vkey);
    const witness = await parseVkey(vectors.witness_key.vkey);
    const [three, four] = vectors.checkpoints;
    const older = await checkCheckpoint(three!.cosigned_note, ledger, witness);
    const newer = await checkCheckpoint(four!.signed_note, ledger);
    const ledgerVectors = JSON.parse(readFileSync(new URL("../../../../docs/ledger-test-vectors.json", import.meta.url), "utf-8")) as {
      consistency_proofs: { first_size: number; second_size: number; proof: string[] }[];
    };
    const proof = ledgerVectors.consistency_proofs.find((p) => p.first_size === 3 && p.second_size === 4)!.proof.map(hexToBytes);
    const good = () => Promise.resolve({ treeSize: 4n, proof });
    expect((await compareWithWitness(newer, older, good)).status).toBe("not-yet-witnessed");
    const bad = () => Promise.resolve({ treeSize: 4n, proof: proof.map(() => new Uint8Array(32)) });
    expect((await compareWithWitness(newer, older, bad)).status).toBe("forked");
  });
});
