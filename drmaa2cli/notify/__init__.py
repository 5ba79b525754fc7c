"""A job's notifications: mail (``--mail-type``, ``--mail-user``) and a hook (``--notify CMD``, ``[notify]
command``) at its events -- it began, it ended, it failed (DRMAA2's notification events; Slurm's words).

- ``fire``: what happens at one event: the hook through ``sh -c``, bounded in time, and the mail through the
  machine's ``sendmail``; failures go to ``notify.log`` in the drmaa2 home. A lean helper (standard library
  only): the process shepherd spawns it as its own short-lived process at a task's start and end.
- ``orders``: what a template asks for, split between the platform (a scheduler's own mail, the shepherd) and
  a watcher; the submit-time warning when no ``sendmail`` exists.
- ``watch``: the watcher process (``drmaa2 _notify``) for the backends where no drmaa2 process sees a job begin
  and end (containers, Kubernetes, cf, the schedulers' hooks), and the launch that spawns it.

Nothing is imported here, so that the shepherd's helper loads ``fire`` alone.
"""
