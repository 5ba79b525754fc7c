"""A backend's refusal of what a job asked for, said in the words the user typed: "--image is for the docker
backend", not "the process backend cannot honour job category" (the core's words, kept for the Python API)."""

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import UnsupportedAttribute
from . import options
from .options import Option

if TYPE_CHECKING:
    from ..backends import Backend


def owners(flag: str) -> tuple[str, ...]:
    """The backends that honour the option written ``flag`` (``--image``), in the registry's order, as their
    classes declare it. Loads every backend class: only on the way to a refusal."""
    from ..backends import REGISTRY, backend_class

    field = next((o.field for o in options.SUBMIT if flag in o.flags), None)
    if field is None:
        return ()
    return tuple(name for name in REGISTRY if honours(backend_class(name), field))


def honours(cls: "type[Backend]", field: str) -> bool:
    """Whether backend ``cls`` honours template field ``field`` (``Option.field``): a key of ``extension`` if
    it lists it in ``extensions``, a resource limit if in ``limits``, a job category of the kind it names
    (``category``: an image, an app), any other field unless it refuses it (``refused_fields``)."""
    head, _, key = field.partition(".")
    if head == "extension":
        return key in cls.extensions
    if head == "resource_limits":
        return key in cls.limits
    if head == "job_category":
        return cls.category is not None and key in ("", cls.category)
    return head not in cls.refused_fields()


def option_for(field: str | None, typed: Mapping[str, Any]) -> Option | None:
    """The option the user typed that set ``field`` (``typed``: the command's options by parameter name): of
    the options that fill it (``options.for_field``), the first one typed, else the first one declared."""
    candidates = options.for_field(field or "")
    exact = [o for o in candidates if o.field == field]  # --category for job_category; none for resource_limits
    return next((o for o in candidates if typed.get(o.param)), exact[0] if exact else None)


def in_users_words(error: UnsupportedAttribute, typed: Mapping[str, Any], backend: str) -> UnsupportedAttribute:
    """``error`` again, worded by the option that asked for what ``backend`` cannot do."""
    found = option_for(error.field, typed)
    if found is None:
        return error
    option = found.flags[0]
    names = owners(option)
    if backend in names:  # honoured there, refused this time (a limit without a cgroup): its own words say why
        return error
    if len(names) == 1:
        text = f"{option} is for the {names[0]} backend (this job is for {backend}: add --backend {names[0]})"
    elif names:
        listed = ", ".join(names[:-1]) + f" and {names[-1]}"
        text = f"{option} is for the {listed} backends, not {backend}"
    else:
        text = f"the {backend} backend has no {option}"
    return UnsupportedAttribute(text, field=error.field)
