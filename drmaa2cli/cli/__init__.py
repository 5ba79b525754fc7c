"""The command line: ``entry`` runs it (a plain submit through ``quick``, without the parser; everything else
through the Typer app of ``app``, loaded only then). Imports nothing itself: a plain submit must not load the
app."""
