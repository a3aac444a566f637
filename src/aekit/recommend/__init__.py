"""Recommenders from autoencoders: I-AutoRec for ratings, Mult-DAE, Mult-VAE and EASE for clicks.

The ``i-autorec``, ``mult-dae``, ``mult-vae``, ``ease`` and ``ease-dae`` / ``ease-vae`` / ``ease-dae-ensemble`` presets, the
``l2-dropout`` corruption and the ``ease`` skip path are core parts (:mod:`aekit.models.presets`,
:mod:`aekit.models.corruption`, the item-linear family of :mod:`aekit.models.linear`, :mod:`aekit.models.skip`);
a recommender run is the ``recommender`` run kind (:mod:`aekit.recommend.runs`) of the
one run engine, so :func:`aekit.load_run` reads it back.

>>> import aekit.recommend as rec
>>> from aekit.data.ratings import synthetic_ratings
>>> run = rec.train(synthetic_ratings(n_users=200, n_items=60, mean_items=12).ratings, "mult-vae", epochs=2)
>>> sorted(rec.evaluate(run, baselines=False)["mult-vae"])
['ndcg@100', 'recall@20', 'recall@50', 'users']

Three named protocols (:mod:`aekit.recommend.protocols`): ``ratings`` (explicit
90/10, RMSE), ``held-out-users`` (Liang et al.) and ``random-split`` (RecBole's
per-user 80/10/10 split with full ranking, Recall/NDCG/MRR/Hit @10 and @20).
Rating files: GroupLens ``u.data``, ``ratings.dat``, ``ratings.csv`` and RecBole
``.inter`` files with item titles from their side files, or any CSV/TSV/Parquet table.

Published numbers the code targets when the data is available: I-AutoRec test
RMSE 0.831 on MovieLens 1M with a 90/10 split (Sedhain et al. 2015); Mult-VAE
NDCG@100 0.426 on MovieLens 20M with 10,000 held-out test users (Liang et al.
2018). See ``benchmarks/bench_recommend.py``.
"""

from aekit.data.ratings import Ratings, SyntheticRatings, load_ratings, synthetic_ratings
from aekit.recommend.api import evaluate, item_titles, recommend, recommend_for_items, recommender_state, train
from aekit.recommend.baselines import BiasedSVD, MeanRating, Popularity, PureSVD
from aekit.recommend.estimators import ClickAutoencoder, RatingAutoencoder
from aekit.recommend.metrics import ndcg_at_k, ranking_metrics, recall_at_k, rmse
from aekit.recommend.movielens import load_movielens
from aekit.recommend.protocols import split_explicit, split_implicit, split_random
from aekit.recommend.runs import ProtocolConfig, RatingsConfig
from aekit.recommend.state import RecommenderState
from aekit.runs.run import Run
from aekit.runs.saved import load_run

__all__ = [
    "BiasedSVD", "ClickAutoencoder", "MeanRating", "Popularity", "ProtocolConfig", "PureSVD", "RatingAutoencoder",
    "Ratings", "RatingsConfig", "RecommenderState", "Run", "SyntheticRatings", "evaluate", "load_movielens",
    "item_titles", "load_ratings", "load_run", "ndcg_at_k", "ranking_metrics", "recall_at_k", "recommend", "recommend_for_items",
    "recommender_state", "rmse", "split_explicit", "split_implicit", "split_random", "synthetic_ratings", "train",
]
