"""Deferred starts: the job control a platform does not do itself (throttled arrays, dependencies across
backends, holds, start times, local queues' and sessions' slots, retries), done by drmaa2 without a daemon.

- ``wrapper``: ``StartLater``, the backend contract around the real backend (what the core holds);
- ``launch``: the runner process a submission spawns, and the launches that mark jobs for it;
- ``held``: kill, hold and release of a job still held back (its record only);
- ``starting``: how the runner starts a held job, and what it needs of the core (``Core``);
- ``runner``: the runner process's loop (``drmaa2 _runner``); ``queues``: local queues' and sessions' slots;
- ``retries``: attempts and their records; ``watcher``: the home's one retry watcher.

The mark these keep in a record is ``drmaa2cli.mark`` (a leaf: the store checks it). Nothing is imported here,
so that a plain submit loads only the modules it uses.
"""
