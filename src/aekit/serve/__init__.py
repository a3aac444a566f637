"""``aekit serve``: trained runs over HTTP (FastAPI), and the latent-space explorer in the browser.

* :mod:`aekit.serve.app` -- :func:`create_app`, the routes and the refusals;
* :mod:`aekit.serve.adapters` -- what each run kind offers, by registry;
* :mod:`aekit.serve.inputs` and :mod:`aekit.serve.limits` -- request bodies, checked, within limits;
* :mod:`aekit.serve.explorer` -- the explorer's data and its self-contained page.

Needs the ``serve`` extra (``pip install aekit[serve]``): FastAPI, uvicorn,
python-multipart and Pillow. Nothing here is imported by ``import aekit``.
"""
