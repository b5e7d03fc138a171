"""Checks captured answers of the fake I'mport and the fake PortOne V2 against PortOne's
published OpenAPI documents, read out of the pinned wheel (see run.sh).

I'mport (V1, Swagger 2.0): each answer of the fakes' `sdk_captures` test is matched to the
documented operation by method and path; its status must be one the operation documents,
and its body must match that status's schema. PortOne V2 (OpenAPI 3.0): each answer the
fake's tests kept names the schema it must match (`type`, the SDK's name, which is the
document's); an error's HTTP status must be the one the document gives its type
(`x-portone-status-code`).

Exits non-zero on any mismatch, or when no answer was checked.
"""

import argparse
import json
import re
import sys
import zipfile
from pathlib import Path

import jsonschema
from jsonschema import Draft4Validator, validators
from openapi_schema_validator import OAS30Validator

# Where the SDK `iamport-server-api@10` and the V1 document disagree, the SDK wins for the
# fields it declares (the README's "Differences from the real API" says so): it types
# these as `string | null`, and the fake sends `null` where they are unknown, as the real
# API does. Swagger 2.0 cannot say nullable, so the document types them as plain strings.
V1_NULLABLE = {
    "PaymentAnnotation": [
        "name", "emb_pg_provider", "buyer_name", "buyer_email", "buyer_tel", "buyer_addr",
        "buyer_postcode", "customer_uid", "customer_uid_usage", "custom_data", "user_agent",
        "fail_reason", "cancel_reason",
    ],
    "CertificationAnnotation": ["merchant_uid"],
    "CustomerAnnotation": ["customer_name", "customer_tel", "customer_email", "customer_addr",
                           "customer_postcode"],
}
# The SDK types a billing key's `card_type` as text ("0"); the document as an integer.
V1_SDK_TYPES = {("CustomerAnnotation", "card_type"): "string"}
# A defect of the document: `PaymentPrepareAnnotation` requires `total`, `previous` and
# `next`, which it does not define (the fields of a page); its own fields are
# `merchant_uid`, `amount` and `currency`.
V1_IGNORED_REQUIRED = ["PaymentPrepareAnnotation"]

# Checked elsewhere: the V2 document has no schema for webhook bodies; sdk-checks/portone
# verifies them with the SDK's `Webhook.verify`.
V2_NOT_DOCUMENTED = {"RawWebhook"}


def v1_definitions(document):
    """The document's definitions as JSON Schema draft 4, with the exceptions above."""

    def fix(node):
        if isinstance(node, dict):
            # The document writes some lengths as text ("maxLength": "32").
            return {
                key: int(value) if key in ("maxLength", "minLength") and isinstance(value, str)
                else fix(value)
                for key, value in node.items()
            }
        if isinstance(node, list):
            return [fix(value) for value in node]
        return node

    definitions = fix(document["definitions"])
    for name, fields in V1_NULLABLE.items():
        for field in fields:
            schema = definitions[name]["properties"][field]
            schema["type"] = [schema["type"], "null"]
    for (name, field), kind in V1_SDK_TYPES.items():
        definitions[name]["properties"][field]["type"] = kind
    for name in V1_IGNORED_REQUIRED:
        definitions[name].pop("required", None)
    return definitions


def v1_answer_schema(schema):
    """A defect of the document: the answers of `/subscribe/customers/{customer_uid}` are
    documented as an object whose properties are `CustomerResponse` and
    `SuperBillingKeyResponse`, meant as one or the other; a store's billing key (all the
    fake issues) is a `CustomerResponse`. Taken as written, any body would match."""
    refs = schema.get("properties", {})
    if set(schema) == {"properties"} and "CustomerResponse" in refs:
        return dict(refs["CustomerResponse"])
    return dict(schema)


def v1_operation(document, method, path):
    """The template of the documented operation `path` matches (fewest parameters first);
    path parameters the document marks optional may be left out."""
    found = []
    for template, operations in document["paths"].items():
        operation = operations.get(method.lower())
        if operation is None:
            continue
        pattern = template
        for parameter in operation.get("parameters", []):
            if parameter.get("in") == "path" and parameter.get("required") is False:
                pattern = pattern.replace("/{" + parameter["name"] + "}", "(?:/[^/]+)?")
        pattern = re.sub(r"\{[^}/]+\}", "[^/]+", pattern)
        if re.fullmatch(pattern, path):
            found.append(template)
    return min(found, key=lambda t: t.count("{")) if found else None


