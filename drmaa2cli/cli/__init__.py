"""The command line: ``entry`` runs it (a plain submit through ``quick``, without the parser; everything else
through the Typer app of ``app``, loaded only then) and ``completion`` completes it. Imports nothing itself:
the commands import ``completion`` and a plain submit must not load the app."""
