# This module util is PRIVATE to the collection. It may change without notice.
"""Module options declared once: each option is a field of the spec dataclass the module's logic
reads, and the field carries its argument spec and its checks.

`Spec.argument_spec()` is what AnsibleModule gets, `Spec.from_params(params)` builds the spec and
runs every check, and a bad input fails with one report naming each option to fix. DOCUMENTATION
still shows every option (ansible-doc and validate-modules read it there), and validate-modules
holds the two together.

A check is `check(value, option_name) -> value to keep`: it raises OSWorldError naming the option
(the validation.py functions are checks), or normalises the value (a canonical CIDR, an absolute
path). A value that is None (not given) is not checked.
"""
from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from .defaults import DEFAULT_NAME_PREFIX
from .errors import OSWorldError
from .stack import is_planned
from .validation import validate_resource_id

Check = Callable[[Any, str], Any]
SpecT = TypeVar("SpecT", bound="Options")

# The key of a field's metadata that makes it an option.
OPTION = "osworld.aws/option"
MUTABLE_DEFAULTS = (dict, list)


@dataclasses.dataclass(frozen=True)
class OptionInfo:
    """What one field says about its option."""

    name: str
    spec: Mapping[str, Any]
    checks: tuple[Check, ...]

    def argument_spec(self) -> dict[str, Any]:
        # A fresh copy each time: AnsibleModule may keep (and hand out) the default it is given.
        return copy.deepcopy(dict(self.spec))


def option(
    type: str = "str",  # pylint: disable=redefined-builtin  # the argument-spec key it fills
    default: Any = None,
    *,
    required: bool = False,
    choices: Sequence[Any] | None = None,
    elements: str | None = None,
    aliases: Sequence[str] | None = None,
    no_log: bool | None = None,
    name: str | None = None,
    checks: Sequence[Check] = (),
) -> Any:
    """A dataclass field that is also a module option.

    `name` is the option's name when it differs from the field's; `checks` run in order on the
    given value (see the module docstring). Mutable defaults are copied for each instance.
    """
    spec: dict[str, Any] = {"type": type}
    if default is not None:
        spec["default"] = copy.deepcopy(default)
    if required:
        spec["required"] = True
    if choices is not None:
        spec["choices"] = list(choices)
    if elements is not None:
        spec["elements"] = elements
    if aliases:
        spec["aliases"] = list(aliases)
    if no_log is not None:
        spec["no_log"] = no_log
    metadata = {OPTION: OptionInfo(name or "", spec, tuple(checks))}
    # pylint: disable=invalid-field-call  # a field factory: its callers are dataclass bodies
    if isinstance(default, MUTABLE_DEFAULTS):
        return dataclasses.field(default_factory=lambda: copy.deepcopy(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


class OptionsError(OSWorldError):
    """Every problem of a module's input, each naming its option; the message lists them all."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__(problems_message(problems), problems=list(problems))
        self.problems = list(problems)


def problems_message(problems: Sequence[str]) -> str:
    if len(problems) == 1:
        return problems[0]
    listed = "; ".join(f"({number}) {problem}" for number, problem in enumerate(problems, 1))
    return f"{len(problems)} problems with the options, nothing was changed: {listed}"


class Options:
    """The base of a frozen dataclass whose `option()` fields are a module's options.

    Fields made with plain `dataclasses.field` (or none) are not options: they come from
    elsewhere (the connection's region, a value the module computes) and are given to
    `from_params` as keywords.
    """

    @classmethod
    def option_fields(cls) -> list[tuple[dataclasses.Field[Any], OptionInfo]]:
        found = []
        for item in dataclasses.fields(cls):  # type: ignore[arg-type]
            info = item.metadata.get(OPTION)
            if info is not None:
                found.append((item, info if info.name else dataclasses.replace(info, name=item.name)))
        return found

    @classmethod
    def argument_spec(cls) -> dict[str, dict[str, Any]]:
        return {info.name: info.argument_spec() for unused, info in cls.option_fields()}

    @classmethod
    def from_params(cls: type[SpecT], params: Mapping[str, Any], **given: Any) -> SpecT:
        """The spec of these module params (plus `given`, for the fields that are not options, or to
        replace an option's value), checked: raises OptionsError listing every problem."""
        values = {}
        for item, info in cls.option_fields():
            value = params.get(info.name)
            # An option set to null is not given: its default applies, as when it is left out.
            if item.name not in given and (value is not None or "default" not in info.spec):
                values[item.name] = value
        return cls(**values, **given).checked()

    def checked(self: SpecT) -> SpecT:
        """This spec with each option's checks applied, then the cross-option `problems()`.

        Every option is checked, so one report lists every problem; the cross-option checks read
        checked values, so they run only when each option passed its own."""
        problems: list[str] = []
        changes: dict[str, Any] = {}
        for item, info in self.option_fields():
            value = getattr(self, item.name)
            try:
                for check in info.checks:
                    if value is None:
                        break
                    value = check(value, info.name)
            except OSWorldError as exc:
                problems.append(exc.message)
                continue
            if value is not getattr(self, item.name):
                changes[item.name] = value
        if problems:
            raise OptionsError(problems)
        spec = dataclasses.replace(self, **changes) if changes else self  # type: ignore[type-var]
        problems = spec.problems()
        if problems:
            raise OptionsError(problems)
        return spec

    def problems(self) -> list[str]:
        """Checks across options (e.g. one that only goes with another); each message names its option."""
        return []


# ---------------------------------------------------------------------------------------------
# Checks that several specs use (the value checks themselves are validation.py's)


def blank_is_none(value: Any, name: str) -> Any:  # pylint: disable=unused-argument  # a check's signature
    """An empty string is an option not given: AWX and role defaults pass '' for unset variables."""
    return None if value == "" else value


def not_negative(value: int, name: str) -> int:
    if value < 0:
        raise OSWorldError(f"{name}: {value} is negative")
    return value


def with_args(check: Callable[..., Any], *args: Any, allow: Sequence[Any] = ()) -> Check:
    """`check(value, name, *args)` as a check; values in `allow` pass unchecked (e.g. the planned
    id of check mode)."""

    def run(value: Any, name: str) -> Any:
        return value if value in allow else check(value, name, *args)

    return run


def resource_id(kind: str, planned_ok: bool = False) -> Check:
    """A well-formed id of `kind` (validation.RESOURCE_ID_PATTERNS); with `planned_ok`, also the id
    check mode gives what an earlier task only planned (stack.is_planned)."""

    def run(value: str, name: str) -> str:
        return value if planned_ok and is_planned(value) else validate_resource_id(value, kind, name)

    return run


# ---------------------------------------------------------------------------------------------
# Options several modules share, with the same meaning (documented once: doc_fragments/stack.py)


def stack_option() -> Any:
    return option("str", DEFAULT_NAME_PREFIX)


def extra_tags_option() -> Any:
    return option("dict", {})
