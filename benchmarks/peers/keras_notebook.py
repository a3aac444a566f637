"""The notebook's Keras models, written as the notebook writes them, for side-by-side timing with aekit.

Runs in the peers' virtual environment (``make bench-peers``), never in aekit's.
Two ways to run it:

    python keras_notebook.py --model conv --data DIR --serve       # one epoch per "epoch" line on stdin
    python keras_notebook.py --model vanilla --epochs 20            # the notebook's script, as one process

``--data DIR`` reads ``x_train.npy`` / ``x_test.npy`` (float32 in [0, 1], (N, 28, 28, 1)) written by
``bench_speed.py``, so both sides train on the same arrays; without it the script reads the
Fashion-MNIST IDX files the way ``keras.datasets.fashion_mnist.load_data`` does. Only the model
definition, compile and fit arguments are the notebook's: Adam, binary cross-entropy, batch 256,
shuffle, the test set as validation data. Each answer is one JSON line.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
IDX_DIRS = [Path(os.environ.get("AEKIT_DATA", "~/.cache/aekit")).expanduser() / "fashion-mnist",
            Path("/usr/share/datasets/fashion-mnist")]


def notebook_model(name: str):
    from tensorflow import keras
    from tensorflow.keras import layers

    if name == "vanilla":
        input_img = keras.Input(shape=(784,))
        encoded = layers.Dense(128, activation="relu")(input_img)
        encoded = layers.Dense(64, activation="relu")(encoded)
        encoded = layers.Dense(32, activation="relu")(encoded)
        decoded = layers.Dense(64, activation="relu")(encoded)
        decoded = layers.Dense(128, activation="relu")(decoded)
        decoded = layers.Dense(784, activation="sigmoid")(decoded)
    elif name == "conv":
        input_img = keras.Input(shape=(28, 28, 1))
        x = layers.Conv2D(32, (3, 3), activation="relu", padding="same")(input_img)
        x = layers.MaxPooling2D((2, 2), padding="same")(x)
        x = layers.Conv2D(16, (3, 3), activation="relu", padding="same")(x)
        encoded = layers.MaxPooling2D((2, 2), padding="same")(x)
        x = layers.Conv2D(16, (3, 3), activation="relu", padding="same")(encoded)
        x = layers.UpSampling2D((2, 2))(x)
        x = layers.Conv2D(32, (3, 3), activation="relu", padding="same")(x)
        x = layers.UpSampling2D((2, 2))(x)
        decoded = layers.Conv2D(1, (3, 3), activation="sigmoid", padding="same")(x)
    else:
        raise SystemExit(f"no notebook model {name!r}")
    autoencoder = keras.Model(input_img, decoded)
    autoencoder.compile(optimizer="adam", loss="binary_crossentropy")
    return autoencoder


def read_idx_images(name: str) -> np.ndarray:
    for folder in IDX_DIRS:
        path = folder / name
        if path.is_file():
            with gzip.open(path, "rb") as f:  # as keras.datasets.fashion_mnist.load_data
                return np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    raise SystemExit(f"{name} not found in {', '.join(map(str, IDX_DIRS))}")


def load(model: str, data: str | None) -> tuple[np.ndarray, np.ndarray]:
    if data:
        x_train, x_test = (np.load(Path(data) / f"x_{s}.npy") for s in ("train", "test"))
    else:  # the notebook: scale to [0, 1]
        x_train = read_idx_images("train-images-idx3-ubyte.gz").astype("float32") / 255.0
        x_test = read_idx_images("t10k-images-idx3-ubyte.gz").astype("float32") / 255.0
    shape = (784,) if model == "vanilla" else (28, 28, 1)
    return x_train.reshape(len(x_train), *shape), x_test.reshape(len(x_test), *shape)


def serve(model, x_train: np.ndarray, x_test: np.ndarray) -> None:
    from tensorflow import keras

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):  # after the validation pass, as Keras prints it
            self.seconds = time.perf_counter() - self.t0

    import tensorflow as tf

    timer = Timer()
    threads = tf.config.threading.get_intra_op_parallelism_threads() or os.cpu_count()
    print(json.dumps({"ready": True, "threads": threads, "precision": "fp32", "tensorflow": tf.__version__}), flush=True)
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "epoch":
            hist = model.fit(x_train, x_train, epochs=1, batch_size=256, shuffle=True,
                             validation_data=(x_test, x_test), verbose=0, callbacks=[timer])
            print(json.dumps({"seconds": timer.seconds, "loss": hist.history["loss"][-1]}), flush=True)
        elif cmd == "bce":
            print(json.dumps({"bce": float(model.evaluate(x_test, x_test, batch_size=256, verbose=0))}), flush=True)
        elif cmd == "quit":
            return
        else:  # every command gets an answer, so the benchmark never waits for one in vain
            print(json.dumps({"unknown": cmd}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["vanilla", "conv"], required=True)
    parser.add_argument("--data", help="directory with x_train.npy and x_test.npy")
    parser.add_argument("--serve", action="store_true", help="train one epoch per 'epoch' line on stdin")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--threads", type=int, help="TensorFlow intra-op threads (default: TensorFlow's, every core)")
    args = parser.parse_args()
    import tensorflow as tf

    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)

    x_train, x_test = load(args.model, args.data)
    model = notebook_model(args.model)
    if args.serve:
        serve(model, x_train, x_test)
        return
    start = time.perf_counter()
    hist = model.fit(x_train, x_train, epochs=args.epochs, batch_size=256, shuffle=True,
                     validation_data=(x_test, x_test), verbose=0)
    print(json.dumps({"fit_seconds": time.perf_counter() - start, "val_loss": hist.history["val_loss"][-1],
                      "tensorflow": tf.__version__}))


if __name__ == "__main__":
    main()
