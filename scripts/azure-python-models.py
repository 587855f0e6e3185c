#!/usr/bin/python3
"""Dumps the models of one api-version of an azure-mgmt-* Python package
(Debian's python3-azure) as JSON in the format scripts/azure-models.js
writes, for the sandbox's parity suite (sandbox/internal/parity/azure.go).
scripts/service-models.sh runs it for the api-versions no @azure/arm-* npm
package describes.

AutoRest generated these msrest models from the Azure REST API spec of that
api-version: per model, _attribute_map gives each property's wire name
(dotted when flattened out of "properties") and type, _validation its
readonly and required flags; the docstring's ":vartype x: str or
~...models.Enum" names the enum class whose members are the known values.
The operations (URL template, method, reply model) come from the generated
operation groups.

    python3 scripts/azure-python-models.py MODULE PACKAGE_LABEL API_VERSION > out.json
"""
import enum
import importlib
import inspect
import json
import pkgutil
import re
import sys

PRIMITIVES = {
    "str": "String", "int": "Number", "long": "Number", "float": "Number", "bool": "Boolean",
    "iso-8601": "DateTime", "rfc-1123": "DateTimeRfc1123", "date": "Date", "duration": "TimeSpan",
    "bytearray": "ByteArray", "base64": "Base64Url", "object": "Object", "unix-time": "UnixTime",
}
VARTYPE = re.compile(r":vartype (\w+):(.*?)(?=\n\s*:ivar |\n\s*:vartype |\Z)", re.S)
ENUM_REF = re.compile(r"~[\w.]+\.models\.(\w+)")


def enum_values(models, name):
    cls = getattr(models, name, None)
    if isinstance(cls, type) and issubclass(cls, enum.Enum):
        return [e.value for e in cls]
    return None


def type_of(models, t, known):
    if t.startswith("[") and t.endswith("]"):
        return {"name": "Sequence", "element": type_of(models, t[1:-1], known)}
    if t.startswith("{") and t.endswith("}"):
        return {"name": "Dictionary", "value": type_of(models, t[1:-1], None)}
    if t in PRIMITIVES:
        out = {"name": PRIMITIVES[t]}
        if known and t == "str":
            out["known"] = known
        return out
    values = enum_values(models, t)
    if values is not None:
        return {"name": "Enum", "allowedValues": values}
    return {"name": "Composite", "className": t}


def operations(module):
    """The operations of the package's generated operation groups: each
    method's URL template (its .metadata), HTTP method (from its
    build_*_request function) and the model its reply deserializes to."""
    pkg = importlib.import_module(module + ".operations")
    out = []
    for info in pkgutil.iter_modules(pkg.__path__):
        mod = importlib.import_module(pkg.__name__ + "." + info.name)
        for cname, cls in inspect.getmembers(mod, inspect.isclass):
            if not cname.endswith("Operations") or cls.__module__ != mod.__name__:
                continue
            for name, fn in inspect.getmembers(cls, inspect.isfunction):
                meta = getattr(fn, "metadata", None)
                if not isinstance(meta, dict) or "url" not in meta:
                    continue
                op = name.removeprefix("begin_")
                group_snake = re.sub(r"(?<!^)([A-Z])", r"_\1", cname.removesuffix("Operations")).lower()
                build = getattr(mod, f"build_{op}_request", None) or getattr(mod, f"build_{group_snake}_{op}_request", None)
                method = re.search(r'method="(\w+)"', inspect.getsource(build)) if build else None
                reply = re.search(r'_deserialize\(\s*"(\w+)"', inspect.getsource(fn))
                if method:
                    group = cname.removesuffix("Operations") or "operations"
                    op = re.sub(r"_(\w)", lambda m: m.group(1).upper(), name.removeprefix("begin_"))  # as the npm dumps name it
                    out.append({"name": group[:1].lower() + group[1:] + "." + op, "path": meta["url"],
                                "method": method.group(1), "response": reply.group(1) if reply else ""})
    return out


def main():
    module, label, api_version = sys.argv[1:4]
    models = importlib.import_module(module + ".models")
    out = {}
    for name in dir(models):
        cls = getattr(models, name)
        amap = getattr(cls, "_attribute_map", None)
        if not isinstance(cls, type) or amap is None or not hasattr(cls, "_validation"):
            continue
        known = {}
        for attr, vt in VARTYPE.findall(cls.__doc__ or ""):
            refs = [enum_values(models, r) for r in ENUM_REF.findall(vt)]
            refs = [r for r in refs if r]
            if refs:
                known[attr] = refs[0]
        props = {}
        for attr, m in amap.items():
            v = cls._validation.get(attr, {})
            p = {"serializedName": m["key"], "type": type_of(models, m["type"], known.get(attr))}
            if v.get("readonly"):
                p["readOnly"] = True
            if v.get("required"):
                p["required"] = True
            props[attr] = p
        out[name] = {"properties": props}
    json.dump({"package": f"{module} (Debian python3-azure)", "apiVersion": api_version, "models": out,
               "operations": operations(module)}, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
