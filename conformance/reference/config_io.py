"""A :class:`ReferenceConfig` as JSON, so that a reference SUT can run as a subprocess with the
exact configuration the in-process fixture would use (``reference start --config FILE``).

Every field of the configuration is carried; a field this module cannot encode is a
``TypeError`` at encode time (a new field must be taught here, never dropped silently), and
a document that does not match the configuration's fields is a ``ValueError`` at decode time.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from conformance.protocol.sip.timers import Address, Timers, Transport
from conformance.reference.config import ReferenceConfig, ReferenceUser
from conformance.reference.faults import ActiveFaults

FORMAT = "cpm-reference-config/1"


def _address(value: Address | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return {"host": value.host, "port": value.port, "transport": value.transport.value}


def _policy(value: object | None) -> dict[str, Any] | None:
    if value is None:
        return None
    if not dataclasses.is_dataclass(value) or isinstance(value, type):
        raise TypeError(f"pf_policy: expected a dataclass instance, got {type(value).__name__}")
    return {
        f.name: _plain(getattr(value, f.name), f"pf_policy.{f.name}")
        for f in dataclasses.fields(value)
    }


def _plain(value: object, where: str) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, tuple | list):
        return [_plain(v, where) for v in value]
    raise TypeError(f"{where}: cannot encode a {type(value).__name__}")


def encode(config: ReferenceConfig) -> str:
    """The JSON text of ``config``."""
    out: dict[str, Any] = {"format": FORMAT}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if f.name == "timers":
            out[f.name] = {"t1": value.t1, "t2": value.t2, "t4": value.t4}
        elif f.name in ("core", "isf_hop"):
            out[f.name] = _address(value)
        elif f.name == "faults":
            out[f.name] = list(value.sorted)
        elif f.name == "users":
            out[f.name] = [{"uri": u.uri, "instances": list(u.instances)} for u in value]
        elif f.name == "pf_policy":
            out[f.name] = _policy(value)
        else:
            out[f.name] = _plain(value, f.name)
    return json.dumps(out, indent=2, sort_keys=True)


def _decode_policy(data: dict[str, Any]) -> object:
    from conformance.reference.pf.policy import PfPolicy

    fields = {f.name: f for f in dataclasses.fields(PfPolicy)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ValueError(f"pf_policy: unknown fields {', '.join(unknown)}")
    values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    return PfPolicy(**values)


def decode(text: str) -> ReferenceConfig:
    """The configuration of JSON ``text``; ``ValueError`` when it is not one."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(data, dict) or data.pop("format", None) != FORMAT:
        raise ValueError(f"not a {FORMAT} document")
    fields = {f.name for f in dataclasses.fields(ReferenceConfig)}
    unknown = sorted(set(data) - fields)
    if unknown:
        raise ValueError(f"unknown configuration fields: {', '.join(unknown)}")
    values: dict[str, Any] = {}
    try:
        for name, value in data.items():
            if name == "timers":
                values[name] = Timers(
                    t1=float(value["t1"]), t2=float(value["t2"]), t4=float(value["t4"])
                )
            elif name in ("core", "isf_hop"):
                values[name] = (
                    None
                    if value is None
                    else Address(
                        str(value["host"]), int(value["port"]), Transport(value["transport"])
                    )
                )
            elif name == "faults":
                values[name] = ActiveFaults(frozenset(str(n) for n in value))
            elif name == "users":
                values[name] = tuple(
                    ReferenceUser(str(u["uri"]), tuple(str(i) for i in u["instances"]))
                    for u in value
                )
            elif name == "pf_policy":
                values[name] = None if value is None else _decode_policy(value)
            else:
                values[name] = tuple(value) if isinstance(value, list) else value
        return ReferenceConfig(**values)
    except (KeyError, TypeError, LookupError) as exc:
        raise ValueError(f"invalid reference configuration: {exc!r}") from None


__all__ = ["FORMAT", "decode", "encode"]
