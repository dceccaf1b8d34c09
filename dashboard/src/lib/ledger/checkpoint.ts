/**
 * C2SP checkpoints, note signatures and cosignature/v1 (docs/ledger-spec.md §16), checked in the
 * browser with keys pinned at build time (VITE_EP_LEDGER_VERIFIER_KEY, VITE_EP_WITNESS_VERIFIER_KEY),
 * never with a key a response carries.
 */
import { base64ToBytes, equalBytes, sha256 } from "./bytes";
import { emptyRoot, verifyConsistency } from "./merkle";
import { verifyEd25519 } from "./verify";

export class CheckpointError extends Error {
  override name = "CheckpointError";
}

export interface NoteKey {
  name: string;
  /** 1: Ed25519 note key, 4: cosignature/v1 key. */
  kind: number;
  key: Uint8Array<ArrayBuffer>;
  keyId: Uint8Array;
}

const encoder = new TextEncoder();
const SIG_PREFIX = "\u2014 ";

async function keyIdOf(name: string, kind: number, key: Uint8Array): Promise<Uint8Array> {
  return (await sha256(encoder.encode(`${name}\n`), new Uint8Array([kind]), key)).slice(0, 4);
}

/** Parses a vkey "name+<key id hex>+<base64(type || key)>" and checks its key id. */
export async function parseVkey(vkey: string): Promise<NoteKey> {
  const text = vkey.trim();
  const first = text.indexOf("+");
  const second = text.indexOf("+", first + 1);
  if (first <= 0 || second < 0 || text.slice(0, first).includes(" ")) throw new CheckpointError("a verifier key is name+keyid+key");
  const name = text.slice(0, first);
  const idHex = text.slice(first + 1, second);
  let raw: Uint8Array;
  try {
    raw = base64ToBytes(text.slice(second + 1));
  } catch {
    throw new CheckpointError("a verifier key's key is not base64");
  }
  const kind = raw[0] ?? 0;
  if (raw.length !== 33 || (kind !== 1 && kind !== 4)) throw new CheckpointError("not an Ed25519 note or cosignature/v1 key");
  const key = raw.slice(1);
  const keyId = await keyIdOf(name, kind, key);
  if ([...keyId].map((b) => b.toString(16).padStart(2, "0")).join("") !== idHex.toLowerCase()) {
    throw new CheckpointError("the verifier key's id does not match its name and key");
  }
  return { name, kind, key, keyId };
}

export interface CheckpointView {
  origin: string;
  size: bigint;
  root: Uint8Array;
  /** The witness's cosignature time (Unix seconds), when a witness key was given. */
  cosignedAt?: bigint;
}

/** The checkpoint in `note` once the log's signature (and the witness's cosignature, when given) verifies. */
export async function checkCheckpoint(note: string, logKey: NoteKey, witnessKey?: NoteKey): Promise<CheckpointView> {
  if (logKey.kind !== 1 || (witnessKey && witnessKey.kind !== 4)) throw new CheckpointError("wrong key types");
  const cut = note.lastIndexOf("\n\n");
  if (cut < 0 || !note.endsWith("\n")) throw new CheckpointError("a signed note is text, an empty line and signatures");
  const text = note.slice(0, cut + 1);
  const lines = text.slice(0, -1).split("\n");
  const [origin, sizeLine, rootLine] = lines;
  if (lines.length < 3 || origin !== logKey.name || !/^(0|[1-9]\d*)$/.test(sizeLine ?? "")) throw new CheckpointError("not a checkpoint of this log");
  const root = base64ToBytes(rootLine ?? "");
  if (root.length !== 32) throw new CheckpointError("the checkpoint's root is not 32 bytes");
  const sigs = note
    .slice(cut + 2, -1)
    .split("\n")
    .map((line) => {
      if (!line.startsWith(SIG_PREFIX)) throw new CheckpointError("malformed signature line");
      const [name = "", b64 = ""] = line.slice(SIG_PREFIX.length).split(" ");
      const raw = base64ToBytes(b64);
      return { name, keyId: raw.slice(0, 4), sig: raw.slice(4) };
    });
  const message = encoder.encode(text);
  let signed = false;
  for (const s of sigs) {
    if (s.name === logKey.name && equalBytes(s.keyId, logKey.keyId) && (await verifyEd25519(logKey.key, s.sig, message))) signed = true;
  }
  if (!signed) throw new CheckpointError("the checkpoint carries no valid signature of the pinned ledger key");
  const view: CheckpointView = { origin, size: BigInt(sizeLine ?? "0"), root };
  if (!witnessKey) return view;
  for (const s of sigs) {
    if (s.name !== witnessKey.name || !equalBytes(s.keyId, witnessKey.keyId) || s.sig.length !== 72) continue;
    const ts = new DataView(s.sig.buffer, s.sig.byteOffset, 8).getBigUint64(0);
    const cosigned = encoder.encode(`cosignature/v1\ntime ${ts}\n${text}`);
    if (await verifyEd25519(witnessKey.key, s.sig.slice(8), cosigned)) return { ...view, cosignedAt: ts };
  }
  throw new CheckpointError("the checkpoint carries no valid cosignature of the pinned witness");
}

export interface WitnessVerdict {
  status: "witnessed" | "not-yet-witnessed" | "forked" | "not-witnessed" | "not-configured";
  detail: string;
  witnessedSize?: bigint;
}

/**
 * The ledger's checkpoint against the witness's cosigned one (spec §16): the same head, or one
 * that provably extends it (not yet witnessed), passes; anything else is a fork.
 */
export async function compareWithWitness(
  head: CheckpointView,
  witnessed: CheckpointView,
  fetchProof: (fromSize: bigint) => Promise<{ treeSize: bigint; proof: Uint8Array[] }>,
): Promise<WitnessVerdict> {
  const witnessedSize = witnessed.size;
  if (head.size === witnessed.size) {
    return equalBytes(head.root, witnessed.root)
      ? { status: "witnessed", detail: `cosigned by the witness at ${witnessed.cosignedAt ?? "?"}`, witnessedSize }
      : { status: "forked", detail: `a second root at the witnessed size ${head.size}: the ledger shows a fork`, witnessedSize };
  }
  if (head.size < witnessed.size) {
    return { status: "not-yet-witnessed", detail: `the ledger shows an older head than the witness saw (${witnessed.size})`, witnessedSize };
  }
  try {
    if (witnessed.size === 0n) {
      if (!equalBytes(witnessed.root, await emptyRoot())) throw new CheckpointError("an empty checkpoint whose root is not the empty tree's");
    } else {
      const { treeSize, proof } = await fetchProof(witnessed.size);
      if (treeSize !== head.size) throw new CheckpointError("the ledger's head moved while checking");
      await verifyConsistency(witnessed.size, head.size, witnessed.root, head.root, proof);
    }
  } catch (error) {
    return { status: "forked", detail: `not an extension of the witnessed head: ${error instanceof Error ? error.message : String(error)}`, witnessedSize };
  }
  return { status: "not-yet-witnessed", detail: `no witness has seen this head yet (last witnessed: ${witnessed.size})`, witnessedSize };
}
