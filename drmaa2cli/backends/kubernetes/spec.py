"""From a JobTemplate to a batch/v1 Job manifest: validation and the manifest, without the API server.

What the kubernetes backend reads (see docs/kubernetes.md): the image from ``job_category``; ``remote_command``
and ``args`` as the container's ``args`` (the image's entrypoint, if any, receives them, as with ``docker
run``), each ``$`` doubled so that Kubernetes' ``$(VAR)`` expansion leaves them as given; ``job_name``;
``job_environment``; ``working_directory``; ``resource_limits`` memory_mb and cpus as requests and limits;
``timeout`` as the Job's ``activeDeadlineSeconds``; ``queue_name`` as the namespace; ``stage_in_files`` as
hostPath volumes (paths on the node); ``extension`` pull and native (``node=``, ``selector=KEY=VALUE``).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from ...errors import InvalidArgument, UnsupportedAttribute
from ...models import JobInfo, JobTemplate
from ..base import job_variables
from ..ending import GRACE_SECONDS

#: Label and annotation keys: ``drmaa2/instance`` (the drmaa2 home), ``drmaa2/job`` (the job id), ...
LABEL = "drmaa2/"
#: The one container of a job's pod.
CONTAINER = "job"
#: Keeps a job's pod in the API after anyone deleted it (a kill, the Job's deadline, a user) until drmaa2 has
#: read its exit status: the kubelet reports a deleted pod's exit, and the finaliser removes this.
FINALIZER = "drmaa2/result"
NATIVE = ("node", "selector")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_LABEL_VALUE_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass
class JobSpec:
    """What ``prepare`` validated, ready to become a manifest once the job id is known."""

    image: str
    namespace: str
    args: list[str]
    working_dir: str | None = None
    pull: bool = False
    resources: dict[str, str] = field(default_factory=dict)
    deadline: int | None = None
    node: str | None = None
    selector: dict[str, str] = field(default_factory=dict)
    mounts: list[tuple[str, str, bool]] = field(default_factory=list)  # (node path, container path, read-only)


def object_name(instance: str, job_id: str) -> str:
    """``drmaa2-INSTANCE-ID`` as a DNS label (a task's ``7.2`` becomes ``7-2``): unique per home, known before
    the Job exists."""
    name = re.sub(r"[^a-z0-9-]", "-", f"drmaa2-{instance}-{job_id}".lower())
    return name[:63].rstrip("-")


def label_value(text: str) -> str:
    """``text`` made a valid label value (63 characters of ``[A-Za-z0-9_.-]``, alphanumeric at both ends); the
    exact text goes into an annotation beside it."""
    return _LABEL_VALUE_UNSAFE.sub("_", text)[:63].strip("_.-")


def escape(text: str) -> str:
    """Kubernetes expands ``$(VAR)`` in a container's command, args and env values and turns ``$$`` into
    ``$``: doubling every ``$`` leaves the text as the user gave it."""
    return text.replace("$", "$$")


def spec_from_template(t: JobTemplate, default_namespace: str) -> JobSpec:
    """Validate ``t`` for a Job; raises InvalidArgument (UnsupportedAttribute for what a pod cannot do)."""
    if not t.job_category:
        raise InvalidArgument("the kubernetes backend needs an image (--image)")
    if t.error_path and not t.join_files and t.error_path != t.output_path:
        raise UnsupportedAttribute("the kubernetes backend cannot keep stderr apart from stdout (a pod has one "
                                   "log): use --join, or --output alone")
    namespace = t.queue_name or default_namespace
    if not _DNS_LABEL.match(namespace):
        raise InvalidArgument(f"namespace {namespace!r} (--queue) is not a valid Kubernetes namespace name")
    spec = JobSpec(image=t.job_category, namespace=namespace, args=t.argv if t.remote_command else [],
                   pull=bool(t.extension.get("pull")))
    if t.working_directory is not None:
        if not t.working_directory.startswith("/"):
            raise InvalidArgument(
                f"working directory {t.working_directory} must be an absolute path inside the container")
        spec.working_dir = t.working_directory
    for key, value in t.resource_limits.items():
        if key == "memory_mb":
            if int(value) <= 0:
                raise InvalidArgument(f"memory limit must be positive, not {value} MB")
            spec.resources["memory"] = f"{int(value)}Mi"
        elif key == "cpus":
            if float(value) <= 0:
                raise InvalidArgument(f"cpu limit must be positive, not {value}")
            spec.resources["cpu"] = f"{max(1, round(float(value) * 1000))}m"
        else:
            name = "a disk limit" if key == "disk_mb" else f"the resource limit {key!r}"
            raise UnsupportedAttribute(f"the kubernetes backend cannot honour {name}")
    if t.timeout:
        # Whole seconds, at least one: the API takes no fraction.
        spec.deadline = max(1, math.ceil(t.timeout))
    for item in t.extension.get("native") or []:
        key, sep, value = str(item).partition("=")
        if not sep or key not in NATIVE or not value:
            raise InvalidArgument(f"kubernetes native option {item!r} is not one of node=NAME, selector=KEY=VALUE")
        if key == "node":
            spec.node = value
        else:
            label, sep, wanted = value.partition("=")
            if not sep or not label:
                raise InvalidArgument(f"kubernetes native option {item!r}: selector needs KEY=VALUE")
            spec.selector[label] = wanted
    for src, dst in t.stage_in_files.items():
        target, read_only = (dst[:-3], True) if dst.endswith(":ro") else (dst.removesuffix(":rw"), False)
        if not target.startswith("/") or not src.startswith("/"):
            raise InvalidArgument(f"mount {src}:{dst}: both paths must be absolute (the source is a path on the "
                                  f"node)")
        spec.mounts.append((src, target, read_only))
    return spec


def labels_for(job: JobInfo, instance: str) -> dict[str, str]:
    labels = {LABEL + "instance": instance, LABEL + "job": job.id, LABEL + "session": label_value(job.session)}
    if job.template.job_name:
        labels[LABEL + "name"] = label_value(job.template.job_name)
    return labels


def manifest(spec: JobSpec, job: JobInfo, name: str, instance: str) -> dict[str, Any]:
    """The Job to create: one pod, never restarted or retried (``backoffLimit`` 0), whose container runs the
    command. ``shareProcessNamespace`` makes the pod's pause process pid 1, so that the command gets signals
    as it would outside a container (a pid 1 ignores the SIGTERM of a kill it has no handler for)."""
    labels = labels_for(job, instance)
    t = job.template.to_dict()
    if "job_environment" in t:  # names only: values may be secrets, and annotations are readable by many
        t["job_environment"] = sorted(t["job_environment"])
    annotations = {LABEL + "session": job.session, LABEL + "template": json.dumps(t, separators=(",", ":"))}
    if job.template.job_name:
        annotations[LABEL + "name"] = job.template.job_name
    env = {**job.template.job_environment, **job_variables(job)}
    container: dict[str, Any] = {
        "name": CONTAINER,
        "image": spec.image,
        "env": [{"name": k, "value": escape(v)} for k, v in env.items()],
    }
    if spec.args:
        container["args"] = [escape(a) for a in spec.args]
    if spec.working_dir:
        container["workingDir"] = spec.working_dir
    if spec.pull:
        container["imagePullPolicy"] = "Always"
    if spec.resources:
        container["resources"] = {"requests": dict(spec.resources), "limits": dict(spec.resources)}
    pod: dict[str, Any] = {
        "restartPolicy": "Never",
        "shareProcessNamespace": True,
        "terminationGracePeriodSeconds": int(GRACE_SECONDS),
        "enableServiceLinks": False,
        "containers": [container],
    }
    if spec.node:
        pod["nodeName"] = spec.node
    if spec.selector:
        pod["nodeSelector"] = dict(spec.selector)
    if spec.mounts:
        pod["volumes"] = [{"name": f"mount-{i}", "hostPath": {"path": src}}
                          for i, (src, _, _) in enumerate(spec.mounts)]
        container["volumeMounts"] = [{"name": f"mount-{i}", "mountPath": dst, "readOnly": ro}
                                     for i, (_, dst, ro) in enumerate(spec.mounts)]
    job_spec: dict[str, Any] = {
        "backoffLimit": 0,
        "template": {"metadata": {"labels": labels, "finalizers": [FINALIZER]}, "spec": pod},
    }
    if spec.deadline:
        # The Job's deadline: its controller deletes the pod (SIGTERM, SIGKILL after the grace period), and the
        # finalizer keeps the pod's exit status. (A pod's own deadline keeps the log, but 1.20's kubelet then
        # never reports how the container ended.)
        job_spec["activeDeadlineSeconds"] = spec.deadline
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "labels": labels, "annotations": annotations},
        "spec": job_spec,
    }
