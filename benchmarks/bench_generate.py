"""Test-set ELBO and importance-weighted log-likelihood of Fashion-MNIST VAEs, and conditional samples.

    python benchmarks/bench_generate.py [--out runs/bench-generate] [--epochs 5] [--n-test 1000]

Trains the dense ``vae`` preset with a Bernoulli (BCE) decoder and the same
network with a Gaussian (MSE) decoder, then reports nats per image on the first
test images: the ELBO and IW_k for several k. The Gaussian decoder's variance is a
fixed scalar fitted by maximum likelihood on training reconstructions. A
conditional VAE is also trained; its samples for each class are labelled by a
logistic-regression classifier fitted on real images. Writes ``generate-PARTS.md``,
``sneakers.png`` and ``manifold.png``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

import aekit
from aekit.apps import generate as gen


def train(x, y=None, epochs=5, **overrides):
    torch.manual_seed(0)
    model = aekit.create_model("vae", **overrides)
    aekit.fit(model, x if y is None else (x, y), epochs=epochs, batch_size=128, lr=1e-3, schedule="cosine", progress=False)
    return model.eval()


def bounds(model, x, ks, sigma=None) -> list[str]:
    cells = [f"{gen.elbo(model, x, samples=10, sigma=sigma).mean():.1f}"]
    for k in ks:
        t = time.time()
        cells.append(f"{gen.iw_log_likelihood(model, x, k=k, sigma=sigma).mean():.1f}")
        print(f"  k={k}: {time.time() - t:.0f} s", flush=True)
    return cells


def likelihoods(ds, n_test: int, epochs: int) -> str:
    x = ds.x_test[:n_test]
    ks = (1, 10, 100, 500)
    lines = ["| decoder | ELBO | " + " | ".join(f"IW k={k}" for k in ks) + " |", "|---" * (2 + len(ks)) + "|"]
    bce = train(ds.x_train, epochs=epochs)
    lines.append("| Bernoulli (BCE on grey levels) | " + " | ".join(bounds(bce, x, ks)) + " |")
    mse = train(ds.x_train, epochs=epochs, loss="mse")
    sigma = gen.gaussian_sigma(mse, ds.x_train[:10000])
    lines.append(f"| Gaussian (MSE, fixed sigma={sigma:.4f}) | " + " | ".join(bounds(mse, x, ks, sigma)) + " |")
    return "\n".join(lines) + "\n"


def conditional(ds, epochs: int, out: Path) -> str:
    """Share of each class's samples that a pixel-space classifier labels as that class."""
    from sklearn.linear_model import LogisticRegression

    cvae = train(ds.x_train, ds.y_train, epochs=epochs, num_classes=10)
    clf = LogisticRegression(max_iter=300).fit(ds.x_train[:10000].reshape(10000, -1), ds.y_train[:10000])
    real = (clf.predict(ds.x_test.reshape(len(ds.x_test), -1)) == ds.y_test).mean()
    hits = []
    for c, name in enumerate(ds.classes):
        samples = gen.sample_images(cvae, 100, label=c, seed=c)
        hits.append(f"{name} {(clf.predict(samples.reshape(100, -1)) == c).mean():.2f}")
    gen.save_grid(out / "sneakers.png", gen.sample_images(cvae, 64, label=gen.resolve_label("sneaker", ds.classes, 10)))
    return (f"conditional VAE ({epochs} epochs): samples labelled as their class by logistic regression "
            f"(accuracy on real test images {real:.2f}): " + ", ".join(hits) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="runs/bench-generate")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--cvae-epochs", type=int, default=15)
    ap.add_argument("--n-test", type=int, default=1000)
    ap.add_argument("--parts", nargs="+", default=["likelihood", "conditional", "manifold"])
    args = ap.parse_args()
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ds = aekit.load_dataset("fashion-mnist")
    text = ""
    if "likelihood" in args.parts:
        text += likelihoods(ds, args.n_test, args.epochs)
    if "conditional" in args.parts:
        text += "\n" + conditional(ds, args.cvae_epochs, out)
    if "manifold" in args.parts:
        gen.save_grid(out / "manifold.png", gen.manifold(train(ds.x_train, epochs=args.epochs, latent_dim=2), 15), 15)
    (out / f"generate-{'-'.join(args.parts)}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
