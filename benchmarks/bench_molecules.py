"""Benchmark aekit.molecules: fingerprint AE and SMILES VAE on the built-in drug set and an analogue set.

    python benchmarks/bench_molecules.py [--vae-epochs 60] [--fp-epochs 100] [--out DIR]

Each model is trained as a ``molecules`` run (the one run format) under
``--out`` (default: a temporary directory) and evaluated with
:func:`aekit.molecules.evaluate_run`.

Data sets
---------
* ``drugs``: the 42 molecules of :data:`aekit.molecules.KNOWN_DRUGS`.
* ``analogues``: the drugs plus every single substitution of one aromatic C-H
  hydrogen by F, Cl, CH3 or OH (RDKit atom edit, kept only if it sanitises),
  canonicalised and de-duplicated. A synthetic stand-in for a public set.
* ``esol`` / ``zinc250k``: used when found locally (see aekit.molecules.datasets);
  never downloaded here.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch
from rdkit import Chem

from aekit.errors import DataError
from aekit.molecules import KNOWN_DRUGS, evaluate_run, load_public_set, parse_smiles, train_run

SUBSTITUENTS = {"F": 9, "Cl": 17, "C": 6, "O": 8}


def analogues(smiles: list[str]) -> list[str]:
    """Drugs plus single aromatic C-H -> C-X substitutions (X in F, Cl, CH3, OH) that RDKit sanitises."""
    out = dict.fromkeys(smiles)
    for s in smiles:
        mol = Chem.MolFromSmiles(s)
        for atom in mol.GetAtoms():
            if not (atom.GetIsAromatic() and atom.GetSymbol() == "C" and atom.GetTotalNumHs() == 1):
                continue
            for number in SUBSTITUENTS.values():
                rw = Chem.RWMol(mol)
                new = rw.AddAtom(Chem.Atom(number))
                rw.AddBond(atom.GetIdx(), new, Chem.BondType.SINGLE)
                rw.GetAtomWithIdx(atom.GetIdx()).SetNumExplicitHs(0)
                try:
                    Chem.SanitizeMol(rw)
                except (ValueError, RuntimeError):
                    continue
                out.setdefault(Chem.MolToSmiles(rw))
    return list(out)


def row(name: str, kind: str, train_s: float, r: dict) -> list[str]:
    k = next(key for key in r if key.startswith("overlap@"))
    rec = r["test"] if "test" in r else r["train"]
    if kind == "fingerprint":
        recon = (f"bits {r['train']['bit_accuracy']:.4f}/{rec['bit_accuracy']:.4f}  "
                 f"tani {r['train']['tanimoto']:.3f}/{rec['tanimoto']:.3f}")
        sample = "-"
    else:
        recon = (f"exact {r['train']['exact']:.3f}/{rec['exact']:.3f}  "
                 f"tok {r['train']['per_token']:.3f}/{rec['per_token']:.3f}")
        q = r["samples"]
        sample = f"val {q['validity']:.3f} uniq {q['uniqueness']:.3f} nov {q['novelty']:.3f}"
    r2 = r.get("property_r2", {})
    props = " ".join(f"{f[:3]}:{r2[f]['logP']:+.2f}/{r2[f]['QED']:+.2f}" for f in ("latent", "fingerprint") if f in r2)
    return [name, kind, str(r["n_train"]), f"{train_s:.1f}", f"{r['eval_seconds']:.1f}", recon,
            f"{r[k]:.3f} (rand {r['random_' + k]:.3f})", sample, props]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fp-epochs", type=int, default=100)
    parser.add_argument("--vae-epochs", type=int, default=60)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=None, help="where the runs go (default: a temporary directory)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="aekit-bench-molecules-") as scratch:
        bench(args, args.out or Path(scratch))


def bench(args: argparse.Namespace, out: Path) -> None:
    torch.set_num_threads(1)
    drugs = list(KNOWN_DRUGS.values())
    sets = {"drugs": parse_smiles(drugs), "analogues": parse_smiles(analogues(drugs))}
    for name in ("esol", "zinc250k"):
        try:
            sets[name] = load_public_set(name, download_missing=False)
        except DataError:
            print(f"{name}: not found locally, skipped")
    rows = []
    for name, ms in sets.items():
        print(f"{name}: {len(ms)} molecules, {len(ms.invalid)} invalid rows skipped")
        for kind, kw in (("fingerprint", {"epochs": args.fp_epochs, "batch_size": 32}),
                         ("smiles-vae", {"epochs": args.vae_epochs, "batch_size": 32})):
            run = train_run(ms, kind, out / f"{name}-{kind}", test_fraction=0.2, seed=0, skip_invalid=True,
                            overwrite=True, figures=False, progress=False, **kw)
            result = evaluate_run(run, k=10, n_samples=args.samples)
            rows.append(row(name, kind, run.metrics["train_seconds"], result))
            print("  ", " | ".join(rows[-1]), flush=True)
    head = ["set", "model", "n_train", "train s", "eval s", "reconstruction train/held-out", "overlap@10",
            "prior samples", "R^2 logP/QED (ridge on latent vs fingerprint)"]
    print("\n| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
