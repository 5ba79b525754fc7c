"""The domain behind ``drmaa2cli.service.Service``, one module per concern: ``context`` (settings, store,
backends, records), ``submission``, ``query`` (refresh, list, wait, output), ``control`` (kill, hold, release,
suspend, resume), ``sessions`` (sessions and removal) and ``validate`` (the one check of a job template, before
anything is written). None of them names a backend or knows which jobs a runner holds back: the backends they
get are wrapped (``drmaa2cli/deferred/``)."""
