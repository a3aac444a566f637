from aekit._version import __version__
