"""``aekit demo``: what each autoencoder family is for, measured on the bundled sample, in one report.

Each family is trained briefly on the bundled Fashion-MNIST sample (the
presets' full recipes on the full data with ``full``) and shown doing what it
is for, against a fair alternative: the denoising autoencoder cleaning noisy
images against PCA and tuned classical filters, the sparse code's activation
rate, the contractive encoder's sensitivity to small input changes, the VAE's
samples and 2-D map, the conv model's reconstructions, and the honest
reconstruction-vs-PCA table.

* :mod:`~aekit.apps.demo.models`: the models trained and their short recipes;
* :mod:`~aekit.apps.demo.measures`: the measurements (activation rate, code
  sensitivity, PCA baselines, nearest-neighbour accuracy);
* :mod:`~aekit.apps.demo.lessons` and :mod:`~aekit.apps.demo.reconstruction`:
  one lesson per family (rows, figure, text);
* :mod:`~aekit.apps.demo.run`: :func:`run_demo` and the ``aekit demo`` command;
* :mod:`~aekit.apps.demo.options`: its typed options.

The names below are imported on first use, so ``aekit demo --help`` loads no torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aekit._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "DEMO_MODELS": "aekit.apps.demo.models",
    "DemoModel": "aekit.apps.demo.models",
    "DemoOptions": "aekit.apps.demo.options",
    "DemoResult": "aekit.apps.demo.run",
    "Lesson": "aekit.apps.demo.lessons",
    "demo_command": "aekit.apps.demo.run",
    "run_demo": "aekit.apps.demo.run",
}

if TYPE_CHECKING:  # what type checkers and IDEs see
    from aekit.apps.demo.lessons import Lesson as Lesson
    from aekit.apps.demo.models import DEMO_MODELS as DEMO_MODELS
    from aekit.apps.demo.models import DemoModel as DemoModel
    from aekit.apps.demo.options import DemoOptions as DemoOptions
    from aekit.apps.demo.run import DemoResult as DemoResult
    from aekit.apps.demo.run import demo_command as demo_command
    from aekit.apps.demo.run import run_demo as run_demo


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())


__all__ = sorted(_EXPORTS)
