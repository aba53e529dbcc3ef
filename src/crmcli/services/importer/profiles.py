"""Mapping profiles (spec §12): the ``--map``, ``--map-value``, ``--date-order`` and ``--no-header``
of one import, saved under a name with the header row of the file they were made for.

``--save-profile NAME`` stores them; ``--profile NAME`` applies them; a file whose header row
equals a saved profile's is imported with that profile (when no mapping option is given), and the
summary says so. They are a user's own settings, like the config file: stored as JSON beside it
(``import-profiles.json`` in the config directory, mode 0600), not in the database.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

from crmcli.errors import CrmError
from crmcli.i18n import N_
from crmcli.io import columns

FILE_NAME = "import-profiles.json"
KEYS = ("map", "map_value", "date_order", "no_header", "header", "table")


def path_beside(config_file: Path) -> Path:
    return config_file.parent / FILE_NAME


def load(path: Path) -> dict[str, dict[str, Any]]:
    """Every saved profile by name ({} when there is no file)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise CrmError(N_("cannot read mapping profiles {path}: {strerror}"), path=path, strerror=exc.strerror) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CrmError(N_("cannot read mapping profiles {path}: {exc}"), path=path, exc=exc) from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise CrmError(N_("cannot read mapping profiles {path}: not an object of profiles"), path=path)
    return data


def save(path: Path, name: str, profile: dict[str, Any]) -> None:
    """Store ``profile`` as ``name`` (replacing one of that name), written whole then renamed."""
    name = name.strip()
    if not name:
        raise CrmError(N_("{save_profile}: the name is empty"), options=["save_profile"])
    profiles = load(path)
    profiles[name] = {k: profile.get(k) for k in KEYS}
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(profiles, fh, ensure_ascii=False, indent=2)
        fh.write("\n")
    os.replace(tmp, path)


def header_key(cells: list[Any]) -> list[str]:
    """A header row as a profile compares it: each cell normalised, empty cells at the end dropped."""
    out = [columns.norm_header(c) if isinstance(c, str) else "" for c in cells]
    while out and not out[-1]:
        out.pop()
    return out


def matching(profiles: dict[str, dict[str, Any]], head: list[list[Any]]) -> str | None:
    """The profile whose header row is one of these first rows (the first such, by name)."""
    rows = [header_key(r) for r in head]
    for name in sorted(profiles):
        saved = profiles[name].get("header")
        if saved and not profiles[name].get("no_header") and saved in rows:
            return name
    return None


def apply(opts: Any, name: str, profile: dict[str, Any], *, custom_headers: dict[str, str]) -> Any:
    """``opts`` with the profile's maps, value maps, date order and --no-header (what the command
    line gives besides is kept: its maps win)."""
    from crmcli.services.importer.options import parse_value_maps

    specs = tuple(profile.get("map") or ())
    mapping = columns.parse_map(list(specs), extra=custom_headers)
    mapping.update(opts.mapping)
    value_maps = parse_value_maps(tuple(profile.get("map_value") or ()))
    for fld, values in opts.value_maps.items():
        value_maps.setdefault(fld, {}).update(values)
    return dataclasses.replace(
        opts, mapping=mapping, map_specs=(*specs, *opts.map_specs), value_maps=value_maps,
        date_order=opts.date_order or profile.get("date_order"), no_header=opts.no_header or bool(profile.get("no_header")),
        table=opts.table or profile.get("table"), profile=name,
    )  # fmt: skip