def check_v1(document, captures, failures, undocumented):
    definitions = v1_definitions(document)
    checked = 0
    for capture in captures:
        path = capture["path"].split("?", 1)[0]
        what = f"iamport {capture['method']} {capture['path']} ({capture['status']})"
        if path.startswith("/internal/"):
            continue
        template = v1_operation(document, capture["method"], path)
        if template is None:
            undocumented.add(f"iamport {capture['method']} {re.sub(r'[^/]{20,}', '…', path)}")
            continue
        responses = document["paths"][template][capture["method"].lower()]["responses"]
        response = responses.get(str(capture["status"]))
        checked += 1
        if response is None:
            failures.append(f"{what}: status not documented for {template} ({sorted(responses)})")
            continue
        if "schema" not in response:
            continue
        schema = dict(v1_answer_schema(response["schema"]), definitions=definitions)
        for error in Draft4Validator(schema).iter_errors(capture["body"]):
            at = "/".join(str(p) for p in error.absolute_path)
            failures.append(f"{what} [{template}] at /{at}: {short(error.message)}")
    return checked


def v2_validator():
    """OpenAPI 3.0's validator, with `oneOf` + `discriminator` resolved by the
    discriminator: the document's variants (error types, payment statuses) type the
    discriminating property as a plain string, so plain `oneOf` would match several."""

    def one_of(validator, variants, instance, schema):
        discriminator = schema.get("discriminator")
        if discriminator and isinstance(instance, dict):
            name = discriminator["propertyName"]
            mapping = discriminator.get("mapping", {})
            if instance.get(name) not in mapping:
                yield jsonschema.ValidationError(
                    f"{name} {instance.get(name)!r} is not one of {sorted(mapping)}"
                )
                return
            yield from validator.descend(instance, {"$ref": mapping[instance[name]]})
            return
        yield from validators._keywords.oneOf(validator, variants, instance, schema)

    return validators.extend(OAS30Validator, {"oneOf": one_of})


def check_v2(document, folder, failures, undocumented):
    schemas = document["components"]["schemas"]
    validator = v2_validator()
    checked = 0
    for file in sorted(Path(folder).glob("*.json")):
        capture = json.loads(file.read_text(encoding="utf-8"))
        name = capture["type"]
        if name in V2_NOT_DOCUMENTED:
            continue
        if name not in schemas:
            undocumented.add(f"portone {name}")
            continue
        checked += 1
        what = f"portone {file.name}"
        schema = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
        v = validator(schema, format_checker=OAS30Validator.FORMAT_CHECKER)
        for error in v.iter_errors(capture["body"]):
            at = "/".join(str(p) for p in error.absolute_path)
            failures.append(f"{what} at /{at}: {short(error.message)}")
        status = capture.get("status")
        expected = schemas[name].get("x-portone-status-code", 200)
        if status is not None and status != expected:
            failures.append(f"{what}: HTTP {status}, where the document gives {name} {expected}")
    return checked


def short(message):
    return message if len(message) <= 300 else f"{message[:120]} … {message[-160:]}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--wheel", required=True)
    parser.add_argument("--iamport", required=True, help="the sdk_captures test's iamport.json")
    parser.add_argument("--portone", required=True, help="the fake PortOne V2's captures folder")
    args = parser.parse_args()
    with zipfile.ZipFile(args.wheel) as wheel:
        prefix = "portone_mcp_server/resources/docs/schema/"
        v1 = json.loads(wheel.read(prefix + "v1.openapi.json"))
        v2 = json.loads(wheel.read(prefix + "v2.openapi.json"))
    iamport = [
        c for c in json.loads(Path(args.iamport).read_text(encoding="utf-8"))
        if c.get("fake") == "iamport"
    ]
    failures, undocumented = [], set()
    v1_checked = check_v1(v1, iamport, failures, undocumented)
    v2_checked = check_v2(v2, args.portone, failures, undocumented)
    for failure in failures:
        print(f"FAIL {failure}")
    for route in sorted(undocumented):
        print(f"not in the published document: {route}")
    print(
        f"PortOne schemas ({Path(args.wheel).name}): I'mport {v1_checked} answers and "
        f"PortOne V2 {v2_checked} answers checked, {len(failures)} mismatches, "
        f"{len(undocumented)} not documented"
    )
    return 1 if failures or v1_checked == 0 or v2_checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
