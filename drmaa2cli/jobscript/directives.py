"""The directives of the three families of batch scripts -- sbatch's ``#SBATCH`` (Slurm 22.05), qsub's ``#$``
(Grid Engine 8.1.9) and PBS's ``#PBS`` (OpenPBS, Torque) -- read by one loop from one table per family
(``families.py``). Each option a directive holds is one ``Item``: its declaration (``Spec``, None when drmaa2
does not know the option) and its value. What an item means on a backend is decided by ``launch`` from the
backend's declarations: see ``treatment``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidArgument

#: Options a job script may carry, by the submit option they set (keys of ``commands.submit``'s options). Keys
#: starting with "_" are requests that ``launch`` checks or turns into submit options per backend (``_nodes``).
Options = dict[str, Any]
#: Stands for the job's name in a path until it is known (sbatch %x, qsub $JOB_NAME; ``script.finish_paths``).
NAME_MARK = "\0NAME\0"

#: The four treatments (and what the owning scheduler does: it gets the directive itself).
HONOURED = "honoured"
CHECKED = "checked"
BOOKKEEPING = "bookkeeping"
REFUSED = "refused"
OWN = "scheduler's own"

#: Directive prefix -> its family.
FAMILIES = {"#SBATCH": "sbatch", "#$": "qsub", "#PBS": "pbs"}

Reader = Callable[[str], Options]


@dataclass(frozen=True)
class Spec:
    """One option of a family: its spellings (the first is the one the docs show; "-l h_rt" is the resource
    h_rt of -l), its treatment where it is not the scheduler's own, what it sets (``read`` of its value), the
    job template fields it needs (a backend that refuses one refuses the option), how many words it takes
    (0: a flag; qsub's -pe takes two), whether its value is a list of KEY=VALUE looked up as "FLAG KEY", and
    what it is where a backend cannot honour it (``unmet``)."""

    family: str
    flags: tuple[str, ...]
    treatment: str
    read: Reader | None = None
    fields: tuple[str, ...] = ()
    nargs: int = 1
    listing: bool = False
    note: str = ""
    #: What it is where the backend refuses a field it sets: refused, or bookkeeping (a partition where there
    #: are none).
    unmet: str = REFUSED


@dataclass(frozen=True)
class Item:
    """One option of one directive: its declaration (None: unknown), its flag, its value, the words it was
    written as (the owning scheduler gets them as they are)."""

    spec: Spec | None
    flag: str
    value: str | None
    words: tuple[str, ...]

    def options(self) -> Options:
        """What the option sets. Raises InvalidArgument for a value it cannot read."""
        if self.spec is None or self.spec.read is None:
            return {}
        return self.spec.read(self.value or "")


def read_words(table: dict[str, Spec], words: list[str]) -> list[Item]:
    """The items of one directive of the family whose options are ``table`` (flag -> Spec). The first option
    drmaa2 does not know ends the reading: the rest of the line is one unknown item (its words cannot be
    told apart without knowing the option). Raises InvalidArgument for an option missing its value."""
    items: list[Item] = []
    i = 0
    while i < len(words):
        word = words[i]
        flag, eq, text = word.partition("=") if word.startswith("--") else (word, "", "")
        value: str | None = text
        spec = table.get(flag)
        if spec is None and not word.startswith("--") and len(word) > 2:
            glued = table.get(word[:2])  # sbatch -Jname, PBS -lwalltime=1:00:00
            if glued is not None and glued.nargs == 1:
                spec, flag, eq, value = glued, word[:2], "=", word[2:]
        if spec is None:
            items.append(Item(None, flag, None, tuple(words[i:])))
            break
        if spec.nargs == 0:
            taken = 1
            value = None
        elif eq:
            taken = 1
        else:
            taken = 1 + spec.nargs
            if i + taken > len(words):
                raise InvalidArgument(f"{flag} needs a value")
            value = " ".join(words[i + 1:i + taken])
        written = tuple(words[i:i + taken])
        i += taken
        if not spec.listing:
            items.append(Item(spec, flag, value, written))
            continue
        for part in (value or "").split(","):
            key, _, sub = part.partition("=")
            items.append(Item(table.get(f"{flag} {key}"), f"{flag} {key}", sub, (flag, part)))
    return items


def table_of(specs: list[Spec]) -> dict[str, Spec]:
    """Flag -> Spec, every spelling of every option."""
    return {flag: spec for spec in specs for flag in spec.flags}
