"""Where built-in suites and profiles live: in an installed wheel ``monitor/_scenarios``, in a
development checkout the repository's ``scenarios/``."""

from __future__ import annotations

from pathlib import Path

from monitor.suites.errors import ConfigError, Problem

_PACKAGE_DIR = (
    Path(__file__).resolve().parents[2]
)  # monitor/ (this file is monitor/suites/loading/paths.py)


def scenarios_dir() -> Path:
    """The directory holding the built-in suites."""
    installed = _PACKAGE_DIR / "_scenarios"
    if installed.is_dir():
        return installed
    return _PACKAGE_DIR.parent / "scenarios"


def builtin_suites() -> dict[str, Path]:
    """Built-in suites by name (file stem), in name order."""
    return {p.stem: p for p in sorted(scenarios_dir().glob("*.yaml"))}


def builtin_profiles() -> dict[str, Path]:
    """Built-in profiles by name (file stem)."""
    return {p.stem: p for p in sorted((scenarios_dir() / "profiles").glob("*.yaml"))}


def display_name(path: Path) -> str:
    """``scenarios/points.yaml`` for built-ins, the path as given otherwise."""
    try:
        return f"scenarios/{path.resolve().relative_to(scenarios_dir().resolve())}"
    except ValueError:
        return str(path)


def resolve(ref: str, builtins: dict[str, Path], what: str) -> Path:
    """Resolve a name or a path; an unknown one is a configuration error naming the choices."""
    if ref in builtins:
        return builtins[ref]
    path = Path(ref)
    if path.suffix in {".yaml", ".yml"} or "/" in ref:
        if path.is_file():
            return path
        raise ConfigError([Problem(ref, None, "", f"no such {what} file")])
    names = ", ".join(builtins) or "none"
    raise ConfigError([Problem(ref, None, "", f"unknown {what} (built-in: {names})")])
