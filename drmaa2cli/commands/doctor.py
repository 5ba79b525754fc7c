"""drmaa2 doctor"""

from datetime import datetime

from ._common import JsonOption, output, service

HELP = (
    "List the job records that were damaged (a field of the wrong type, an unknown state) and moved out of the "
    "store to quarantine.json, and why; every other job stays usable."
)


def command(json_out: JsonOption = False) -> int:
    """Explain the quarantined job records."""
    svc = service()
    found = svc.quarantined()
    out = output()
    if json_out:
        out.json({"quarantined": found, "file": str(svc.settings.home / "quarantine.json")})
        return 0
    if not found:
        out.line("The job store is sound: no damaged records.")
        return 0
    out.line(f"{len(found)} damaged job record(s) kept in {svc.settings.home / 'quarantine.json'}:")
    for entry in found:
        record = entry.get("record")
        name = record.get("id") if isinstance(record, dict) else None
        when = entry.get("quarantined")
        at = datetime.fromtimestamp(when).strftime("%Y-%m-%d %H:%M") if isinstance(when, int | float) else "?"
        out.line(f"  job {name if isinstance(name, str) else '?'} (from {entry.get('file')}, moved {at}): "
                 f"{entry.get('problem')}")
    out.line("They were left out so that the rest of the store keeps working: a writer without drmaa2's checks "
             "(a hand edit, an old version) wrote them. The file keeps each record whole; the jobs themselves "
             "are no longer known to drmaa2.")
    return 0
